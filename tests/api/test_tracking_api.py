"""The tracking verbs of the Python API, on SQLite and PostgreSQL (SPEC §4 "Values and limits")."""
from __future__ import annotations

import math

import pandas as pd
import pytest

import mlops_nb as mlops
from tests.factories import finished_run


def test_tracking_round_trip(ctx, credit, tmp_path):
    with mlops.start_run(experiment="credit", name="lr-1") as run:
        assert mlops.active_run().id == run.id
        mlops.log_params({"C": 0.5, "penalty": "l2", "layers": [64, 32], "k" * 250: "v" * 6000})
        mlops.log_metric("auto", 1.0)
        mlops.log_metric("auto", 2.0)
        for step in range(5):
            mlops.log_metric("loss", 1.0 / (step + 1), step=step)
        mlops.log_metrics({"auc": 0.75, "nan_metric": float("nan"), "inf_metric": float("inf")})
        mlops.set_tags({"team": "credit", "note": "ünïcödé ✓"})
        first = mlops.log_dataset(credit, name="german", role="train")
        again = mlops.log_dataset(credit.copy(), name="german", role="train")
        assert again.version == first.version and again.fingerprint == first.fingerprint
        assert first.rows == len(credit)
        art = tmp_path / "notes.txt"
        art.write_text("hello")
        a = mlops.log_artifact(str(art))
        assert len(a.sha256) == 64 and a.size == 5
    assert mlops.active_run() is None
    got = mlops.get_run(run.id)
    assert isinstance(run.id, str) and got.status == "finished" and got.user == "dana"
    history = mlops.get_metric_history(run.id, "loss")
    assert [m.step for m in history] == [0, 1, 2, 3, 4] and history[-1].value == pytest.approx(0.2)
    assert got.params["C"] == "0.5" and got.params["layers"] == "[64, 32]" and len(got.params["k" * 250]) == 6000
    assert [m.step for m in mlops.get_metric_history(run.id, "auto")] == [0, 1] and got.metrics["auto"] == 2.0
    assert got.metrics["auc"] == pytest.approx(0.75)
    assert math.isnan(got.metrics["nan_metric"]) and got.metrics["inf_metric"] == math.inf
    assert got.tags == {"team": "credit", "note": "ünïcödé ✓"}
    assert got.datasets[0]["name"] == "german" and got.datasets[0]["role"] == "train"
    assert [x.name for x in got.artifacts] == ["notes.txt"]
    table = mlops.runs("credit", filter="metrics.auc > 0.7 and params.penalty = 'l2'").to_frame()
    assert len(table) == 1 and table["params.C"][0] == "0.5"
    assert mlops.runs("credit", filter="metrics.auc > 0.9").to_frame().empty
    assert len(mlops.runs("credit", filter="params.penalty != 'l1' and attributes.name LIKE 'lr-%'").to_frame()) == 1


def test_run_captures_its_context(ctx):
    run = finished_run()
    context = run.context
    assert context["host"] and context["pid"] and context["python_version"]
    assert "numpy" in context["packages"] and "pandas" in context["packages"]


@pytest.mark.parametrize("call", [
    lambda: mlops.log_metric("x", 1.0),
    lambda: mlops.log_metrics({"x": 1.0}),
    lambda: mlops.log_param("x", 1),
    lambda: mlops.set_tag("x", "y"),
    lambda: mlops.end_run(),
])
def test_logging_without_an_active_run_is_refused(ctx, call):
    with pytest.raises(mlops.InvalidInput, match="no active run"):
        call()


def test_unknown_experiment_is_not_found(ctx):
    finished_run(experiment="exists")
    with pytest.raises(mlops.NotFound, match="experiment 'nope' does not exist.*exists"):
        mlops.runs("nope")


def test_unknown_run_is_not_found(ctx):
    with pytest.raises(mlops.NotFound, match="run 'no-such-run' does not exist"):
        mlops.get_run("no-such-run")
    with pytest.raises(mlops.NotFound, match="no-such-run"):
        mlops.get_metric_history("no-such-run", "loss")


def test_nan_and_infinities_round_trip(ctx):
    with mlops.start_run(experiment="e") as run:
        for value in (float("nan"), float("inf"), float("-inf")):
            mlops.log_metric("odd", value)
        mlops.log_metrics({"n": float("nan"), "p": float("inf"), "m": float("-inf"), "x": 1.0})
    values = [m.value for m in mlops.get_metric_history(run.id, "odd")]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]
    metrics = mlops.get_run(run.id).metrics
    assert math.isnan(metrics["n"]) and metrics["p"] == math.inf and metrics["m"] == -math.inf
    assert metrics["odd"] == -math.inf


def test_nan_does_not_match_comparisons(ctx):
    finished_run(name="nan", metrics={"x": float("nan")})
    finished_run(name="one", metrics={"x": 1.0})
    finished_run(name="inf", metrics={"x": float("inf")})
    assert sorted(mlops.runs(filter="metrics.x > 0").to_frame()["name"]) == ["inf", "one"]
    assert list(mlops.runs(filter="metrics.x < 0").to_frame()["name"]) == []
    assert list(mlops.runs(filter="metrics.x != 1").to_frame()["name"]) == ["inf"]


class Thing:
    def __str__(self) -> str:
        return "a thing"


def test_params_of_any_type_are_stringified(ctx):
    params = {"int": 3, "float": 0.25, "none": None, "list": [1, "a"], "dict": {"a": 1, "b": [2]},
              "tuple": (1, 2), "object": Thing(), "bool": True, "text": "ünï ✓"}
    run = finished_run(params=params)
    assert run.params == {"int": "3", "float": "0.25", "none": "None", "list": '[1, "a"]',
                          "dict": '{"a": 1, "b": [2]}', "tuple": "[1, 2]", "object": "a thing",
                          "bool": "True", "text": "ünï ✓"}


def test_numpy_values_are_stored_as_the_json_of_plain_numbers(ctx):
    """`[64, 32]`, `np.array([64, 32])` and `list(np.array([64, 32]))` are one value, so logging it
    again either way is no Conflict (before: three different strings)."""
    import numpy as np

    with mlops.start_run(experiment="e") as run:
        mlops.log_param("layers", list(np.array([64, 32])))
        mlops.log_param("layers", np.array([64, 32]))
        mlops.log_param("layers", [64, 32])
        mlops.log_params({"grid": np.array([[1, 2], [3, 4]]), "weights": {"a": np.float64(0.5)},
                          "pair": (np.int64(1), np.bool_(True)), "scalar": np.int64(7)})
    assert mlops.get_run(run.id).params == {"layers": "[64, 32]", "grid": "[[1, 2], [3, 4]]",
                                            "weights": '{"a": 0.5}', "pair": "[1, true]", "scalar": "7"}


def test_too_long_param_value_is_refused_and_nothing_is_stored(ctx):
    with mlops.start_run(experiment="e") as run:
        mlops.log_param("ok", 1)
        with pytest.raises(mlops.InvalidInput, match="param 'huge' is 6001 characters long; the limit is 6000"):
            mlops.log_params({"fine": 2, "huge": "x" * 6001})
    assert mlops.get_run(run.id).params == {"ok": "1"}


def test_same_param_value_again_is_fine_another_is_a_conflict(ctx):
    with mlops.start_run(experiment="e") as run:
        mlops.log_param("lr", 0.1)
        mlops.log_param("lr", 0.1)
        with pytest.raises(mlops.Conflict, match="param 'lr' was already logged as '0.1'"):
            mlops.log_params({"lr": 0.2, "other": 1})
    assert mlops.get_run(run.id).params == {"lr": "0.1"}


def test_keys_longer_than_250_characters_are_refused(ctx):
    with mlops.start_run(experiment="e") as run:
        with pytest.raises(mlops.InvalidInput, match="param name 'kkk.*is 251 characters; the limit is 250"):
            mlops.log_param("k" * 251, 1)
        with pytest.raises(mlops.InvalidInput, match="metric name .* is 251 characters"):
            mlops.log_metric("m" * 251, 1.0)
        with pytest.raises(mlops.InvalidInput, match="tag name .* is 251 characters"):
            mlops.set_tag("t" * 251, "v")
        mlops.log_param("k" * 250, 1)
    got = mlops.get_run(run.id)
    assert list(got.params) == ["k" * 250] and got.metrics == {} and got.tags == {}


def test_empty_run_experiment_and_key_names_are_refused(ctx):
    with pytest.raises(mlops.InvalidInput, match="experiment name must not be empty"):
        mlops.start_run(experiment="  ")
    with mlops.start_run(experiment="e"):
        with pytest.raises(mlops.InvalidInput, match="metric name must not be empty"):
            mlops.log_metric("", 1.0)
        with pytest.raises(mlops.InvalidInput, match="param name must be a string, got int"):
            mlops.log_params({1: "x"})


def test_unicode_keys_and_values(ctx):
    with mlops.start_run(experiment="expérience ✓", name="пробег") as run:
        mlops.log_params({"α": "β", "名前": "値"})
        mlops.log_metric("точность", 0.5)
        mlops.set_tag("🏷", "✓")
    got = mlops.get_run(run.id)
    assert got.name == "пробег" and got.experiment == "expérience ✓"
    assert got.params == {"α": "β", "名前": "値"} and got.metrics == {"точность": 0.5} and got.tags == {"🏷": "✓"}
    assert len(mlops.runs("expérience ✓", filter="params.α = 'β'")) == 1


@pytest.mark.parametrize("value, shown", [("abc", "str 'abc'"), (True, "bool True"), (None, "NoneType None"),
                                          ([1.0], "list")])
def test_non_numeric_metric_values_are_refused(ctx, value, shown):
    with mlops.start_run(experiment="e") as run:
        with pytest.raises(mlops.InvalidInput, match=f"metric 'm' must be a number, got {shown}"):
            mlops.log_metric("m", value)
        with pytest.raises(mlops.InvalidInput, match="metric 'm' must be a number"):
            mlops.log_metrics({"ok": 1.0, "m": value})
    assert mlops.get_run(run.id).metrics == {}


def test_numpy_metric_values_are_accepted(ctx):
    import numpy as np

    run = finished_run(metrics={"f32": np.float32(0.5), "i64": np.int64(3)})
    assert run.metrics == {"f32": 0.5, "i64": 3.0}


def test_bad_step_is_refused(ctx):
    with mlops.start_run(experiment="e"):
        with pytest.raises(mlops.InvalidInput, match="metric 'm': step must be an integer, got 1.5"):
            mlops.log_metric("m", 1.0, step=1.5)


def test_steps_count_from_zero_per_key(ctx):
    with mlops.start_run(experiment="e") as run:
        for i in range(3):
            mlops.log_metric("a", float(i))
        mlops.log_metric("b", 9.0)
        mlops.log_metrics({"a": 3.0, "b": 10.0})
    assert [m.step for m in mlops.get_metric_history(run.id, "a")] == [0, 1, 2, 3]
    assert [m.step for m in mlops.get_metric_history(run.id, "b")] == [0, 1]


def test_history_is_ordered_by_step_then_time_and_latest_is_highest_step(ctx):
    with mlops.start_run(experiment="e") as run:
        mlops.log_metric("loss", 5.0, step=5)
        mlops.log_metric("loss", 1.0, step=1)
        mlops.log_metric("loss", 2.0, step=1)
        mlops.log_metric("loss", 0.0, step=0)
    history = mlops.get_metric_history(run.id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.0), (1, 1.0), (1, 2.0), (5, 5.0)]
    assert history[1].timestamp <= history[2].timestamp
    assert mlops.get_run(run.id).metrics["loss"] == 5.0


def test_auto_step_continues_after_explicit_steps(ctx):
    with mlops.start_run(experiment="e") as run:
        mlops.log_metric("loss", 1.0, step=10)
        mlops.log_metric("loss", 2.0)
    assert [m.step for m in mlops.get_metric_history(run.id, "loss")] == [10, 11]


def test_log_metric_history_logs_a_curve(ctx):
    with mlops.start_run(experiment="e") as run:
        mlops.log_metric_history("loss", [3.0, 2.0, 1.0])
        mlops.log_metric("loss", 0.5)
    assert [(m.step, m.value) for m in mlops.get_metric_history(run.id, "loss")] == [
        (0, 3.0), (1, 2.0), (2, 1.0), (3, 0.5)]


def test_tags_can_be_overwritten(ctx):
    with mlops.start_run(experiment="e", tags={"stage": "draft"}) as run:
        assert mlops.get_run(run.id).tags == {"stage": "draft"}
        mlops.set_tag("stage", "final")
        mlops.set_tags({"stage": "reviewed", "n": 3})
    assert mlops.get_run(run.id).tags == {"stage": "reviewed", "n": "3"}


def test_logging_to_an_ended_run_is_refused(ctx):
    from mlops_nb.services import tracking
    from mlops_nb.store.run_store import run_store

    run = finished_run()
    with pytest.raises(mlops.InvalidInput, match="is finished; start a new run"):
        tracking.log_params(store=run_store(ctx.engine), run_id=run.id, params={"a": 1})


def test_starting_a_run_after_ending_the_active_one(ctx):
    first = mlops.start_run(experiment="e", name="first")
    assert mlops.end_run().status == "finished"
    second = mlops.start_run(experiment="e", name="second")
    assert mlops.get_run(first.id).status == "finished"
    assert mlops.active_run().id == second.id
    assert mlops.end_run("killed").status == "killed"


def test_end_run_with_unknown_status_is_refused(ctx):
    mlops.start_run(experiment="e")
    with pytest.raises(mlops.InvalidInput, match="status 'done' is not one of finished, failed, killed"):
        mlops.end_run("done")
    assert mlops.active_run().status == "running"


def test_runs_are_listed_newest_first_and_scoped_to_the_project(ctx, db_url, tmp_path):
    finished_run(experiment="e", name="old")
    finished_run(experiment="e", name="new")
    assert list(mlops.runs("e").to_frame()["name"]) == ["new", "old"]
    mlops.init(project="other", db_url=db_url, user="dana", artifact_root=str(tmp_path / "a"))
    assert len(mlops.runs()) == 0


def test_log_artifact_refuses_unsafe_names_and_conflicting_bytes(ctx, tmp_path):
    source = tmp_path / "a.txt"
    source.write_text("one")
    with mlops.start_run(experiment="e") as run:
        with pytest.raises(mlops.InvalidInput, match="tries to leave the artifact root"):
            mlops.log_artifact(source, name="../../outside.txt")
        with pytest.raises(mlops.InvalidInput, match="is an absolute path"):
            mlops.log_artifact(source, name="/tmp/x.txt")
        with pytest.raises(mlops.InvalidInput, match="is not a readable file"):
            mlops.log_artifact(tmp_path / "missing.txt")
        first = mlops.log_artifact(source, name="dir/a.txt")
        assert mlops.log_artifact(source, name="dir/a.txt").sha256 == first.sha256
        source.write_text("two")
        with pytest.raises(mlops.Conflict, match="artifact 'dir/a.txt' already exists"):
            mlops.log_artifact(source, name="dir/a.txt")
    assert [a.name for a in mlops.get_run(run.id).artifacts] == ["dir/a.txt"]
    assert not (tmp_path / "outside.txt").exists()


def test_results_display_as_text_html_and_frames(ctx):
    run = finished_run(params={"C": 1}, metrics={"auc": 0.7})
    assert "auc" in repr(run) and "<" in run._repr_mimebundle_()["text/html"]
    table = mlops.runs()
    assert "<table" in table._repr_mimebundle_()["text/html"].lower()
    frame = table.to_frame()
    assert isinstance(frame, pd.DataFrame) and frame["metrics.auc"][0] == 0.7


def test_out_of_range_metric_values_and_steps_are_refused_on_every_backend(ctx):
    with mlops.start_run(experiment="e") as run:
        with pytest.raises(mlops.InvalidInput, match="metric 'big' is too large for a float"):
            mlops.log_metric("big", 10**400)
        with pytest.raises(mlops.InvalidInput, match=r"metric 's': step 9223372036854775808 is outside "):
            mlops.log_metric("s", 1.0, step=2**63)
        with pytest.raises(mlops.InvalidInput, match=r"metric 'h': step 9223372036854775808 is outside "):
            mlops.log_metric_history("h", [1.0, 2.0], start_step=2**63 - 1)
        mlops.log_metric("s", 1.0, step=1_795_000_000_000)  # a millisecond timestamp as the step
        mlops.log_metric("s", 2.0, step=-5)
    assert [m.step for m in mlops.get_metric_history(run.id, "s")] == [-5, 1_795_000_000_000]
    assert mlops.get_metric_history(run.id, "h") == []
    assert mlops.get_run(run.id).metrics == {"s": 1.0}


def test_tag_errors_name_the_tag(ctx):
    with mlops.start_run(experiment="e"):
        with pytest.raises(mlops.InvalidInput, match="tag 't' contains a NUL character"):
            mlops.set_tag("t", "a\x00b")
        with pytest.raises(mlops.InvalidInput, match="tag 'long' is 6001 characters long"):
            mlops.set_tag("long", "x" * 6001)


def test_logging_to_a_run_ended_elsewhere_is_refused(db_url, tmp_path, monkeypatch):
    """Ended explicitly by another process: the next heartbeat marks it lost, logging is refused.
    (A run a reader only marked killed for a stale heartbeat is revived: tests/api/test_run_lifecycle.py.)"""
    import time

    from mlops_nb.services import tracking
    from mlops_nb.store.run_store import run_store

    monkeypatch.setenv("MLOPS_HEARTBEAT_S", "0.05")
    ctx = mlops.init(project="test", db_url=db_url, user="dana", artifact_root=str(tmp_path / "a"))
    run = mlops.start_run(experiment="e")
    mlops.log_metric("m", 1.0)
    assert tracking.end_run(store=run_store(ctx.engine), run_id=run.id, status="killed").status == "killed"
    deadline = time.time() + 5
    while not ctx.active_run.lost and time.time() < deadline:
        time.sleep(0.02)
    with pytest.raises(mlops.InvalidInput, match="is no longer running in the store"):
        mlops.log_metric("m", 2.0)
    assert [p.value for p in mlops.get_metric_history(run.id, "m")] == [1.0]
    assert mlops.get_run(run.id).status == "killed"


def test_a_run_ended_elsewhere_can_still_be_ended_and_replaced(db_url, tmp_path, monkeypatch):
    """A lost run does not lock the session: end_run reports how the store ended it, and start_run
    and init go on (before: every one of them raised 'start a new run to log more')."""
    import time

    from mlops_nb.services import tracking
    from mlops_nb.store.run_store import run_store

    monkeypatch.setenv("MLOPS_HEARTBEAT_S", "0.05")
    ctx = mlops.init(project="test", db_url=db_url, user="dana", artifact_root=str(tmp_path / "a"))
    first = mlops.start_run(experiment="e")
    tracking.end_run(store=run_store(ctx.engine), run_id=first.id, status="killed")
    deadline = time.time() + 5
    while not ctx.active_run.lost and time.time() < deadline:
        time.sleep(0.02)
    assert mlops.end_run().status == "killed"
    assert mlops.active_run() is None
    second = mlops.start_run(experiment="e")
    mlops.log_metric("m", 1.0)
    assert mlops.end_run().status == "finished" and second.id != first.id
    third = mlops.start_run(experiment="e")
    tracking.end_run(store=run_store(ctx.engine), run_id=third.id, status="failed")
    deadline = time.time() + 5
    while not ctx.active_run.lost and time.time() < deadline:
        time.sleep(0.02)
    mlops.start_run(experiment="e")  # a lost active run is closed quietly, not refused as active
    mlops.init(project="test", db_url=db_url, user="dana", artifact_root=str(tmp_path / "a"))
    assert mlops.active_run() is None


def test_runs_filter_speaks_mlflow_and_means_the_same_on_every_store(ctx):
    for name, team in (("lr-1", "Risk"), ("rf-1", "risk")):
        with mlops.start_run(experiment="credit", name=name):
            mlops.set_tag("team", team)
    assert list(mlops.runs(filter="tags.team LIKE 'risk'").to_frame()["name"]) == ["rf-1"]
    assert sorted(mlops.runs(filter="tags.team ILIKE 'RISK'").to_frame()["name"]) == ["lr-1", "rf-1"]
    assert sorted(mlops.runs(filter="attributes.status IN ('FINISHED') and tags.owner IS NULL")
                  .to_frame()["name"]) == ["lr-1", "rf-1"]


@pytest.mark.parametrize("bad, words", [
    (123, "filter must be a string such as .*, not int 123"),
    ({"metrics.auc": 0.7}, "filter must be a string such as .*, not dict"),
    (" and ".join(["metrics.auc > 0"] * 100), "more than 50 conditions; at most 50 are accepted"),
    ("attributes.start_time LIKE 1234", "operator 'LIKE' does not apply to time attributes; use one of"),
])
def test_runs_refuses_a_bad_filter_with_a_named_error(ctx, bad, words):
    with mlops.start_run(experiment="credit", name="lr-1"):
        pass
    with pytest.raises(mlops.InvalidInput, match=words):
        mlops.runs(filter=bad)
