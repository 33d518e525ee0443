"""Scorecard history: snapshots of what the scorecards said, for the trend (issue 12 item 3).

A scorecard is computed from the store's evidence on every read (services.monitoring.scorecards); a
snapshot keeps only what it said at one time: the phase, the pass/partial/fail counts, each
criterion's status, the ML Test Score and its section sums. `take_snapshots` writes one row per
project card and one per model card of the portfolio it computes (in a fixed number of queries,
however many projects and models). It is called on demand (`mlops scorecard --snapshot`,
`mlops.snapshot_scorecards()`), by `mlops monitor run` at its end and by the demo.

With `only_if_changed` (what the monitor uses), a card whose phase, statuses, ML Test Score and
section sums equal its newest snapshot's, taken less than a day before, is skipped: an hourly cron
job stores a point a day per card, plus every change.

    take_snapshots(session=s, taken_by="operator (cli)", trigger="manual")        # rows written
    scorecard_history(session=s, project_id=1)[-1]["phase"]                          # 2
"""
from __future__ import annotations

import math
import numbers
import time
from typing import Any

from sqlalchemy import and_, func, select
from sqlmodel import Session, col

from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.identity import permissions
from mlops_nb.services.identity.auth import Identity
from mlops_nb.services.monitoring import scorecards
from mlops_nb.services.monitoring.scorecard_results import Scorecard
from mlops_nb.services.registry.lookups import get_model
from mlops_nb.services.values import check_name
from mlops_nb.store.models import Project, RegisteredModel
from mlops_nb.store.models.scorecards import ScorecardSnapshot

TRIGGERS = ("manual", "monitor", "demo")
SAME_FOR_S = 86_400.0  # only_if_changed: an unchanged card is stored again once its newest snapshot is this old
HISTORY_ROWS = 2_000  # the most snapshots scorecard_history returns (the newest ones)
_COMPARED = ("phase", "statuses", "test_score", "sections")


def _time(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise InvalidInput(f"{what} must be a finite time in epoch seconds, got {value!r}")
    return float(value)


def _fields(card: Scorecard) -> dict[str, Any]:
    """The snapshot columns of one card (without ids and times)."""
    statuses = {c.name: c.status for c in card.criteria}
    counts = [sum(1 for s in statuses.values() if s == status) for status in ("pass", "partial", "fail")]
    return {"phase": card.phase, "passed": counts[0], "partial": counts[1], "failed": counts[2], "statuses": statuses,
            "test_score": float(card.ml_test_score.final),
            "sections": {k: float(v) for k, v in card.ml_test_score.sections.items()}}


def _ids(session: Session, cards: list[Scorecard]) -> tuple[dict[str, int], dict[tuple[int, str], int]]:
    """Project ids by name and model ids by (project id, name) of the cards' projects, in two queries."""
    names = {c.project for c in cards}
    projects = {str(n): int(i) for i, n in session.execute(
        select(col(Project.id), col(Project.name)).where(col(Project.name).in_(names)))} if names else {}
    models: dict[tuple[int, str], int] = {}
    if projects:
        rows = session.execute(select(col(RegisteredModel.project_id), col(RegisteredModel.name), col(RegisteredModel.id))
                               .where(col(RegisteredModel.project_id).in_(projects.values()))).all()
        models = {(int(p), str(n)): int(i) for p, n, i in rows}
    return projects, models


def _latest(session: Session, project_ids: list[int], since: float, until: float) -> dict[tuple[int, int | None], dict[str, Any]]:
    """The newest snapshot of each (project id, model id) taken in (since, until], as compared columns."""
    if not project_ids:
        return {}
    window = (col(ScorecardSnapshot.project_id).in_(project_ids), col(ScorecardSnapshot.taken_at) > since,
              col(ScorecardSnapshot.taken_at) <= until)
    newest = (select(col(ScorecardSnapshot.project_id).label("p"), col(ScorecardSnapshot.model_id).label("m"),
                     func.max(col(ScorecardSnapshot.taken_at)).label("t"))
              .where(*window).group_by(col(ScorecardSnapshot.project_id), col(ScorecardSnapshot.model_id)).subquery())
    same_model = (col(ScorecardSnapshot.model_id) == newest.c.m) | (col(ScorecardSnapshot.model_id).is_(None)
                                                                    & newest.c.m.is_(None))
    rows = session.execute(select(ScorecardSnapshot).join(newest, and_(col(ScorecardSnapshot.project_id) == newest.c.p,
                                                                       same_model,
                                                                       col(ScorecardSnapshot.taken_at) == newest.c.t))
                           .where(*window)).scalars()
    return {(r.project_id, r.model_id): {k: getattr(r, k) for k in _COMPARED} for r in rows}


def take_snapshots(*, session: Session, taken_by: str, trigger: str = "manual", project_id: int | None = None,
                   as_of: float | None = None, only_if_changed: bool = False, taken_at: float | None = None,
                   actor: Identity | None = None) -> int:
    """Compute the portfolio (project `project_id`, or every project) as of `as_of` (default:
    `taken_at`) and store one snapshot per project card and per model card, taken at `taken_at`
    (epoch s, default now: the demo dates its chapters) by `taken_by` with `trigger` (manual,
    monitor, demo). With `only_if_changed`, skip a card equal to its newest snapshot of the last day
    (module doc). With `actor` (a person asking, not the monitor or the demo), the actor must be a
    proven ml_engineer or admin. Returns the number of rows written.

    >>> take_snapshots(session=s, taken_by="operator (cli)", project_id=1)
    4

    Raises:
        PermissionDenied: `actor` given and not a proven ml_engineer or admin.
        InvalidInput: an unknown trigger, an empty taken_by, a time that is not finite.
        NotFound: no project `project_id`.
    """
    if actor is not None:
        permissions.authorize(session=session, actor=actor, action="set_scorecard")
    if trigger not in TRIGGERS:
        raise InvalidInput(f"snapshot trigger {trigger!r} is not one of {', '.join(TRIGGERS)}")
    check_name(taken_by, "taken_by")
    at = time.time() if taken_at is None else _time(taken_at, "taken_at")
    when = _time(as_of, "as_of") if as_of is not None else None if taken_at is None else at  # None: now, as stored
    if project_id is not None and session.get(Project, project_id) is None:
        raise NotFound(f"project {project_id} does not exist")
    cards = scorecards.portfolio(session=session, project_ids=None if project_id is None else [project_id], as_of=when)
    projects, models = _ids(session, cards)
    latest = _latest(session, list(projects.values()), at - SAME_FOR_S, at) if only_if_changed else {}
    rows: list[ScorecardSnapshot] = []
    for card in cards:
        pid = projects[card.project]
        for one, model_id in [(card, None), *((m, models[(pid, m.model)]) for m in card.models if m.model is not None)]:
            fields = _fields(one)
            if only_if_changed and latest.get((pid, model_id)) == {k: fields[k] for k in _COMPARED}:
                continue
            rows.append(ScorecardSnapshot(project_id=pid, model_id=model_id, taken_at=at, as_of=one.as_of, trigger=trigger,
                                          taken_by=taken_by, **fields))
    session.add_all(rows)
    session.flush()
    return len(rows)


def scorecard_history(*, session: Session, project_id: int, model: str | None = None,
                      since: float | None = None) -> list[dict[str, Any]]:
    """The snapshots of the project's card (or model `model`'s card), oldest first: the newest
    HISTORY_ROWS taken at or after `since` (epoch s; default: all). Each is {"taken_at", "as_of",
    "phase", "passed", "partial", "failed", "statuses" ({criterion: status}), "test_score",
    "sections" ({section: sum}), "trigger", "model" (None for the project's card)}.

    >>> [(h["taken_at"], h["phase"]) for h in scorecard_history(session=s, project_id=1)]

    Raises:
        NotFound: no model `model` in the project.
        InvalidInput: `since` not a finite time.
    """
    query = select(ScorecardSnapshot).where(col(ScorecardSnapshot.project_id) == project_id)
    if model is not None:
        model_id = get_model(session=session, project_id=project_id, name=check_name(model, "model name")).id
        query = query.where(col(ScorecardSnapshot.model_id) == model_id)
    else:
        query = query.where(col(ScorecardSnapshot.model_id).is_(None))
    if since is not None:
        query = query.where(col(ScorecardSnapshot.taken_at) >= _time(since, "since"))
    rows = list(session.execute(query.order_by(col(ScorecardSnapshot.taken_at).desc(), col(ScorecardSnapshot.id).desc())
                                .limit(HISTORY_ROWS)).scalars())
    return [{"taken_at": r.taken_at, "as_of": r.as_of, "phase": r.phase, "passed": r.passed, "partial": r.partial,
             "failed": r.failed, "statuses": dict(r.statuses), "test_score": r.test_score, "sections": dict(r.sections),
             "trigger": r.trigger, "model": model} for r in reversed(rows)]
