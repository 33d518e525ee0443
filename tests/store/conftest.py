"""The store's tests start from empty databases: they test the migrations themselves."""
from __future__ import annotations

import pytest


@pytest.fixture()
def db_url(empty_db_url) -> str:
    """Here a new, empty store URL on both legs (not the PostgreSQL template the rest of the suite uses)."""
    return empty_db_url
