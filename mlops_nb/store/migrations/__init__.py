"""Alembic migrations: the only way the schema changes. HEAD names the newest revision so a store at
head is recognised without importing alembic (tests check it matches the scripts)."""

HEAD = "0012"
