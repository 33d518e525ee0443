"""The store hashes passwords and tokens with argon2id at its production cost. The other tests run
with a cheap hasher in their own process (tests/conftest.py cheap_hashes): this holds the real one
to its parameters, so that the tests' cheapness can never reach the product unseen."""
from __future__ import annotations

import pytest

from mlops_nb.services.identity import auth


@pytest.mark.production_hashes
def test_the_production_hasher_is_argon2id_at_rfc_9106_low_memory_cost():
    from argon2 import Type

    hasher = auth._hasher()
    assert hasher.type is Type.ID
    assert hasher.time_cost >= 3 and hasher.memory_cost >= 65536 and hasher.parallelism >= 4


@pytest.mark.production_hashes
def test_a_stored_hash_names_that_cost_and_verifies():
    stored = auth.hash_secret("rita-secret-1")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert auth.verify_secret(stored, "rita-secret-1") and not auth.verify_secret(stored, "rita-secret-2")


def test_other_tests_hash_with_the_same_algorithm_cheaply():
    hasher = auth._hasher()
    assert hasher.memory_cost == 1024 and hasher.time_cost == 1
    assert auth.hash_secret("rita-secret-1").startswith("$argon2id$v=19$m=1024,t=1,p=1$")
