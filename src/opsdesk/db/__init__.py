"""Database layer: one async engine per process, SQLite by default, PostgreSQL in production."""

from opsdesk.db.engine import Database

__all__ = ["Database"]
