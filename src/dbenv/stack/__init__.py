"""The local servers dbenv starts (PostgreSQL, Redis) and the compose export."""
