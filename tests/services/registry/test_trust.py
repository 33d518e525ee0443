"""services.registry.trust and the loader: a model file runs no code nobody trusted, at registration,
load, gate or preview; a proven ml_engineer or admin may trust types, recorded, audited, in lineage.

The hostile parts (tests/services/registry/payload.py) write a marker file when their code runs;
every refusal here also asserts that the marker is absent.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import mlops_nb as mlops
from mlops_nb.services import governance, registry
from mlops_nb.services.errors import InvalidInput, PermissionDenied
from mlops_nb.services.identity.auth import Identity
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import AuditEvent, ModelVersion, Policy, TrustedType
from tests import factories
from tests.services.registry.payload import MARKER_VARIABLE, Detonator, touch_marker

PAYLOAD = "tests.services.registry.payload"
HOSTILE = [f"{PAYLOAD}.Detonator", f"{PAYLOAD}.touch_marker"]


@pytest.fixture()
def marker(tmp_path, monkeypatch) -> Path:
    """The file the payload writes if it ever runs (armed after the hostile model is built)."""
    path = tmp_path / "payload-ran"
    yield path
    monkeypatch.delenv(MARKER_VARIABLE, raising=False)


@pytest.fixture()
def people(ctx) -> dict[str, Identity]:
    with session_scope(ctx.engine) as session:
        return factories.add_users(session)


def _hostile(credit):
    """A pipeline that runs the payload when rebuilt (Detonator.__setstate__) and when it scores."""
    X = credit.select_dtypes("number")
    return make_pipeline(Detonator(), FunctionTransformer(touch_marker), LogisticRegression(max_iter=500)).fit(
        X, (credit.creditability == "bad").astype(int))


def _arm(monkeypatch, marker: Path) -> None:
    monkeypatch.setenv(MARKER_VARIABLE, str(marker))


def _swap_file(ctx, version, data: bytes, *, env_types: list[str] | None = None) -> None:
    factories.swap_model_file(ctx.engine, version, data, env_types=env_types)


def _load(ctx, name="credit", version=1):
    with session_scope(ctx.engine) as session:
        plan = registry.plan_load(session=session, project_id=ctx.project_id, name=name, version=version)
    return registry.load(plan, store=ctx.artifacts)


def _count(session, table) -> int:
    from sqlalchemy import func, select

    return session.execute(select(func.count()).select_from(table)).scalar()


def _events(ctx, action: str) -> list[AuditEvent]:
    with session_scope(ctx.engine) as session:
        return governance.events(session=session, action=action)


# --- registration ----------------------------------------------------------------------------------

def test_a_model_running_a_shell_function_is_refused_at_registration(ctx, trained, register, marker, monkeypatch):
    """The exploit of issue 8, item 1: FunctionTransformer(os.system), registered by a declared name."""
    run, _, _ = trained
    shell = make_pipeline(FunctionTransformer(os.system), LogisticRegression())
    shell.steps[-1] = ("logisticregression", LogisticRegression().fit(np.zeros((4, 1)), [0, 1, 0, 1]))
    with pytest.raises(InvalidInput, match=r"nobody trusted for model 'credit': posix\.system"):
        register(run.id, shell)
    with session_scope(ctx.engine) as session:
        assert _count(session, ModelVersion) == 0  # nothing stored, not even the model's name


def test_a_hostile_model_is_refused_at_registration_and_nothing_runs(ctx, trained, credit, register, marker,
                                                                     monkeypatch):
    run, _, _ = trained
    model = _hostile(credit)
    _arm(monkeypatch, marker)
    with pytest.raises(InvalidInput, match="nobody trusted for model 'credit': " + ", ".join(HOSTILE)) as err:
        register(run.id, model)
    assert "trust_types=" in str(err.value) and "proven ml_engineer or admin" in str(err.value)
    assert not marker.exists()
    assert _events(ctx, "model.register") == []


def test_a_declared_name_cannot_trust_types_while_registering(ctx, trained, credit, register, people):
    run, _, _ = trained
    with pytest.raises(PermissionDenied, match="may not trust types .* with a declared name"):
        register(run.id, _hostile(credit), actor=people["declared"], trust_types=HOSTILE, trust_reason="mine")
    with pytest.raises(PermissionDenied, match=r"\(reviewer\) may not trust types"):
        register(run.id, _hostile(credit), actor=people["reviewer"], trust_types=HOSTILE, trust_reason="mine")
    with session_scope(ctx.engine) as session:
        assert _count(session, TrustedType) == 0 and _count(session, ModelVersion) == 0


def test_a_proven_ml_engineer_registers_a_custom_class_by_trusting_it(ctx, trained, credit, register, people, majority):
    run, _, X = trained
    custom = majority().fit(X, (credit.creditability == "bad").astype(int))
    name = f"{majority.__module__}.MajorityClassifier"
    v = register(run.id, custom, name="majority", target="creditability", actor=people["ml_engineer"],
                 trust_types=[name],
                 trust_reason="a baseline we wrote, reviewed")
    assert [(t.type, t.trusted_by, t.role, t.reason) for t in v.trust] == [
        (name, "ml-engineer", "ml_engineer", "a baseline we wrote, reviewed")]
    assert _load(ctx, "majority").predict(X.head(3)).tolist() == [0, 0, 0]
    [event] = _events(ctx, "model.trust_types")
    assert (event.actor, event.entity, event.entity_id) == ("ml-engineer", "registered_model", "majority")
    assert event.after["types"] == [name] and event.after["reason"] == "a baseline we wrote, reviewed"
    # trust is per model: the next version by a declared name needs no new trust
    assert register(run.id, custom, name="majority", target="creditability").version == 2


def test_trust_types_must_name_what_the_model_needs_and_give_a_reason(ctx, trained, register, people, majority):
    run, model, _ = trained
    with pytest.raises(InvalidInput, match="names mypkg.Other, which this model's file does not need"):
        register(run.id, model, actor=people["admin"], trust_types=["mypkg.Other"], trust_reason="x")
    with pytest.raises(InvalidInput, match="trusting types needs a reason"):
        register(run.id, model, actor=people["admin"], trust_types=["mypkg.Other"], trust_reason=" ")
    with pytest.raises(InvalidInput, match="no one may trust it"):
        register(run.id, model, actor=people["admin"], trust_types=["posix.system"], trust_reason="please")


def test_a_plain_scikit_learn_pipeline_registers_and_loads_without_trust(ctx, trained, register):
    run, model, X = trained
    v = register(run.id, model)
    assert v.trust == []
    assert _load(ctx).predict(X.head(2)).shape == (2,)


# --- loading, gates and previews -------------------------------------------------------------------

def test_a_hostile_file_swapped_into_the_store_is_refused_at_load_and_nothing_runs(
        ctx, trained, credit, register, marker, monkeypatch):
    run, model, _ = trained
    v = register(run.id, model)
    _swap_file(ctx, v, sio.dumps(_hostile(credit)))
    _arm(monkeypatch, marker)
    with pytest.raises(PermissionDenied, match="model 'credit' v1 holds types nobody trusted: " + ", ".join(HOSTILE)):
        _load(ctx)
    with pytest.raises(mlops.PermissionDenied, match="nothing was loaded"):
        mlops.load_model("credit", version=1)
    assert not marker.exists()


def test_the_files_own_list_is_no_authority_for_old_versions(ctx, trained, credit, register, marker, monkeypatch):
    """A version registered before trust was recorded lists its types in env["trusted_types"]."""
    run, model, _ = trained
    v = register(run.id, model)
    _swap_file(ctx, v, sio.dumps(_hostile(credit)), env_types=HOSTILE)
    _arm(monkeypatch, marker)
    with pytest.raises(PermissionDenied, match="holds types nobody trusted"):
        _load(ctx)
    assert not marker.exists()


def test_an_old_version_with_a_custom_class_loads_once_an_ml_engineer_trusts_it(
        ctx, trained, credit, register, people, majority):
    run, model, X = trained
    v = register(run.id, model)
    name = f"{majority.__module__}.MajorityClassifier"
    _swap_file(ctx, v, sio.dumps(majority().fit(X, (credit.creditability == "bad").astype(int))), env_types=[name])
    with pytest.raises(PermissionDenied, match=f"mlops.trust_types\\('credit', \\['{name}'\\]"):
        _load(ctx)
    with session_scope(ctx.engine) as session:
        registry.trust_types(session=session, actor=people["ml_engineer"], project_id=ctx.project_id, model="credit",
                             types=[name], reason="our baseline, moved to a package")
    assert _load(ctx).predict(X.head(2)).tolist() == [0, 0]


@pytest.mark.parametrize("door", ["evaluate", "preview"])
def test_gates_and_previews_never_run_a_hostile_candidate(ctx, trained, credit, register, marker, monkeypatch, door):
    run, model, _ = trained
    v = register(run.id, model)
    _swap_file(ctx, v, sio.dumps(_hostile(credit)))
    rules = {"prediction_distribution": {"max_shift": 0.5}}
    _arm(monkeypatch, marker)
    with session_scope(ctx.engine) as session:
        if door == "evaluate":
            row = session.get(ModelVersion, v.id)
            results = governance.evaluate(session=session, version=row, target_stage="staging", store=ctx.artifacts,
                                          policy=governance.EffectivePolicy(
                                              governance.merge(governance.DEFAULT_RULES, rules), "test"))
            result = next(r.to_dict() for r in results if r.name == "prediction_distribution")
        else:
            session.add(Policy(project_id=ctx.project_id, model_id=v.model_id, rules={"gates": rules}, updated_by="eve",
                               updated_at=time.time()))
    if door == "preview":  # what the registry panel shows
        result = next(r for r in mlops.preview_gates("credit", version=1, to="staging")
                      if r["name"] == "prediction_distribution")
    assert not result["passed"]
    assert "holds types nobody trusted" in result["detail"] and HOSTILE[0] in result["detail"]
    assert not marker.exists()


# --- trusting types --------------------------------------------------------------------------------

def test_trusting_types_needs_a_proven_ml_engineer_or_admin(ctx, trained, register, people):
    run, model, _ = trained
    register(run.id, model)
    for who in ("declared", "data_scientist", "reviewer", "manager"):
        with session_scope(ctx.engine) as session, pytest.raises(PermissionDenied, match="may not trust types"):
            registry.trust_types(session=session, actor=people[who], project_id=ctx.project_id, model="credit",
                                 types=["mypkg.Scaler"], reason="because")
    with session_scope(ctx.engine) as session:
        assert _count(session, TrustedType) == 0
    assert _events(ctx, "model.trust_types") == []


def test_a_trust_is_recorded_audited_and_shown_in_lineage(ctx, trained, register, people):
    run, model, _ = trained
    register(run.id, model)
    with session_scope(ctx.engine) as session:
        shown = registry.trust_types(session=session, actor=people["admin"], project_id=ctx.project_id,
                                     model="credit", types=["mypkg.Scaler", "mypkg.Binner"], reason="PR 42")
    assert shown.types == ["mypkg.Binner", "mypkg.Scaler"]
    with session_scope(ctx.engine) as session:  # again: nothing new, no second event
        registry.trust_types(session=session, actor=people["ml_engineer"], project_id=ctx.project_id,
                             model="credit", types=["mypkg.Scaler"], reason="again")
    [event] = _events(ctx, "model.trust_types")
    assert event.actor == "admin" and event.after["types"] == ["mypkg.Binner", "mypkg.Scaler"]
    version = mlops.get_model_version("credit", version=1)
    assert [(t.type, t.trusted_by, t.reason) for t in version.trust] == [
        ("mypkg.Binner", "admin", "PR 42"), ("mypkg.Scaler", "admin", "PR 42")]
    assert "trusted mypkg.Scaler" in repr(version) and "by admin (admin)" in version._repr_html_()


def test_a_role_lost_since_login_cannot_trust(ctx, trained, register, people):
    from mlops_nb.store.models import User

    run, model, _ = trained
    register(run.id, model)
    with session_scope(ctx.engine) as session:
        session.execute(User.__table__.update().where(User.name == "ml-engineer").values(role="reviewer"))
    with session_scope(ctx.engine) as session, pytest.raises(PermissionDenied, match=r"\(reviewer\) may not trust"):
        registry.trust_types(session=session, actor=people["ml_engineer"], project_id=ctx.project_id,
                             model="credit", types=["mypkg.Scaler"], reason="r")


def test_a_type_trusted_by_someone_else_meanwhile_keeps_their_record(ctx, trained, register, people, monkeypatch):
    """The unique (model, type) row is the arbiter when two stewards trust at once: no raw IntegrityError."""
    from mlops_nb.services.registry import trust

    run, model, _ = trained
    register(run.id, model)
    with session_scope(ctx.engine) as session:
        registry.trust_types(session=session, actor=people["admin"], project_id=ctx.project_id, model="credit",
                             types=["mypkg.Scaler"], reason="first")
    monkeypatch.setattr(trust, "trusted_names", lambda **_: [])  # as if read before the other commit
    with session_scope(ctx.engine) as session:
        shown = registry.trust_types(session=session, actor=people["ml_engineer"], project_id=ctx.project_id,
                                     model="credit", types=["mypkg.Scaler", "mypkg.Binner"], reason="second")
    assert [(t.type, t.trusted_by, t.reason) for t in shown] == [
        ("mypkg.Binner", "ml-engineer", "second"), ("mypkg.Scaler", "admin", "first")]
    assert [e.after["types"] for e in _events(ctx, "model.trust_types")] == [["mypkg.Binner"], ["mypkg.Scaler"]]
