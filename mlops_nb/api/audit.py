"""Reading the audit trail from the Python API: services.governance.trail in one transaction."""
from __future__ import annotations

from mlops_nb.api.boundary import store_errors
from mlops_nb.api.connect import get_context
from mlops_nb.display import present
from mlops_nb.services.governance.results import AuditTable
from mlops_nb.store.db import session_scope


@store_errors
def audit_trail(*, entity: str | None = None, entity_id: str | None = None, action: str | None = None,
                limit: int = 200, verify: bool = True) -> AuditTable:
    """The newest audit events (all of them, or one entity's), with the chain verified.

    >>> mlops.audit_trail(entity="model_version", entity_id="credit-risk:3")
    >>> mlops.audit_trail(action="promotion.decide", limit=20).to_frame()

    Every state change writes an event (registration, requests, gate results, decisions, stage
    changes, rollbacks, users, policies); `verify=True` also checks the whole hash chain and says so
    in the title (a broken chain is reported there, not raised: the trail is what you inspect then).

    Raises:
        InvalidInput: `limit` is not a positive whole number.
    """
    from mlops_nb.services import governance

    with session_scope(get_context().engine) as session:
        return present(governance.trail(session=session, entity=entity, entity_id=entity_id, action=action,
                                        limit=limit, verify_chain=verify))
