"""`init()` names what is wrong with a store it cannot open, and changes nothing: no raw driver or
OS error, and the previous context (with its active run) stays current."""
from __future__ import annotations

import pytest

import mlops_nb as mlops


@pytest.mark.parametrize("url, reason", [
    ("sqlite:////proc/mlops/store.db", "/proc/mlops"),   # a folder nobody can make
    ("sqlite:////proc/store.db", "unable to open database file"),   # a folder nobody can write
    ("sqlite:////etc/hostname", "file is not a database"),
    ("postgresql+psycopg://dana:s3cret@127.0.0.1:1/mlops", "Connection refused"),
    ("nonsense://somewhere/x", "is not a store URL this installation can open"),
])
def test_a_store_that_cannot_be_opened_is_invalid_input_and_the_context_stays(ctx, url, reason):
    run = mlops.start_run(experiment="e")
    with pytest.raises(mlops.InvalidInput, match="cannot open the store at|is not a store URL") as refused:
        mlops.init(project="other", db_url=url, user="rita")
    assert reason in str(refused.value) and "s3cret" not in str(refused.value)
    assert mlops.get_context() is ctx and ctx.project == "test"
    assert mlops.active_run().id == run.id and mlops.active_run().status == "running"
    mlops.log_metric("still", 1.0)
    assert mlops.end_run().status == "finished"
