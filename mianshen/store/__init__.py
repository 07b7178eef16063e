"""The operational store: SQLAlchemy Core over SQLite (embedded default, WAL) or PostgreSQL."""
