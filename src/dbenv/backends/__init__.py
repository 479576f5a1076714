"""Backends: the only modules that import database drivers (psycopg, redis)."""
