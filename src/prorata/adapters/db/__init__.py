"""The database: SQLite embedded by default, PostgreSQL in production; SQLAlchemy Core tables and Alembic migrations."""
