"""Schema sources and their builds.

SQLAlchemy, Alembic, SQL and ``env:`` sources, their fingerprints, scratch
databases and the sides of a diff.
"""
