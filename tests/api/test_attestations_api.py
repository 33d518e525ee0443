"""The attestation and scorecard-settings API: `mlops.attest`, `mlops.attestations`,
`mlops.withdraw_attestation`, `mlops.scorecard_settings`, `mlops.set_scorecard_settings`, as users
reach them (init with a password); results display escaped."""
from __future__ import annotations

import pytest

import mlops_nb as mlops
from mlops_nb.services import identity
from mlops_nb.store.db import session_scope
from tests import factories


@pytest.fixture()
def store(sqlite_url, tmp_path):
    """Project 'credit' with model 'credit-risk'; rita (reviewer) and eve (ml_engineer) with passwords."""
    ctx = mlops.init(project="credit", db_url=sqlite_url, user="dana", artifact_root=str(tmp_path / "a"))
    with session_scope(ctx.engine) as session:
        for name, role in (("rita", "reviewer"), ("eve", "ml_engineer")):
            identity.add_user(session=session, actor=identity.OPERATOR, name=name, role=role,
                              password=f"{name}-secret-1")
        factories.model(session, ctx.project_id, "credit-risk")
    return sqlite_url


def _as(store, name: str | None) -> None:
    mlops.init(project="credit", db_url=store, user=name or "dana", password=f"{name}-secret-1" if name else None)


def test_a_reviewer_attests_lists_and_an_engineer_withdraws(store):
    _as(store, "rita")
    made = mlops.attest("model.7", note="<b>inclusion</b> review,\ndoc ML-31\x1b[2J", model="credit-risk", days=90)
    assert (made.test, made.model, made.by, made.active) == ("model.7", "credit-risk", "rita", True)
    assert "Attestation 1 · model.7 · active" in repr(made) and "<b>inclusion" not in made._repr_html_()
    assert "  note     <b>inclusion</b> review,\\ndoc ML-31\\x1b[2J" in repr(made).splitlines()  # one line, inert
    table = mlops.attestations(model="credit-risk")
    assert [a.id for a in table.rows] == [made.id] and list(table.to_frame()["test"]) == ["model.7"]
    assert "&lt;b&gt;inclusion&lt;/b&gt;" in table._repr_html_() and "<b>" not in table._repr_html_()
    _as(store, "eve")
    gone = mlops.withdraw_attestation(made.id)
    assert gone.withdrawn_by == "eve" and "withdrawn" in repr(gone)
    assert len(mlops.attestations()) == 0
    listed = mlops.attestations(all=True)
    assert [a.id for a in listed.rows] == [made.id] and "withdrawn" in repr(listed)


def test_a_declared_user_may_not_attest_and_nothing_is_stored(store):
    _as(store, None)
    with pytest.raises(mlops.PermissionDenied, match="with a declared name"):
        mlops.attest("data.2", note="ablation")
    with pytest.raises(mlops.InvalidInput, match="'data.0' is not an ML Test Score test"):
        _as(store, "rita")
        mlops.attest("data.0", note="ablation")
    assert len(mlops.attestations(all=True)) == 0


def test_settings_are_read_by_anyone_and_changed_by_a_steward(store):
    _as(store, None)
    assert mlops.scorecard_settings()["drift_max_age_days"] == 7.0
    with pytest.raises(mlops.PermissionDenied, match="scorecard thresholds and windows"):
        mlops.set_scorecard_settings(drift_max_age_days=14)
    _as(store, "eve")
    assert mlops.set_scorecard_settings(drift_max_age_days=14)["drift_max_age_days"] == 14.0
    with pytest.raises(mlops.InvalidInput, match="unknown scorecard setting 'drift'"):
        mlops.set_scorecard_settings(drift=3)
    assert mlops.scorecard_settings()["drift_max_age_days"] == 14.0


def test_a_steward_snapshots_the_scorecards_and_reads_their_history(store):
    _as(store, "rita")
    with pytest.raises(mlops.PermissionDenied, match="scorecard thresholds and windows"):
        mlops.snapshot_scorecards()
    _as(store, "eve")
    assert mlops.snapshot_scorecards() == 2  # the project's card and credit-risk's
    with pytest.raises(mlops.NotFound, match="project 'nope' does not exist"):
        mlops.snapshot_scorecards("nope")
    history = mlops.scorecard_history()
    [point] = history.rows
    assert (point["model"], point["trigger"]) == (None, "manual")
    frame = history.to_frame()
    assert frame["phase"].tolist() == [point["phase"]] and str(frame["taken_at"].dt.tz) == "UTC"
    assert "Scorecard history of project credit (1 snapshots)" in repr(history)
    assert len(mlops.scorecard_history(model="credit-risk")) == 1
