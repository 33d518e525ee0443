"""The SQLite fast path: the run store on a SQLite file through plain sqlite3 connections.

`FastRunStore` has the methods of the portable `store.runs.PortableRunStore` and runs the same
Core statements, compiled once for SQLite (`compiled`), on one sqlite3 connection per thread
(`connection`). `store.run_store.run_store(engine)` picks it for a SQLite file; nothing else needs to.
"""
from __future__ import annotations

from mlops_nb.store.sqlite_fast.run_store import FastRunStore

__all__ = ["FastRunStore"]
