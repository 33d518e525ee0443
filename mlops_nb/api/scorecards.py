"""Maturity scorecards from the notebook (SPEC §3, §4: `scorecard`): where a project, or one model of
it, stands on the three phases of MLOps maturity and on the ML Test Score, computed from the store.

    card = mlops.scorecard()                        # the context's project, with a card per model
    card = mlops.scorecard(model="credit-risk")     # one model
    card.phase, card.criterion("drift_on_schedule").next_step, card.to_frame()
"""
from __future__ import annotations

from mlops_nb.api.boundary import store_errors
from mlops_nb.api.connect import get_context
from mlops_nb.display import present
from mlops_nb.services.monitoring.scorecard_results import Scorecard
from mlops_nb.store.db import session_scope


@store_errors
def scorecard(*, project: str | None = None, model: str | None = None) -> Scorecard:
    """The maturity scorecard of `project` (default: the context's), or of its model `model`, now.

    `.phase` is 0-3 (the highest phase whose criteria, and all below, pass); `.criteria` the twelve
    verdicts (`phase`, `name`, `title`, `status` pass/partial/fail, `detail`, `evidence`,
    `next_step`); `.ml_test_score` the 28 tests, section sums (0-7), `final` and its band; a project's
    card lists one card per registered model in `.models`. Shows as a compact card in Jupyter.

    >>> card = mlops.scorecard(model="credit-risk")
    >>> card.phase, card.phase_name, card.ml_test_score.final
    >>> [c.next_step for c in card.criteria if c.status != "pass"]
    >>> mlops.scorecard(project="fraud").to_frame()       # another project of the store, by name

    Raises:
        InvalidInput: `project` or `model` is not a string.
        NotFound: no such project, or no model of that name in the project.
    """
    from mlops_nb.services.errors import InvalidInput
    from mlops_nb.services.monitoring.scorecards import scorecard as compute
    from mlops_nb.services.tracking import get_project

    for name, value in (("project", project), ("model", model)):
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"{name} must be a name (a string), got {type(value).__name__}")
    context = get_context()
    with session_scope(context.engine) as session:
        project_id = context.project_id
        if project is not None and project != context.project:
            found = get_project(session=session, name=project).id
            assert found is not None  # a stored row has its id
            project_id = found
        return present(compute(session=session, project_id=project_id, model=model))
