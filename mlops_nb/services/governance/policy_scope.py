"""A promotion policy named the way people name it: a model by name, or the project default.

Every interface (the Python API, the CLI, the console) reads and changes policies by model name and
shows where the rules come from. services.governance.policies works on ids and cannot look a model
up by name itself (the registry reads policies when it loads a model), so the one translation from
a name to a scope lives here, and every interface calls it:

    read_policy(session=s, project_id=1, model="credit-risk")
    # PolicyPublic(scope="model 'credit-risk'", source="project", rules={...})
    change_policy(session=s, actor=eve, project_id=1, model=None,
                  rules={"approvals": {"production": {"reviewer": 2}}})   # the project default
"""
from __future__ import annotations

from typing import Any

from sqlmodel import Session

from mlops_nb.services.errors import NotFound
from mlops_nb.services.governance.policies import get_effective_policy, set_policy
from mlops_nb.services.governance.results import PolicyPublic
from mlops_nb.services.identity.auth import Identity
from mlops_nb.services.registry.lookups import get_model
from mlops_nb.store.models import Project


def _scope(session: Session, project_id: int, model: str | None) -> tuple[int | None, str, str]:
    """(model id or None for the project default, the scope in words, the audit entity id)."""
    if model is None:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFound(f"project {project_id} does not exist")
        return None, f"project {project.name!r} (default)", f"project:{project.name}"
    return get_model(session=session, project_id=project_id, name=model).id, f"model {model!r}", model


def read_policy(*, session: Session, project_id: int, model: str | None = None) -> PolicyPublic:
    """The policy in force for `model` (its own, else the project default, else the default rules),
    or the project default when `model` is None; `source` says which of model, project, default.

    Raises:
        NotFound: `model` is not registered in the project, or there is no project `project_id`.
        InvalidInput: the stored policy is not a valid policy document.
    """
    model_id, scope, _ = _scope(session, project_id, model)
    policy = get_effective_policy(session=session, project_id=project_id, model_id=model_id)
    return PolicyPublic(scope=scope, source=policy.source, rules=policy.rules)


def change_policy(*, session: Session, actor: Identity, project_id: int, model: str | None,
                  rules: dict[str, Any]) -> PolicyPublic:
    """Change the settings named in `rules` of `model`'s policy (or the project default when `model`
    is None), audited as `policy.set` on entity "MODEL" or "project:NAME"; see policies.set_policy.

    Raises:
        NotFound: `model` is not registered in the project, or there is no project `project_id`.
        PermissionDenied: the actor is not a proven ml_engineer or admin now (the CLI: identity.OPERATOR).
        InvalidInput: no setting, or a setting that is not valid (the message names it).
        Conflict: someone else created the same policy at the same moment.
    """
    model_id, scope, entity = _scope(session, project_id, model)
    policy = set_policy(session=session, actor=actor, project_id=project_id, model_id=model_id, rules=rules,
                        entity_name=entity)
    return PolicyPublic(scope=scope, source=policy.source, rules=policy.rules)
