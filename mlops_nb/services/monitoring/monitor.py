"""`mlops monitor run`: evaluate the alert rules of every production model and compute due drift.

SPEC §4 and issue 11 item 6. Under the monitor lock (monitor_lock: a second run at the same time is
refused, naming the holder), for each production model version (of one project or all; or one
model), in one transaction per version:

1. the scoring batches it has not evaluated yet (`scoring_batch.monitored_at` unset: a batch
   stored late by a scorer's background writer, or backfilled with an earlier time, is still found);
2. their validation findings, grouped by column and finding rule (a refused batch is recorded with
   its findings and left out of drift);
3. drift of the union of the accepted and warned batches against the training reference
   (services.monitoring.drift.window_drift, trigger "monitor": evidently's default-preset verdicts,
   the target left out, prediction drift too), stored as a report;
4. the project's rules (monitor_checks), or with no rules in the project SPEC §4's defaults (error
   findings; dataset drift of the window); each firing through alerts.fire_alert, whose fingerprint
   names the evidence, so evaluating it again fires nothing new;
5. the batches and outcomes evaluated are marked (`monitored_at`) and the version's cursor records
   the run, in the same transaction: they are marked only when the evaluation committed.

The actions of the alerts fired run after that commit (a webhook's retries hold no lock on the
store). Last, still under the lock, the scorecards of the projects it ran on are snapshotted for the
trend (scorecard_history.take_snapshots, trigger "monitor", only_if_changed: an hourly cron job
stores a point a day per card, plus every change); a snapshot that fails fails nothing else: the run
says so in one line and stays ok. The result has one line per error finding and per alert, naming the model, the column and
the rule (warning findings too with `include_warnings`), and nothing for what is fine.

    result = run_monitor(engine=e, store=store, actor=identity.OPERATOR)
    print("\\n".join(result.lines))
"""
from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from mlops_nb.services.errors import MlopsError, NotFound
from mlops_nb.services.identity.auth import Identity
from mlops_nb.services.monitoring import monitor_checks as checks
from mlops_nb.services.monitoring.actions import ActionOutcome, run_actions
from mlops_nb.services.monitoring.alerts import AlertPublic, fingerprint_of, fire_alert
from mlops_nb.services.monitoring.drift_results import DriftReport
from mlops_nb.services.monitoring.monitor_checks import Firing, RuleSpec, Target
from mlops_nb.services.monitoring.monitor_lock import LOCK_TTL_S, hold_lock
from mlops_nb.services.monitoring.rules import project_rules
from mlops_nb.services.monitoring.scorecard_history import take_snapshots
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import ModelVersion, Project, RegisteredModel, StageChange
from mlops_nb.store.models.alerts import MonitorCursor
from mlops_nb.store.models.monitoring import Outcome, ScoringBatch

USABLE = ("accepted", "warned")  # batches whose inputs were scored: the drift window


@dataclass
class MonitorResult:
    """What one `mlops monitor run` did: `lines` to print (one per error finding and per alert, warnings
    with include_warnings), `alerts` fired, drift `reports` computed (services.monitoring.drift's
    DriftReport), `evaluated` (model version label, new batches) per version, `actions` delivered,
    `failed` (version label, why) for versions whose evaluation failed (their cursor did not move), and
    `snapshots`: the scorecard snapshots written at the end."""

    lines: list[str] = field(default_factory=list)
    alerts: list[AlertPublic] = field(default_factory=list)
    reports: list[DriftReport] = field(default_factory=list)
    evaluated: list[tuple[str, int]] = field(default_factory=list)
    actions: list[ActionOutcome] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    snapshots: int = 0

    @property
    def ok(self) -> bool:
        """True when every version's evaluation committed."""
        return not self.failed


def production_targets(*, session: Session, project_id: int | None = None, model: str | None = None) -> list[Target]:
    """The production model versions to evaluate, by project and model name.

    Raises:
        NotFound: `model` given and no production version of a model of that name (in the project).
    """
    query = (select(col(Project.id), col(Project.name), col(RegisteredModel.id), col(RegisteredModel.name),
                    col(ModelVersion.id), col(ModelVersion.version))
             .join(RegisteredModel, col(RegisteredModel.project_id) == col(Project.id))
             .join(ModelVersion, col(ModelVersion.model_id) == col(RegisteredModel.id))
             .where(col(ModelVersion.stage) == "production"))
    if project_id is not None:
        query = query.where(col(Project.id) == project_id)
    if model is not None:
        query = query.where(col(RegisteredModel.name) == model)
    targets = [Target(*row) for row in session.execute(query.order_by(col(Project.name), col(RegisteredModel.name)))]
    if model is not None and not targets:
        raise NotFound(f"model {model!r} has no production version to monitor"
                       + (" in this project" if project_id is not None else ""))
    return targets


def _rules_for(session: Session, project_id: int, cache: dict[int, list[RuleSpec]]) -> list[RuleSpec]:
    if project_id not in cache:
        rows = project_rules(session=session, project_id=project_id)
        cache[project_id] = [RuleSpec(name=r.name, kind=r.kind, params=dict(r.params), severity=r.severity,
                                      actions=list(r.actions), id=r.id, model_id=r.model_id)
                             for r in rows if r.enabled] if rows else list(checks.DEFAULT_RULES)
    return cache[project_id]


@dataclass
class _Evaluation:
    lines: list[str] = field(default_factory=list)
    fired: list[tuple[AlertPublic, list[dict[str, Any]]]] = field(default_factory=list)
    report: DriftReport | None = None
    batches: int = 0


# C0 and C1 controls, and the bidirectional marks, embeddings, overrides and isolates, which reorder
# the rest of a terminal line (a name could make "fail" read "liaf", or swap two columns)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    """`text` with control characters and bidirectional overrides written as escapes (a newline as
    \\n, ESC as \\x1b, U+202E as \\u202e): a line printed to a terminal or a cron log stays one line,
    and a column name from the scored data cannot move the cursor, recolour, retitle or reorder it."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _line(severity: str, target: Target, column: str | None, rule: str, message: str) -> str:
    where = f" column {column!r}" if column else ""
    return one_line(f"{severity}: {target.label}{where} [rule {rule!r}] {message.removeprefix(target.label + ': ')}")


def _window_drift(session: Session, store: ArtifactStore, target: Target, usable: Sequence[ScoringBatch],
                  user: str) -> DriftReport:
    from mlops_nb.services.monitoring.drift import window_drift  # brings scipy: imported when a window is measured

    return window_drift(session=session, store=store, project_id=target.project_id, model_version_id=target.version_id,
                        batch_ids=[b.id for b in usable], user=user, trigger="monitor")


def evaluate_version(*, session: Session, store: ArtifactStore, target: Target, rules: Sequence[RuleSpec],
                     now: float, include_warnings: bool, actor: str) -> _Evaluation:
    """Evaluate one production version in the caller's transaction (see the module doc): fire what is
    due, move the cursor; the actions are left to the caller, after commit."""
    result = _Evaluation()
    cursor = session.get(MonitorCursor, target.version_id)
    query = select(ScoringBatch).where(col(ScoringBatch.model_version_id) == target.version_id,
                                       col(ScoringBatch.monitored_at).is_(None))
    batches = list(session.execute(query.order_by(col(ScoringBatch.created_at), col(ScoringBatch.id))).scalars())
    result.batches = len(batches)
    mine = [r for r in rules if r.model_id is None or r.model_id == target.model_id]
    firings: list[Firing] = []
    groups = checks.group_findings(batches)
    for rule in (r for r in mine if r.kind == "validation"):
        firings += checks.validation_firings(rule, target, groups)
    usable = [b for b in batches if b.status in USABLE and b.sample_artifact_id is not None]
    if usable:
        try:
            with session.begin_nested():
                result.report = _window_drift(session, store, target, usable, actor)
        except MlopsError as err:  # no reference, too few rows: said, and the other rules still run
            result.lines.append(_line("error", target, None, "drift", f"drift not computed: {err}"))
        if result.report is not None:
            for rule in (r for r in mine if r.kind in ("drift_share", "feature_drift")):
                firings += checks.drift_firings(rule, target, result.report, usable)
    for rule in (r for r in mine if r.kind == "latency_p95"):
        firings += checks.latency_firings(rule, target, batches)
    outcome_rules = [r for r in mine if r.kind == "outcome_metric"]
    outcomes = list(session.execute(select(Outcome).where(
        col(Outcome.model_version_id) == target.version_id, col(Outcome.monitored_at).is_(None))
        .order_by(col(Outcome.created_at), col(Outcome.id))).scalars())
    if outcome_rules:
        for rule in outcome_rules:
            firings += checks.outcome_firings(rule, target, outcomes)
    age_rules = [r for r in mine if r.kind == "model_age"]
    if age_rules:
        entered = session.execute(select(func.max(StageChange.created_at)).where(
            col(StageChange.model_version_id) == target.version_id, col(StageChange.to_stage) == "production")).scalar()
        if entered is None:
            row = session.get(ModelVersion, target.version_id)
            entered = row.created_at if row is not None else now
        for rule in age_rules:
            firings += checks.age_firings(rule, target, float(entered), now)
    alerted = {(f.column, f.evidence.get("finding")) for f in firings if f.rule.kind == "validation"}
    for group in groups:  # error findings no validation rule turned into an alert still get their line
        if (group.column, group.rule) in alerted or (group.severity != "error" and not include_warnings):
            continue
        result.lines.append(_line(group.severity, target, group.column, "validation",
                                  f"{group.rule} in {len(group.batch_ids)} batches: {group.message}"))
    for firing in firings:
        alert = fire_alert(session=session, project_id=target.project_id, rule=firing.rule.name, kind=firing.rule.kind,
                           model_version_id=target.version_id, severity=firing.rule.severity, message=firing.message,
                           evidence=firing.evidence, fingerprint=fingerprint_of(*firing.fingerprint_parts),
                           column=firing.column, rule_id=firing.rule.id, actor=actor, once_while_open=True)
        if alert is None:
            continue
        result.lines.append(_line(alert.severity, target, alert.column, alert.rule,
                                  f"{alert.message} (alert {alert.id})"))
        result.fired.append((alert, firing.rule.actions))
    if batches:
        session.execute(update(ScoringBatch).where(col(ScoringBatch.id).in_([b.id for b in batches]))
                        .values(monitored_at=now))
    if outcomes:
        session.execute(update(Outcome).where(col(Outcome.id).in_([o.id for o in outcomes])).values(monitored_at=now))
    seen = max((b.created_at for b in batches), default=0.0)
    last = max(seen, cursor.last_batch_at) if cursor is not None else seen
    if cursor is None:
        cursor = MonitorCursor(model_version_id=target.version_id, last_batch_at=last, last_run_at=now)
    cursor.last_batch_at, cursor.last_run_at = last, now
    session.add(cursor)
    session.flush()
    return result


def snapshot_scorecards(*, engine: Any, project_ids: list[int] | None, taken_by: str) -> tuple[int, str]:
    """Snapshot the scorecards of `project_ids` (None: every project) as a monitor run does (trigger
    "monitor", only the cards that changed or whose newest snapshot is a day old), in one
    transaction. Returns (rows written, "") or, when that failed, (0, the one line saying so): a
    snapshot is the trend's, and must not fail the monitoring that already committed."""
    scopes: list[int | None] = list(project_ids) if project_ids is not None else [None]
    try:
        with session_scope(engine) as session:
            written = [take_snapshots(session=session, taken_by=taken_by, trigger="monitor", project_id=project_id,
                                      only_if_changed=True) for project_id in scopes]
        return sum(written), ""
    except Exception as err:  # noqa: BLE001 - any failure, driver errors and bugs alike, is reported, not raised
        return 0, one_line(f"warning: scorecard snapshot not taken: {type(err).__name__}: {err}")


def run_monitor(*, engine: Any, store: ArtifactStore, project_id: int | None = None, model: str | None = None,
                include_warnings: bool = False, actor: Identity, lock_ttl_s: float = LOCK_TTL_S,
                kernel_env: Mapping[str, str] | None = None, snapshot: bool = True) -> MonitorResult:
    """Evaluate every production model version of project `project_id` (None: every project), or only
    model `model`, under the monitor lock (see the module doc). `actor` is who the alerts and drift
    reports are recorded by and who a retrain action acts as (the CLI: identity.OPERATOR);
    `kernel_env` (MLOPS_TOKEN, MLOPS_USER) who a retraining notebook it starts proves to be.

    Each batch and outcome is evaluated once: a run takes those not marked yet and marks them in the
    commit of that version's evaluation, so a batch a scorer's background writer stores a moment after
    this run read (or one backfilled with an earlier time) is taken by the next run.

    With `snapshot` (the default, what cron's `mlops monitor run` does), the scorecards of the
    projects it ran on are snapshotted at the end (module doc); a caller replaying history with
    back-dated records (the demo) passes False, so the trend holds no point of a half-told story.

    Raises:
        Conflict: another monitor run holds the lock (the message names it and since when).
        NotFound: `model` has no production version.
    """
    result = MonitorResult()
    with hold_lock(engine, ttl_s=lock_ttl_s) as lease:
        with session_scope(engine) as session:
            targets = production_targets(session=session, project_id=project_id, model=model)
        cache: dict[int, list[RuleSpec]] = {}
        for target in targets:
            lease.refresh()
            now = time.time()
            try:
                with session_scope(engine) as session:
                    rules = _rules_for(session, target.project_id, cache)
                    done = evaluate_version(session=session, store=store, target=target, rules=rules, now=now,
                                            include_warnings=include_warnings, actor=actor.name)
            except (MlopsError, OSError) as err:  # this version's evaluation rolled back; the others go on
                result.failed.append((target.label, str(err)))
                result.lines.append(one_line(f"error: {target.label} not evaluated: {err}"))
                continue
            result.lines += done.lines
            result.evaluated.append((target.label, done.batches))
            if done.report is not None:
                result.reports.append(done.report)
            for alert, steps in done.fired:
                result.alerts.append(alert)
                if steps:
                    lease.refresh()
                    result.actions += run_actions(engine=engine, store=store, project_id=target.project_id,
                                                  alert=alert, actions=steps, actor=actor, project=target.project,
                                                  kernel_env=kernel_env)
        if not snapshot:
            return result
        lease.refresh()
        ran_on = sorted({t.project_id for t in targets}) if model is not None else \
            [project_id] if project_id is not None else None
        result.snapshots, problem = snapshot_scorecards(engine=engine, project_ids=ran_on, taken_by=actor.name)
        if problem:
            result.lines.append(problem)
    return result
