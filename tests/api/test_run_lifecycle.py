"""The run lifecycle from the Python API: one meaning of a status from every door (an interrupt is
killed), nested runs as MLflow has them (never losing the outer run), and a paused run that comes
back (a reader marked it killed; its owner revives it), while a run ended elsewhere stays ended."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import update

import mlops_nb as mlops
from mlops_nb.api.heartbeat import HEARTBEATS
from mlops_nb.services import tracking
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import Run
from mlops_nb.store.run_store import run_store


def _row(ctx, run_id: str) -> Run:
    with session_scope(ctx.engine) as session:
        row = session.get(Run, run_id)
        session.expunge(row)
        return row


# --- an interrupt is killed, from every door -------------------------------------------------------

def test_an_interrupt_inside_a_start_run_block_ends_the_run_killed(ctx):
    with pytest.raises(KeyboardInterrupt):
        with mlops.start_run(experiment="e", name="ctrl-c") as run:
            mlops.log_metric("before", 1.0)
            raise KeyboardInterrupt
    assert mlops.get_run(run.id).status == "killed"
    assert mlops.active_run() is None


def test_an_interrupted_autolog_fit_ends_its_own_run_killed_and_an_error_failed(ctx):
    from mlops_nb.api.autolog import _RunSink
    from mlops_nb.services.tracking.autolog import _recorded_fit

    class Estimator:
        pass

    def interrupted():
        raise KeyboardInterrupt

    def broken():
        raise ValueError("bad input")

    for fit, error in ((interrupted, KeyboardInterrupt), (broken, ValueError)):
        with pytest.raises(error):
            _recorded_fit(_RunSink(log_models=False), Estimator(), fit, (), {})
    assert [row["status"] for row in mlops.runs()] == ["failed", "killed"]


def test_ending_status_is_one_rule_for_every_door():
    assert tracking.ending_status(None) == "finished"
    assert tracking.ending_status(KeyboardInterrupt) == "killed"
    assert tracking.ending_status(KeyboardInterrupt()) == "killed"
    assert tracking.ending_status(ValueError("x")) == "failed"


# --- nested runs -----------------------------------------------------------------------------------

def test_start_run_inside_an_active_run_is_refused_naming_it_and_the_outer_run_goes_on(ctx):
    outer = mlops.start_run(experiment="e", name="outer")
    with pytest.raises(mlops.InvalidInput, match=r"run 'outer' \(\w+\) is active; end it first with "
                                                 r"mlops.end_run\(\).*or pass nested=True"):
        mlops.start_run(experiment="e", name="inner")
    assert mlops.active_run().id == outer.id
    mlops.log_metric("auc", 0.7)
    assert mlops.end_run().status == "finished"
    assert [row["name"] for row in mlops.runs()] == ["outer"]


def test_a_nested_run_records_its_parent_and_the_outer_run_is_active_again(ctx):
    with mlops.start_run(experiment="e", name="search") as outer:
        mlops.log_param("grid", "C")
        for C in (0.1, 1.0):
            with mlops.start_run(experiment="e", name=f"C={C}", nested=True, tags={"fold": 1}) as child:
                mlops.log_param("C", C)
                assert mlops.active_run().id == child.id
            assert mlops.active_run().id == outer.id
        mlops.log_metric("best", 0.8)
    runs = {row["name"]: row for row in mlops.runs()}
    assert {name: row["status"] for name, row in runs.items()} == dict.fromkeys(["search", "C=0.1", "C=1.0"],
                                                                                 "finished")
    assert runs["C=0.1"]["tags.mlops.parentRunId"] == outer.id and runs["C=0.1"]["tags.fold"] == "1"
    assert runs["C=0.1"]["params.C"] == "0.1" and "tags.mlops.parentRunId" not in runs["search"]
    assert mlops.get_run(outer.id).metrics == {"best": 0.8}
    assert [row["name"] for row in mlops.runs(filter=f"tags.mlops.parentRunId = '{outer.id}'")] == ["C=1.0", "C=0.1"]


def test_a_block_that_leaves_a_nested_run_open_ends_it_with_the_outer_one(ctx):
    with pytest.raises(KeyboardInterrupt):
        with mlops.start_run(experiment="e", name="outer") as outer:
            inner = mlops.start_run(experiment="e", name="inner", nested=True)
            raise KeyboardInterrupt
    assert mlops.get_run(inner.id).status == "killed" and mlops.get_run(outer.id).status == "killed"
    assert mlops.active_run() is None


def test_init_ends_the_active_run_and_every_run_it_is_nested_in(ctx, db_url, tmp_path):
    outer = mlops.start_run(experiment="e", name="outer")
    inner = mlops.start_run(experiment="e", name="inner", nested=True)
    mlops.init(project="test", db_url=db_url, user="dana", artifact_root=str(tmp_path / "a"))
    assert mlops.active_run() is None
    assert mlops.get_run(inner.id).status == "finished" and mlops.get_run(outer.id).status == "finished"


# --- a paused run is not lost ----------------------------------------------------------------------

def _pause(ctx, seconds: float) -> None:
    """What a process paused for `seconds` (laptop lid, Ctrl-Z) looks like: its heartbeat thread stops
    beating for the active run, and the last heartbeat (in the store and in the process) is old."""
    active = ctx.active_run
    with HEARTBEATS.cond:  # the heartbeat thread no longer beats for it
        HEARTBEATS.runs.pop(id(active), None)
    active.beat_at -= seconds
    with session_scope(ctx.engine) as session:
        session.exec(update(Run).where(Run.id == active.id).values(heartbeat_at=Run.heartbeat_at - seconds))


def test_a_paused_run_a_reader_marked_killed_is_revived_by_its_next_log_call(ctx, monkeypatch):
    monkeypatch.setenv("MLOPS_RUN_STALE_S", "2")
    run = mlops.start_run(experiment="e", name="lid")
    mlops.log_metric("loss", 0.9)
    _pause(ctx, 10)
    assert [row["status"] for row in mlops.runs()] == ["killed"]  # any reader: stale heartbeat
    assert _row(ctx, run.id).end_reason == "stale"

    mlops.log_param("C", 0.5)  # the owner wakes: nothing it logs is refused
    mlops.log_metric("loss", 0.7)
    mlops.set_tag("phase", "after")

    back = mlops.get_run(run.id)
    assert back.status == "running" and back.end_time is None
    assert back.params == {"C": "0.5"} and back.tags["phase"] == "after"
    assert [p.value for p in mlops.get_metric_history(run.id, "loss")] == [0.9, 0.7]
    revived = json.loads(back.tags["mlops.revived"])
    assert revived["count"] == 1 and "heartbeat went stale" in revived["reason"]
    assert revived["killed_at"] <= revived["revived_at"]
    assert _row(ctx, run.id).end_reason is None
    assert mlops.end_run().status == "finished"


def test_the_heartbeat_revives_a_run_marked_killed_while_its_process_was_paused(ctx, monkeypatch):
    monkeypatch.setenv("MLOPS_RUN_STALE_S", "2")
    run = mlops.start_run(experiment="e", name="ctrl-z")
    _pause(ctx, 10)
    assert tracking.mark_stale_runs(store=run_store(ctx.engine), stale_s=2) == 1
    HEARTBEATS.beat(ctx, ctx.active_run)  # the heartbeat thread's next beat, from this thread
    assert not ctx.active_run.lost and _row(ctx, run.id).status == "running"
    _pause(ctx, 10)  # paused again: revived again, and counted
    assert tracking.mark_stale_runs(store=run_store(ctx.engine), stale_s=2) == 1
    HEARTBEATS.beat(ctx, ctx.active_run)
    assert json.loads(mlops.get_run(run.id).tags["mlops.revived"])["count"] == 2


def test_an_owner_ending_a_run_a_reader_marked_killed_ends_it_as_it_says(ctx):
    run = mlops.start_run(experiment="e", name="done-after-sleep")
    _pause(ctx, 100)
    assert tracking.mark_stale_runs(store=run_store(ctx.engine), stale_s=60) == 1
    assert mlops.end_run("finished").status == "finished"
    assert mlops.get_run(run.id).status == "finished" and _row(ctx, run.id).end_reason is None


@pytest.mark.parametrize("status", ["finished", "failed", "killed"])
def test_a_run_ended_explicitly_elsewhere_is_never_revived(ctx, status):
    run = mlops.start_run(experiment="e", name="ended-elsewhere")
    mlops.log_metric("m", 1.0)
    # another process ends it explicitly (it may have been marked stale first: the explicit end wins)
    assert tracking.mark_stale_runs(store=run_store(ctx.engine), stale_s=-1) == 1
    assert tracking.end_run(store=run_store(ctx.engine), run_id=run.id, status=status).status == status
    _pause(ctx, 100)
    HEARTBEATS.beat(ctx, ctx.active_run)
    assert ctx.active_run.lost
    with pytest.raises(mlops.InvalidInput, match="is no longer running in the store: another process ended it"):
        mlops.log_metric("m", 2.0)
    with pytest.raises(mlops.InvalidInput, match="another process ended it"):
        mlops.log_param("C", 1)
    got = mlops.get_run(run.id)
    assert got.status == status and "mlops.revived" not in got.tags
    assert [p.value for p in mlops.get_metric_history(run.id, "m")] == [1.0]
    assert mlops.end_run().status == status  # the owner's end keeps how it was ended
    assert mlops.start_run(experiment="e").status == "running"  # and the session goes on


def test_a_live_run_costs_no_liveness_query_per_log_call(ctx, monkeypatch):
    """The hot path only compares the clock with the last beat: no heartbeat is written from it."""
    mlops.start_run(experiment="e")
    calls = []
    monkeypatch.setattr(HEARTBEATS, "beat", lambda *a: calls.append(a))
    for step in range(5):
        mlops.log_metric("m", float(step))
    assert calls == []
    mlops.end_run()


def test_a_process_stopped_past_the_stale_window_gets_its_run_back_when_continued(db_url, tmp_path, monkeypatch):
    """The real thing: SIGSTOP (Ctrl-Z) the owner past MLOPS_RUN_STALE_S, a reader marks its run
    killed, SIGCONT: the owner's next log call is taken and the run is running again."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    monkeypatch.setenv("MLOPS_RUN_STALE_S", "1")
    env = {**os.environ, "MLOPS_HEARTBEAT_S": "0.2", "MLOPS_RUN_STALE_S": "1"}
    child = subprocess.Popen([sys.executable, str(Path(__file__).with_name("_workers.py")), "paused_owner", db_url],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env)
    try:
        run_id = child.stdout.readline().strip()
        child.stdin.write("log 1\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "ok 1"
        child.send_signal(signal.SIGSTOP)
        mlops.init(project="paused", db_url=db_url, user="reader", artifact_root=str(tmp_path / "a"))
        time.sleep(1.5)  # past the stale window while stopped
        assert mlops.get_run(run_id).status == "killed"  # a reader marks it
        child.send_signal(signal.SIGCONT)
        child.stdin.write("log 2\nend\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "ok 2"
        assert child.stdout.readline().strip() == "finished"
    finally:
        child.send_signal(signal.SIGCONT)
        child.kill()
        child.communicate(timeout=30)
    run = mlops.get_run(run_id)
    assert run.status == "finished" and run.params == {"p1": "1", "p2": "2"}
    assert [p.value for p in mlops.get_metric_history(run_id, "m")] == [1.0, 2.0]
    assert json.loads(run.tags["mlops.revived"])["count"] == 1
