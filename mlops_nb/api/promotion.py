"""The governance verbs of the Python API: request, approve, reject, cancel, roll back, policies.

Each call acts as the context's identity (`mlops.init(user=..., password=...)` or a token); the
services check the role and proof on every call, so these functions only open the transaction.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_nb.api.boundary import store_errors
from mlops_nb.api.connect import get_context
from mlops_nb.display import present
from mlops_nb.services.governance.results import PolicyPublic, PromotionRequestPublic, RequestTable
from mlops_nb.services.registry.results import ModelVersionPublic
from mlops_nb.store.db import session_scope

if TYPE_CHECKING:
    from sqlmodel import Session

    from mlops_nb.store.models import PromotionRequest


def _shown(session: Session, request: PromotionRequest) -> PromotionRequestPublic:
    """A request row a service just wrote, as the API returns it: its read model, displayable."""
    from mlops_nb.services import governance

    assert request.id is not None  # flushed by the service
    return present(governance.public(session=session, request_id=request.id))


@store_errors
def request_promotion(name: str, *, version: int, to: str, reason: str) -> PromotionRequestPublic:
    """Ask for a model version to enter staging or production; the gates run now and at each decision.

    >>> req = mlops.request_promotion("credit-risk", version=3, to="staging", reason="beats v2 on AUC")
    >>> req.status, [(g["name"], g["passed"]) for g in req.gates]

    Needs proof (`mlops.init(user=..., password=...)` or a token; any role): four eyes compares
    user ids. A pending request for the same model and stage is superseded by this one, when it is
    yours or you are a proven ml_engineer or admin.

    Raises:
        InvalidInput: `to` is not staging or production; no reason.
        PermissionDenied: not proven, or another user's pending request for the same model and stage
            exists and you are not a proven ml_engineer or admin (nothing changes).
        NotFound: no such model or version.
        Conflict: the version is already in `to`.
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        row = governance.request_promotion(session=session, actor=context.actor(), project_id=context.project_id,
                                          model=name, version=version, to=to, reason=reason,
                                          store=context.artifacts)
        return _shown(session, row)


@store_errors
def approve(request_id: int, *, comment: str = "") -> PromotionRequestPublic:
    """Approve a pending request (needs proof and a role the model's policy names; never your own).

    >>> mlops.init(project="credit", user="ed", password="...")
    >>> mlops.approve(12, comment="validated on the Q3 holdout").status   # 'approved' once quotas are met

    The gates are evaluated again; the approval that completes the policy's quotas moves the version.

    Raises:
        NotFound: no such request in this project.
        PermissionDenied: your own request (four eyes), or no proven role the policy names.
        Conflict: the request is already decided, or you decided it already.
        GateFailed: a gate fails now (the message names each).
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        row = governance.approve(session=session, actor=context.actor(), request_id=request_id, comment=comment,
                                project_id=context.project_id, store=context.artifacts)
        return _shown(session, row)


@store_errors
def reject(request_id: int, *, comment: str) -> PromotionRequestPublic:
    """Reject a pending request, saying why.

    >>> mlops.reject(12, comment="AUC on the 2024 cohort is below production")

    Raises:
        InvalidInput: no comment.
        NotFound: no such request in this project.
        PermissionDenied: your own request (four eyes), or no proven role the policy names.
        Conflict: the request is already decided, or you decided it already.
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        row = governance.reject(session=session, actor=context.actor(), request_id=request_id, comment=comment,
                               project_id=context.project_id)
        return _shown(session, row)


@store_errors
def cancel(request_id: int, *, reason: str = "") -> PromotionRequestPublic:
    """Withdraw a pending request (your own, or any as a proven ml_engineer or admin).

    >>> mlops.cancel(12, reason="retraining with more data")

    Raises:
        NotFound: no such request in this project.
        Conflict: the request is already decided.
        PermissionDenied: another user's request, and you are not a proven ml_engineer or admin.
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        row = governance.cancel(session=session, actor=context.actor(), request_id=request_id, reason=reason,
                               project_id=context.project_id)
        return _shown(session, row)


@store_errors
def requests(name: str | None = None, *, status: str | None = None) -> RequestTable:
    """Promotion requests of the project (or of one model), newest first.

    >>> mlops.requests(status="pending")
    >>> mlops.requests("credit-risk").to_frame()

    Raises:
        NotFound: `name` is not a registered model of the project.
        InvalidInput: `status` is not pending, approved, rejected, cancelled or superseded.
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        return present(governance.list_requests(session=session, project_id=context.project_id, model=name, status=status))


@store_errors
def rollback(name: str, *, reason: str) -> ModelVersionPublic:
    """Return production to the version that held it before; again goes one further back.

    >>> mlops.rollback("credit-risk", reason="default rate doubled since Monday").version

    Needs a proven ml_engineer or admin.

    Raises:
        PermissionDenied: you are not a proven ml_engineer or admin.
        InvalidInput: no reason.
        NotFound: no such model, or no earlier production version to return to.
    """
    from mlops_nb.services import governance, registry

    context = get_context()
    with session_scope(context.engine) as session:
        model = registry.get_model(session=session, project_id=context.project_id, name=name)
        assert model.id is not None  # a row read from the store
        row = governance.rollback(session=session, actor=context.actor(), model_id=model.id, reason=reason)
        return present(registry.public(session=session, row=row, model_name=model.name))


@store_errors
def set_policy(name: str | None = None, **rules: Any) -> PolicyPublic:
    """Change the promotion policy of a model, or the project default when `name` is None.

    >>> mlops.set_policy("credit-risk", metric_thresholds={"roc_auc": ">= 0.70"},
    ...                  no_regression={"metric": "roc_auc", "tolerance": 0.01},
    ...                  approvals={"production": {"ml_engineer": 1, "reviewer": 2}})

    Settings: approvals, staging_before_production, lineage_complete, metric_thresholds,
    no_regression, data_validated, prediction_distribution, canary, env_mismatch, scoring
    (`scoring={"on_invalid": "refuse"}`: monitored scoring refuses a batch with an error finding).
    Unnamed settings keep their value. Needs a proven ml_engineer or admin; audited.

    Raises:
        PermissionDenied: you are not a proven ml_engineer or admin.
        InvalidInput: no setting, or one that is not valid (the message names it).
        NotFound: `name` is not a registered model of the project.
        Conflict: someone else created the same policy at the same moment.
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        return present(governance.change_policy(session=session, actor=context.actor(), project_id=context.project_id,
                                                model=name, rules=rules))


@store_errors
def get_policy(name: str | None = None) -> PolicyPublic:
    """The promotion policy in force for a model (its own, else the project's, else the default).

    >>> mlops.get_policy("credit-risk")

    Raises:
        NotFound: `name` is not a registered model of the project.
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        return present(governance.read_policy(session=session, project_id=context.project_id, model=name))


@store_errors
def preview_gates(name: str, *, version: int, to: str) -> list[dict[str, Any]]:
    """The gates the policy would run now for `name` v`version` entering `to`, recording nothing.

    >>> mlops.preview_gates("credit-risk", version=3, to="production")
    [{'name': 'staging_before_production', 'passed': True, ...}, ...]

    The promotion service records gate results only with a request; this runs the same policy and
    gate functions in a transaction that writes nothing.

    Raises:
        NotFound: no such model or version.
    """
    from mlops_nb.services import governance

    context = get_context()
    with session_scope(context.engine) as session:
        return governance.preview_gates(session=session, project_id=context.project_id, model=name, version=version,
                                        to=to, store=context.artifacts)
