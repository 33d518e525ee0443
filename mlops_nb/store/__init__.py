"""The store: SQLModel tables, engine and sessions, alembic migrations and the artifact store.

Nothing here imports the services or any interface.
"""
