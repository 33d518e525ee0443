"""The governance verbs of the Python API: request, approve, reject, cancel, roll back, policies.

Each call acts as the context's identity (`mlops.init(user=..., password=...)` or a token); the
services check the role and proof on every call, so these functions only open the transaction.
"""
from __future__ import annotations

from typing import Any

from mlops_nb.api.connect import get_context
from mlops_nb.display import present
from mlops_nb.api.context import Context
from mlops_nb.services.identity.auth import Identity
from mlops_nb.services.governance.results import PolicyPublic, PromotionRequestPublic, RequestTable
from mlops_nb.services.registry.results import ModelVersionPublic
from mlops_nb.store.db import session_scope


def _actor(context: Context) -> Identity:
    return Identity(name=context.user, role=context.role, proven=context.proven)


def request_promotion(name: str, *, version: int, to: str, reason: str) -> PromotionRequestPublic:
    """Ask for a model version to enter staging or production; the gates run now and at each decision.

    >>> req = mlops.request_promotion("credit-risk", version=3, to="staging", reason="beats v2 on AUC")
    >>> req.status, [(g["name"], g["passed"]) for g in req.gates]

    Any declared name may ask. A newer request for the same model and stage supersedes this one.
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        row = governance.request_promotion(session=session, actor=_actor(context), project_id=context.project_id,
                                          model=name, version=version, to=to, reason=reason,
                                          store=context.artifacts)
        return present(governance.public(session=session, request_id=row.id))


def approve(request_id: int, *, comment: str = "") -> PromotionRequestPublic:
    """Approve a pending request (needs proof and a role the model's policy names; never your own).

    >>> mlops.init(project="credit", user="ed", password="...")
    >>> mlops.approve(12, comment="validated on the Q3 holdout").status   # 'approved' once quotas are met

    The gates are evaluated again; a failing gate raises GateFailed naming it.
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        row = governance.approve(session=session, actor=_actor(context), request_id=request_id, comment=comment,
                                project_id=context.project_id, store=context.artifacts)
        return present(governance.public(session=session, request_id=row.id))


def reject(request_id: int, *, comment: str) -> PromotionRequestPublic:
    """Reject a pending request, saying why.

    >>> mlops.reject(12, comment="AUC on the 2024 cohort is below production")
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        row = governance.reject(session=session, actor=_actor(context), request_id=request_id, comment=comment,
                               project_id=context.project_id)
        return present(governance.public(session=session, request_id=row.id))


def cancel(request_id: int, *, reason: str = "") -> PromotionRequestPublic:
    """Withdraw a pending request (your own, or any as a proven ml_engineer or admin).

    >>> mlops.cancel(12, reason="retraining with more data")
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        row = governance.cancel(session=session, actor=_actor(context), request_id=request_id, reason=reason,
                               project_id=context.project_id)
        return present(governance.public(session=session, request_id=row.id))


def requests(name: str | None = None, *, status: str | None = None) -> RequestTable:
    """Promotion requests of the project (or of one model), newest first.

    >>> mlops.requests(status="pending")
    >>> mlops.requests("credit-risk").to_frame()
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        return present(governance.list_requests(session=session, project_id=context.project_id, model=name, status=status))


def rollback(name: str, *, reason: str) -> ModelVersionPublic:
    """Return production to the version that held it before; again goes one further back.

    >>> mlops.rollback("credit-risk", reason="default rate doubled since Monday").version

    Needs a proven ml_engineer or admin. With no earlier production version it raises NotFound.
    """
    from mlops_nb.services import governance, registry

    context = get_context()
    with session_scope(context.engine) as session:
        model = registry.get_model(session=session, project_id=context.project_id, name=name)
        row = governance.rollback(session=session, actor=_actor(context), model_id=model.id, reason=reason)
        return present(registry.public(session=session, row=row, model_name=model.name))


def set_policy(name: str | None = None, **rules: Any) -> PolicyPublic:
    """Change the promotion policy of a model, or the project default when `name` is None.

    >>> mlops.set_policy("credit-risk", metric_thresholds={"roc_auc": ">= 0.70"},
    ...                  no_regression={"metric": "roc_auc", "tolerance": 0.01},
    ...                  approvals={"production": {"ml_engineer": 1, "reviewer": 2}})

    Settings: approvals, staging_before_production, lineage_complete, metric_thresholds,
    no_regression, data_validated, prediction_distribution, env_mismatch. Unnamed settings keep
    their value. Needs a proven ml_engineer or admin; audited.
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        return present(governance.change_policy(session=session, actor=_actor(context), project_id=context.project_id,
                                                model=name, rules=rules))


def get_policy(name: str | None = None) -> PolicyPublic:
    """The promotion policy in force for a model (its own, else the project's, else the default).

    >>> mlops.get_policy("credit-risk")
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        return present(governance.read_policy(session=session, project_id=context.project_id, model=name))


def preview_gates(name: str, *, version: int, to: str) -> list[dict]:
    """The gates the policy would run now for `name` v`version` entering `to`, recording nothing.

    >>> mlops.preview_gates("credit-risk", version=3, to="production")
    [{'name': 'staging_before_production', 'passed': True, ...}, ...]

    The promotion service records gate results only with a request; this runs the same policy and
    gate functions in a transaction that writes nothing.
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        return governance.preview_gates(session=session, project_id=context.project_id, model=name, version=version,
                                        to=to, store=context.artifacts)
