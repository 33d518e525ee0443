"""Maturity scorecards computed from the store's evidence (SPEC §3, §4 `Scorecard`): a project's card
with one card per registered model, one model's card, or every project's (the portfolio).

Nothing here is stored or self-assessed: each call reads the evidence (scorecard_evidence, a fixed
number of set-based queries however many projects, models and runs), checks the twelve phase
criteria (scorecard_criteria) and the ML Test Score's 28 tests (ml_test_evidence), and returns
plain data (scorecard_results).

    card = scorecard(session=s, project_id=1)                       # .phase, .criteria, .models
    card = scorecard(session=s, project_id=1, model="credit-risk")  # one model's card
    cards = portfolio(session=s)                                    # every project's, by name
"""
from __future__ import annotations

import gc
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session

from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.monitoring import ml_test_evidence, scorecard_criteria
from mlops_nb.services.monitoring.scorecard_evidence import Facts, ModelFacts, ProjectFacts, gather
from mlops_nb.services.monitoring.scorecard_results import Scorecard, ml_test_score, phase_of


def _as_of(as_of: float | None) -> tuple[float, bool]:
    """(the time to score at, whether it is now). Raises InvalidInput for a time that is not a finite number."""
    if as_of is None:
        return time.time(), True
    if isinstance(as_of, bool) or not isinstance(as_of, (int, float)) or not math.isfinite(as_of):
        raise InvalidInput(f"as_of must be a time in epoch seconds, got {as_of!r}")
    now = time.time()
    return float(as_of), float(as_of) >= now


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while cards are built: a 500-model portfolio allocates tens
    of thousands of small acyclic records, and the collector's full passes over a notebook's or the
    console's heap (pandas, scikit-learn loaded) cost up to half the time. Reference counting still
    frees them; the collector resumes, as it was, on the way out."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _model_card(project: ProjectFacts, model: ModelFacts, facts: Facts) -> Scorecard:
    criteria = scorecard_criteria.model_criteria(project, model, facts)
    tests = ml_test_evidence.model_tests(project, model, facts)
    production = model.production
    return Scorecard(project=project.name, model=model.name, version=production.version if production else None,
                     as_of=facts.as_of, phase=phase_of(criteria), criteria=criteria, ml_test_score=ml_test_score(tests),
                     settings=dict(project.settings))


def _project_card(project: ProjectFacts, facts: Facts) -> Scorecard:
    models = {m.id: _model_card(project, m, facts) for m in project.models}
    criteria = scorecard_criteria.project_criteria(project, {mid: c.criteria for mid, c in models.items()})
    tests = ml_test_evidence.project_tests(project, {mid: c.ml_test_score.tests for mid, c in models.items()}, facts)
    # production models first, then the rest, each by name (project.models is by name)
    ordered = sorted(project.models, key=lambda m: m.production is None)
    return Scorecard(project=project.name, model=None, version=None, as_of=facts.as_of, phase=phase_of(criteria),
                     criteria=criteria, ml_test_score=ml_test_score(tests), settings=dict(project.settings),
                     models=[models[m.id] for m in ordered])


def scorecard(*, session: Session, project_id: int, model: str | None = None, as_of: float | None = None) -> Scorecard:
    """A project's scorecard (with `.models`: one card per registered model, production ones first), or
    model `model`'s card, at `as_of` (epoch s; default now: stages as stored; an earlier time: each
    version's stage at that time, from its stage changes).

    Raises:
        NotFound: no project `project_id`, or no model `model` in it.
        InvalidInput: `as_of` is not a finite number.
    """
    at, now = _as_of(as_of)
    facts = gather(session=session, project_ids=[project_id], as_of=at, stages_now=now)
    project = facts.projects.get(project_id)
    if project is None:
        raise NotFound(f"project {project_id} does not exist")
    if model is None:
        return _project_card(project, facts)
    found = next((m for m in project.models if m.name == model), None)
    if found is None:
        names = ", ".join(m.name for m in project.models[:10]) or "none yet"
        raise NotFound(f"model {model!r} is not registered in project {project.name!r} (its models: {names})")
    return _model_card(project, found, facts)


def portfolio(*, session: Session, project_ids: list[int] | None = None, as_of: float | None = None) -> list[Scorecard]:
    """Every project's card (or those of `project_ids`), by project name, each with its `.models`;
    the evidence is read in a fixed number of queries however many projects, models and runs.

    Raises:
        InvalidInput: `as_of` is not a finite number, or `project_ids` is not a list of ids.
    """
    if project_ids is not None and (not isinstance(project_ids, (list, tuple, set))
                                    or not all(isinstance(p, int) and not isinstance(p, bool) for p in project_ids)):
        raise InvalidInput(f"project_ids must be a list of project ids, got {project_ids!r}")
    at, now = _as_of(as_of)
    with _no_cyclic_gc():
        facts = gather(session=session, project_ids=list(project_ids) if project_ids is not None else None, as_of=at,
                       stages_now=now)
        return [_project_card(p, facts) for p in facts.projects.values()]
