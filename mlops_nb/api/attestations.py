"""The attestation verbs of the Python API: record that an ML Test Score test is done by hand
(worth 0.5 on the scorecard while it holds), withdraw one, list them (issue 12 item 2).

Each opens one transaction on the context's store and calls services.monitoring.attestations.
Attesting needs a proven ml_engineer, reviewer, manager or admin (`mlops.init(user=...,
password=...)`); withdrawing, the attester or an ml_engineer or admin.
"""
from __future__ import annotations

from mlops_nb.api.boundary import store_errors
from mlops_nb.api.connect import get_context
from mlops_nb.display import present
from mlops_nb.services.monitoring.attestations import AttestationPublic
from mlops_nb.services.monitoring.scorecard_tables import AttestationTable
from mlops_nb.store.db import session_scope


@store_errors
def attest(test: str, *, note: str, model: str | None = None, days: float | None = None) -> AttestationPublic:
    """Attest ML Test Score test `test` ("data.2" ... "monitoring.7") done by hand, for `model`
    (None: every model of the project), with a note saying what was done and where it is recorded;
    it holds for `days` days (the project's attestation_days by default, 180). Audited.

    >>> mlops.attest("model.7", note="inclusion review with legal, doc ML-31", model="credit-risk", days=90)

    Raises:
        PermissionDenied: not a proven ml_engineer, reviewer, manager or admin.
        InvalidInput: an unknown test; a blank, NUL-holding or over-5,000-character note; days not
            above 0 and at most the project's attestation_max_days.
        NotFound: no such model in the project.
    """
    from mlops_nb.services.monitoring import attestations

    context = get_context()
    with session_scope(context.engine) as session:
        return present(attestations.attest(session=session, actor=context.actor(), project_id=context.project_id,
                                           test=test, note=note, model=model, days=days))


@store_errors
def withdraw_attestation(attestation_id: int) -> AttestationPublic:
    """Withdraw attestation `attestation_id` (it stops counting; the record stays), as its attester
    or an ml_engineer or admin. Audited.

    >>> mlops.withdraw_attestation(4)

    Raises:
        PermissionDenied: neither the attester nor a proven ml_engineer or admin.
        NotFound: no such attestation in the project.
        Conflict: it was withdrawn already.
    """
    from mlops_nb.services.monitoring import attestations

    context = get_context()
    with session_scope(context.engine) as session:
        return present(attestations.withdraw_attestation(session=session, actor=context.actor(),
                                                         project_id=context.project_id, attestation_id=attestation_id))


@store_errors
def attestations(*, model: str | None = None, all: bool = False) -> AttestationTable:  # noqa: A002  (pinned name)
    """The project's attestations that hold now, newest first; of `model` (its own and the
    project-wide ones); `all=True` adds the withdrawn and expired ones.

    >>> mlops.attestations(model="credit-risk").to_frame()

    Raises:
        NotFound: no such model in the project.
    """
    from mlops_nb.services.monitoring.attestations import list_attestations

    context = get_context()
    with session_scope(context.engine) as session:
        rows = list_attestations(session=session, project_id=context.project_id, model=model, include_inactive=all)
    title = f"{'Attestations' if all else 'Attestations in force'}{f' for {model}' if model else ''}"
    return present(AttestationTable(rows=rows, title=title))
