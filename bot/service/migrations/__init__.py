"""Alembic migrations, applied programmatically at start by every process (idempotently)."""
