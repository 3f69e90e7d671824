"""The system of record: SQLAlchemy models, the database factory and migrations."""
