"""Persistence: SQLAlchemy base and types, database, unit of work, ledger, encryption."""
