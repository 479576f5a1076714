"""App-facing helpers: SQLAlchemy engines and metadata for the active environment."""
