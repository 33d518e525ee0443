"""The store's evidence for maturity scorecards, read in bulk: a fixed number of set-based queries for
any number of projects, models and runs (SPEC §3; issue 12's speed bar).

Runs, params and metrics are counted in SQL and never loaded; only the runs behind model versions
are read (one row each). Versions, stage changes, promotion requests, policies, alert rules,
retraining configs and attestations are read as rows: they grow with models, not with runs. Scoring
batches, drift reports, outcomes and retraining runs are aggregated per version (or model) in SQL,
with window functions picking the newest record for evidence links.

    facts = gather(session=s, project_ids=[1, 2], as_of=time.time())
    facts.projects[1].models[0].versions[-1].stage
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, String, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from mlops_nb.services.monitoring.scorecard_results import DEFAULT_SETTINGS
from mlops_nb.store.models import (
    Approval,
    DatasetVersion,
    Experiment,
    LatestMetric,
    ModelVersion,
    Param,
    Policy,
    Project,
    PromotionRequest,
    RegisteredModel,
    Run,
    StageChange,
    Tag,
)
from mlops_nb.store.models.alerts import AlertRule, RetrainingConfig, RetrainingRun
from mlops_nb.store.models.data import ValidationRecord
from mlops_nb.store.models.monitoring import DriftRecord, Outcome, ScoringBatch
from mlops_nb.store.models.scorecards import Attestation, ScorecardSetting

DAY_S = 86400.0
LATENCY_SAMPLE = 5000  # newest production batches per version whose latency the p95 is computed over
OUTCOME_SAMPLE = 20  # newest outcomes per version whose metric names model.2 compares
RUN_EXAMPLES = 5  # runs per project (and per kind: tracked, untracked) kept as runs_tracked's evidence
BASELINE_RUNS = 5  # newest finished runs tagged baseline=true per experiment, with their metrics (model.5)


@dataclass
class RunFacts:
    """The run behind a version: its code reference fields, status, experiment and whether it
    logged params and metrics (counted in SQL)."""

    id: str
    name: str
    status: str
    experiment_id: int
    git_commit: str | None
    git_dirty: bool | None
    code_hash: str | None
    cell_source: str | None
    cell_hashes: list[str] | None
    notebook_path: str | None
    code_status: str | None
    start_time: float
    has_params: bool
    has_metrics: bool


@dataclass
class DatasetFacts:
    """A training dataset version: name, version, fingerprint and whether its schema names columns."""

    id: int
    name: str
    version: int
    fingerprint: str
    has_schema: bool


@dataclass
class BatchStats:
    """A version's scoring batches in one stage: `total` up to as_of; within the monitoring window
    `in_window`, `profiled` (a non-empty prediction profile), `monitored` (evaluated by the monitor),
    `counts_nonfinite` (a profile counting NaN/inf predictions); `newest_id`/`newest_at` the newest
    batch up to as_of."""

    total: int = 0
    in_window: int = 0
    profiled: int = 0
    monitored: int = 0
    counts_nonfinite: int = 0
    newest_id: str | None = None
    newest_at: float | None = None


@dataclass
class VersionFacts:
    """One model version as scorecards read it: `stage` is its stage at as_of."""

    id: int
    model_id: int
    version: int
    stage: str
    created_at: float
    run_id: str | None
    dataset_version_id: int | None
    flavor: str
    has_signature: bool  # a non-empty input/output signature
    has_env: bool  # the training environment recorded
    has_params: bool  # the version's own params (its run's are RunFacts.has_params)
    metrics: dict[str, Any]
    code: dict[str, Any]
    has_features: bool  # names feature definitions
    run: RunFacts | None = None
    dataset: DatasetFacts | None = None
    batches: dict[str, BatchStats] = field(default_factory=dict)  # by the batch's stage
    latencies: list[float] = field(default_factory=list)  # production batches in the window, ms
    drift_id: int | None = None  # the newest monitor drift report up to as_of
    drift_at: float | None = None
    outcome_keys: list[tuple[int, float, list[str]]] = field(default_factory=list)  # (id, at, metric names)
    validation: tuple[int, float] | None = None  # the first ok validation of its training data as the subject: (id, at)
    code_verdict: tuple[bool, str] | None = None  # registry.lineage.code_verdict of its code, once computed

    @property
    def label(self) -> str:
        """"v3" (the model's name is added by whoever shows it)."""
        return f"v{self.version}"


@dataclass
class StageChangeFacts:
    """One stage change of a model, up to as_of."""

    id: int
    model_version_id: int
    from_stage: str
    to_stage: str
    request_id: int | None
    rollback: bool
    created_at: float


@dataclass
class RequestFacts:
    """A promotion request: its status, target, gate results and how many approvals carry a comment."""

    id: int
    model_version_id: int
    target_stage: str
    status: str
    gates: list[Any]
    decided_at: float | None
    commented_approvals: int


@dataclass
class ModelFacts:
    """A registered model with its versions (by number), stage changes (oldest first) and
    retraining evidence."""

    id: int
    project_id: int
    name: str
    versions: list[VersionFacts] = field(default_factory=list)
    stage_changes: list[StageChangeFacts] = field(default_factory=list)
    retraining_set_at: float | None = None  # its retraining notebook, when set
    alert_retraining: tuple[int, float, str, int] | None = None  # newest run started by an alert: (id, at, status, alert)
    succeeded_retraining: tuple[int, float] | None = None  # newest run that succeeded: (id, at)

    def live(self) -> list[VersionFacts]:
        """Its versions not archived."""
        return [v for v in self.versions if v.stage != "archived"]

    def in_stage(self, *stages: str) -> list[VersionFacts]:
        """Its versions in one of `stages`."""
        return [v for v in self.versions if v.stage in stages]

    @property
    def production(self) -> VersionFacts | None:
        """Its production version (the newest, in a store written by hand with two)."""
        found = self.in_stage("production")
        return found[-1] if found else None

    @property
    def reference(self) -> VersionFacts | None:
        """V: its production version, else its newest version not archived, else its newest."""
        live = self.live()
        return self.production or (live[-1] if live else (self.versions[-1] if self.versions else None))


@dataclass
class RuleFacts:
    """An alert rule of a project."""

    id: int
    model_id: int | None
    name: str
    kind: str
    params: dict[str, Any]
    actions: list[Any]
    enabled: bool


@dataclass
class AttestationFacts:
    """An attestation of a project (model_id None: every model of it)."""

    id: int
    model_id: int | None
    test: str
    note: str
    attested_by: str
    attested_at: float
    expires_at: float
    withdrawn_at: float | None

    def holds(self, as_of: float) -> bool:
        """Not withdrawn (by as_of), attested by as_of and not yet expired."""
        withdrawn = self.withdrawn_at is not None and self.withdrawn_at <= as_of
        return not withdrawn and self.attested_at <= as_of < self.expires_at


@dataclass
class ProjectFacts:
    """Everything scorecards read of one project."""

    id: int
    name: str
    settings: dict[str, float]
    models: list[ModelFacts] = field(default_factory=list)
    policies: dict[int | None, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # model_id -> (id, rules)
    rules: list[RuleFacts] = field(default_factory=list)
    attestations: list[AttestationFacts] = field(default_factory=list)
    finished_runs: int = 0
    tracked_runs: int = 0  # finished runs with >= 1 param and >= 1 metric
    run_examples: list[tuple[str, str, bool, float]] = field(default_factory=list)  # (id, name, tracked, start)


@dataclass
class BaselineRun:
    """A finished run tagged baseline=true: its id, name, start and latest metrics."""

    id: str
    name: str
    start_time: float
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class Facts:
    """The evidence of the projects gathered at once: `projects` by id, `requests`, `experiments`
    ({experiment_id: (finished runs with params, has a baseline run)}) and `baselines` (the newest
    BASELINE_RUNS finished baseline runs of each, with their metrics) shared."""

    as_of: float
    projects: dict[int, ProjectFacts]
    requests: dict[int, RequestFacts] = field(default_factory=dict)
    experiments: dict[int, tuple[int, bool]] = field(default_factory=dict)
    baselines: dict[int, list[BaselineRun]] = field(default_factory=dict)  # experiment id -> newest first
    _by_version: dict[int, list[RequestFacts]] | None = None

    def requests_of(self, version_id: int) -> list[RequestFacts]:
        """The approved requests for model version `version_id`."""
        if self._by_version is None:
            self._by_version = defaultdict(list)
            for request in self.requests.values():
                self._by_version[request.model_version_id].append(request)
        return self._by_version.get(version_id, [])


def _settings_of(rows: Iterable[Any], project_ids: Sequence[int]) -> dict[int, dict[str, float]]:
    """scorecard_settings.get_settings for many projects from their ScorecardSetting rows."""
    stored = {pid: settings for pid, settings in rows}
    return {pid: {key: float((stored.get(pid) or {}).get(key, default)) for key, default in DEFAULT_SETTINGS.items()}
            for pid in project_ids}


def _window_start(project_column: Any, settings: dict[int, dict[str, float]], key: str,
                  as_of: float) -> ColumnElement[Any]:
    """as_of less each project's window `key` (days), as one SQL expression: a literal when every
    project uses the same window, else a CASE over the projects that differ from the most common."""
    starts = {pid: as_of - s[key] * DAY_S for pid, s in settings.items()}
    values = sorted(set(starts.values()))
    if len(values) <= 1:
        return literal(values[0] if values else as_of - DEFAULT_SETTINGS[key] * DAY_S, Float)
    common = max(values, key=lambda v: sum(1 for s in starts.values() if s == v))
    whens = [(project_column == pid, literal(start, Float)) for pid, start in starts.items() if start != common]
    return case(*whens, else_=literal(common, Float))


def gather(*, session: Session, project_ids: list[int] | None, as_of: float,
           stages_now: bool = True) -> Facts:
    """The evidence of projects `project_ids` (None: every project) up to `as_of` (epoch s).

    `stages_now` True takes each version's stage as stored (the present); False reconstructs it at
    `as_of` from the stage changes (history). Runs 23 statements whatever the number of projects,
    models, versions and runs."""
    session.flush()  # the reads below are Core statements, which do not autoflush the caller's pending rows
    db = session.connection()
    query = select(col(Project.id), col(Project.name)).order_by(col(Project.name))
    if project_ids is not None:
        query = query.where(col(Project.id).in_(project_ids))
    project_rows = db.execute(query).all()
    ids = [r.id for r in project_rows]
    settings = _settings_of(db.execute(select(col(ScorecardSetting.project_id), col(ScorecardSetting.settings))
                                       .where(col(ScorecardSetting.project_id).in_(ids))).all(), ids)
    projects = {r.id: ProjectFacts(id=r.id, name=r.name, settings=settings[r.id]) for r in project_rows}
    facts = Facts(as_of=as_of, projects=projects)
    if not ids:
        return facts
    models = _models(db, facts, ids, as_of)
    versions = _versions(db, models, ids, as_of)
    _stage_changes(db, facts, models, versions, ids, as_of, stages_now)
    _runs_and_datasets(db, versions, ids)
    _project_runs(db, facts, ids, as_of)
    _experiments(db, facts, versions, ids)
    _requests(db, facts, ids, as_of)
    _policies_rules_attestations(db, facts, models, ids, as_of)
    _batches(db, versions, ids, settings, as_of)
    _latencies(db, versions, ids, settings, as_of)
    _drift_outcomes_validations(db, versions, ids, as_of)
    _retraining(db, models, ids, as_of)
    return facts


def _models(db: Any, facts: Facts, ids: list[int], as_of: float) -> dict[int, ModelFacts]:
    models: dict[int, ModelFacts] = {}
    rows = db.execute(select(col(RegisteredModel.id), col(RegisteredModel.project_id), col(RegisteredModel.name))
                      .where(col(RegisteredModel.project_id).in_(ids), col(RegisteredModel.created_at) <= as_of)
                      .order_by(col(RegisteredModel.name))).all()
    for r in rows:
        models[r.id] = ModelFacts(id=r.id, project_id=r.project_id, name=r.name)
        facts.projects[r.project_id].models.append(models[r.id])
    return models


def _filled(column: Any) -> ColumnElement[bool]:
    """Whether a JSON column holds something: not {}, [] or null (as stored text, on SQLite and PostgreSQL)."""
    return cast(column, String).notin_(["{}", "[]", "null", ""])


def _model_ids(ids: list[int]) -> Any:
    """The ids of the models of projects `ids`, as a subquery."""
    return select(col(RegisteredModel.id)).where(col(RegisteredModel.project_id).in_(ids)).scalar_subquery()


def _versions(db: Any, models: dict[int, ModelFacts], ids: list[int], as_of: float) -> dict[int, VersionFacts]:
    versions: dict[int, VersionFacts] = {}
    mv = ModelVersion
    # what is only checked for being there is checked in SQL, not decoded (a signature lists every column)
    rows = db.execute(select(col(mv.id), col(mv.model_id), col(mv.version), col(mv.stage), col(mv.created_at),
                             col(mv.run_id), col(mv.dataset_version_id), col(mv.flavor),
                             _filled(col(mv.signature)).label("has_signature"), _filled(col(mv.env)).label("has_env"),
                             _filled(col(mv.params)).label("has_params"), col(mv.metrics), col(mv.code),
                             _filled(col(mv.features)).label("has_features"))
                      .where(col(mv.model_id).in_(_model_ids(ids)), col(mv.created_at) <= as_of)
                      .order_by(col(mv.model_id), col(mv.version))).all()
    for r in rows:
        if r.model_id not in models:
            continue
        v = VersionFacts(id=r.id, model_id=r.model_id, version=r.version, stage=r.stage, created_at=r.created_at,
                         run_id=r.run_id, dataset_version_id=r.dataset_version_id, flavor=r.flavor,
                         has_signature=bool(r.has_signature), has_env=bool(r.has_env), has_params=bool(r.has_params),
                         metrics=r.metrics or {}, code=r.code or {}, has_features=bool(r.has_features))
        versions[v.id] = v
        models[r.model_id].versions.append(v)
    return versions


def _stage_changes(db: Any, facts: Facts, models: dict[int, ModelFacts], versions: dict[int, VersionFacts],
                   ids: list[int], as_of: float, stages_now: bool) -> None:
    sc = StageChange
    rows = db.execute(select(col(sc.id), col(sc.model_id), col(sc.model_version_id), col(sc.from_stage),
                             col(sc.to_stage), col(sc.request_id), col(sc.rollback), col(sc.created_at))
                      .where(col(sc.model_id).in_(_model_ids(ids)))
                      .order_by(col(sc.id))).all()
    last: dict[int, str] = {}  # each version's stage at as_of, from its changes up to then
    moved: set[int] = set()  # versions with any stage change, before or after as_of
    for r in rows:
        moved.add(r.model_version_id)
        if r.model_id in models and r.created_at <= as_of:
            models[r.model_id].stage_changes.append(StageChangeFacts(
                id=r.id, model_version_id=r.model_version_id, from_stage=r.from_stage, to_stage=r.to_stage,
                request_id=r.request_id, rollback=bool(r.rollback), created_at=r.created_at))
            last[r.model_version_id] = r.to_stage
    if stages_now:
        return
    for v in versions.values():
        # a version never moved by a stage change (a store written by hand) keeps its stored stage
        if v.id in moved:
            v.stage = last.get(v.id, "none")


def _runs_and_datasets(db: Any, versions: dict[int, VersionFacts], ids: list[int]) -> None:
    mv = ModelVersion
    has_params = exists().where(col(Param.run_id) == Run.id)
    has_metrics = exists().where(col(LatestMetric.run_id) == Run.id)
    run_rows = db.execute(select(col(mv.id).label("version_id"), col(Run.id), col(Run.name), col(Run.status),
                                 col(Run.experiment_id), col(Run.git_commit), col(Run.git_dirty), col(Run.code_hash),
                                 col(Run.cell_source), col(Run.cell_hashes), col(Run.notebook_path),
                                 col(Run.code_status), col(Run.start_time), has_params.label("has_params"),
                                 has_metrics.label("has_metrics"))
                          .join(Run, col(Run.id) == mv.run_id)
                          .where(col(mv.model_id).in_(_model_ids(ids)))).all()
    for r in run_rows:
        v = versions.get(r.version_id)
        if v is not None:
            v.run = RunFacts(id=r.id, name=r.name, status=r.status, experiment_id=r.experiment_id,
                             git_commit=r.git_commit, git_dirty=r.git_dirty, code_hash=r.code_hash,
                             cell_source=r.cell_source, cell_hashes=r.cell_hashes, notebook_path=r.notebook_path,
                             code_status=r.code_status, start_time=r.start_time, has_params=bool(r.has_params),
                             has_metrics=bool(r.has_metrics))
    schema = cast(col(DatasetVersion.schema_)["columns"], String)
    data_rows = db.execute(select(col(mv.id).label("version_id"), col(DatasetVersion.id), col(DatasetVersion.name),
                                  col(DatasetVersion.version), col(DatasetVersion.fingerprint),
                                  schema.label("columns"))
                           .join(DatasetVersion, col(DatasetVersion.id) == mv.dataset_version_id)
                           .where(col(mv.model_id).in_(_model_ids(ids)))).all()
    for r in data_rows:
        v = versions.get(r.version_id)
        if v is not None:
            text = (r.columns or "").strip()
            v.dataset = DatasetFacts(id=r.id, name=r.name, version=r.version, fingerprint=r.fingerprint,
                                     has_schema=text not in ("", "[]", "null"))


def _project_runs(db: Any, facts: Facts, ids: list[int], as_of: float) -> None:
    """Finished runs per project and those with params and metrics, counted in SQL; a few examples of each."""
    tracked = and_(exists().where(col(Param.run_id) == Run.id), exists().where(col(LatestMetric.run_id) == Run.id))
    finished = and_(col(Run.status) == "finished", col(Run.start_time) <= as_of)
    rows = db.execute(select(col(Experiment.project_id), func.count().label("finished"),
                             func.sum(case((tracked, 1), else_=0)).label("tracked"))
                      .select_from(Run).join(Experiment, col(Experiment.id) == Run.experiment_id)
                      .where(col(Experiment.project_id).in_(ids), finished)
                      .group_by(col(Experiment.project_id))).all()
    for r in rows:
        facts.projects[r.project_id].finished_runs = int(r.finished)
        facts.projects[r.project_id].tracked_runs = int(r.tracked or 0)
    flag = case((tracked, 1), else_=0).label("tracked")
    rank = func.row_number().over(partition_by=(col(Experiment.project_id), case((tracked, 1), else_=0)),
                                  order_by=col(Run.start_time).desc()).label("rank")
    inner = (select(col(Experiment.project_id), col(Run.id), col(Run.name), col(Run.start_time), flag, rank)
             .select_from(Run).join(Experiment, col(Experiment.id) == Run.experiment_id)
             .where(col(Experiment.project_id).in_(ids), finished).subquery())
    for r in db.execute(select(inner).where(inner.c.rank <= RUN_EXAMPLES)).all():
        facts.projects[r.project_id].run_examples.append((r.id, r.name, bool(r.tracked), r.start_time))


def _experiments(db: Any, facts: Facts, versions: dict[int, VersionFacts], ids: list[int]) -> None:
    """Per experiment behind a version: finished runs with params (a sweep) and whether a run is tagged
    baseline=true, counted in SQL."""
    behind = (select(col(Run.experiment_id)).join(ModelVersion, col(ModelVersion.run_id) == Run.id)
              .where(col(ModelVersion.model_id).in_(_model_ids(ids))))
    with_params = and_(col(Run.status) == "finished", exists().where(col(Param.run_id) == Run.id))
    baseline = exists().where(col(Tag.run_id) == Run.id, col(Tag.key) == "baseline",
                              func.lower(func.trim(col(Tag.value))) == "true")
    rows = db.execute(select(col(Run.experiment_id), func.sum(case((with_params, 1), else_=0)).label("swept"),
                             func.max(case((baseline, 1), else_=0)).label("baseline"))
                      .where(col(Run.experiment_id).in_(behind)).group_by(col(Run.experiment_id))).all()
    facts.experiments = {r.experiment_id: (int(r.swept or 0), bool(r.baseline)) for r in rows}
    # the newest finished baseline runs of those experiments, with their latest metrics (a left join:
    # a baseline that logged nothing is still listed)
    rank = func.row_number().over(partition_by=col(Run.experiment_id), order_by=col(Run.start_time).desc()).label("rank")
    inner = (select(col(Run.experiment_id), col(Run.id), col(Run.name), col(Run.start_time), rank)
             .where(col(Run.experiment_id).in_(behind), col(Run.status) == "finished", baseline).subquery())
    found: dict[str, BaselineRun] = {}
    for r in db.execute(select(inner.c.experiment_id, inner.c.id, inner.c.name, inner.c.start_time,
                               col(LatestMetric.key), col(LatestMetric.value))
                        .outerjoin(LatestMetric, col(LatestMetric.run_id) == inner.c.id)
                        .where(inner.c.rank <= BASELINE_RUNS)
                        .order_by(inner.c.experiment_id, inner.c.start_time.desc(), inner.c.id)).all():
        run = found.get(r.id)
        if run is None:
            run = found[r.id] = BaselineRun(id=r.id, name=r.name, start_time=r.start_time)
            facts.baselines.setdefault(r.experiment_id, []).append(run)
        if r.key is not None and r.value is not None:
            run.metrics[r.key] = float(r.value)


def _requests(db: Any, facts: Facts, ids: list[int], as_of: float) -> None:
    """Approved requests of the projects' models (decided by as_of), with their commented approvals."""
    commented = (select(func.count()).where(col(Approval.request_id) == PromotionRequest.id,
                                            func.length(func.trim(col(Approval.comment))) > 0)
                 .correlate(PromotionRequest).scalar_subquery())
    pr = PromotionRequest
    rows = db.execute(select(col(pr.id), col(pr.model_version_id), col(pr.target_stage), col(pr.status),
                             col(pr.gates), col(pr.decided_at), commented.label("commented"))
                      .where(col(pr.model_id).in_(_model_ids(ids)), col(pr.status) == "approved",
                             or_(col(pr.decided_at).is_(None), col(pr.decided_at) <= as_of))).all()
    facts.requests = {r.id: RequestFacts(id=r.id, model_version_id=r.model_version_id, target_stage=r.target_stage,
                                         status=r.status, gates=r.gates or [], decided_at=r.decided_at,
                                         commented_approvals=int(r.commented or 0)) for r in rows}


def _policies_rules_attestations(db: Any, facts: Facts, models: dict[int, ModelFacts], ids: list[int],
                                 as_of: float) -> None:
    for r in db.execute(select(col(Policy.id), col(Policy.project_id), col(Policy.model_id), col(Policy.rules))
                        .where(col(Policy.project_id).in_(ids))).all():
        facts.projects[r.project_id].policies[r.model_id] = (r.id, r.rules or {})
    ar = AlertRule
    for r in db.execute(select(col(ar.id), col(ar.project_id), col(ar.model_id), col(ar.name), col(ar.kind),
                               col(ar.params), col(ar.actions), col(ar.enabled))
                        .where(col(ar.project_id).in_(ids), col(ar.created_at) <= as_of).order_by(col(ar.id))).all():
        facts.projects[r.project_id].rules.append(RuleFacts(id=r.id, model_id=r.model_id, name=r.name, kind=r.kind,
                                                            params=r.params or {}, actions=r.actions or [],
                                                            enabled=bool(r.enabled)))
    at = Attestation
    for r in db.execute(select(col(at.id), col(at.project_id), col(at.model_id), col(at.test), col(at.note),
                               col(at.attested_by), col(at.attested_at), col(at.expires_at), col(at.withdrawn_at))
                        .where(col(at.project_id).in_(ids)).order_by(col(at.attested_at).desc())).all():
        facts.projects[r.project_id].attestations.append(AttestationFacts(
            id=r.id, model_id=r.model_id, test=r.test, note=r.note, attested_by=r.attested_by,
            attested_at=r.attested_at, expires_at=r.expires_at, withdrawn_at=r.withdrawn_at))


def _batches(db: Any, versions: dict[int, VersionFacts], ids: list[int], settings: dict[int, dict[str, float]],
             as_of: float) -> None:
    """Per version and stage: batch counts up to as_of and within the project's monitoring window
    (profiled, monitored, counting NaN/inf), counted in SQL; then the newest batch of each."""
    b = ScoringBatch
    start = _window_start(col(RegisteredModel.project_id), settings, "monitoring_window_days", as_of)
    in_window = col(b.created_at) > start
    profile = col(b.prediction_profile)
    profiled = _filled(profile)
    counts_nonfinite = profile["nan"].as_integer().is_not(None)
    monitored = and_(col(b.monitored_at).is_not(None), col(b.monitored_at) <= as_of)

    def _count(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    rows = db.execute(select(col(b.model_version_id), col(b.stage), func.count().label("total"),
                             _count(in_window).label("in_window"), _count(and_(in_window, profiled)).label("profiled"),
                             _count(and_(in_window, monitored)).label("monitored"),
                             _count(and_(in_window, counts_nonfinite)).label("nonfinite"))
                      .join(ModelVersion, col(ModelVersion.id) == b.model_version_id)
                      .join(RegisteredModel, col(RegisteredModel.id) == ModelVersion.model_id)
                      .where(col(RegisteredModel.project_id).in_(ids), col(b.created_at) <= as_of)
                      .group_by(col(b.model_version_id), col(b.stage))).all()
    for r in rows:
        if r.model_version_id in versions:
            versions[r.model_version_id].batches[r.stage] = BatchStats(
                total=int(r.total), in_window=int(r.in_window or 0), profiled=int(r.profiled or 0),
                monitored=int(r.monitored or 0), counts_nonfinite=int(r.nonfinite or 0))
    rank = func.row_number().over(partition_by=(col(b.model_version_id), col(b.stage)),
                                  order_by=col(b.created_at).desc()).label("rank")
    inner = (select(col(b.id), col(b.model_version_id), col(b.stage), col(b.created_at), rank)
             .where(col(b.model_version_id).in_(select(col(ModelVersion.id))
                                                .where(col(ModelVersion.model_id).in_(_model_ids(ids)))),
                    col(b.created_at) <= as_of).subquery())
    for r in db.execute(select(inner).where(inner.c.rank == 1)).all():
        stats = versions[r.model_version_id].batches.get(r.stage) if r.model_version_id in versions else None
        if stats is not None:
            stats.newest_id, stats.newest_at = r.id, r.created_at


def _latencies(db: Any, versions: dict[int, VersionFacts], ids: list[int], settings: dict[int, dict[str, float]],
               as_of: float) -> None:
    """latency_ms of the production batches within the monitoring window, the newest LATENCY_SAMPLE per
    version. A p95 is not portable SQL (PostgreSQL has percentile_cont, SQLite has none), so the
    values are fetched, bounded, and the p95 computed in Python; they grow with batches, never with runs."""
    b = ScoringBatch
    start = _window_start(col(RegisteredModel.project_id), settings, "monitoring_window_days", as_of)
    rank = func.row_number().over(partition_by=col(b.model_version_id), order_by=col(b.created_at).desc()).label("rank")
    inner = (select(col(b.model_version_id), col(b.latency_ms), rank)
             .join(ModelVersion, col(ModelVersion.id) == b.model_version_id)
             .join(RegisteredModel, col(RegisteredModel.id) == ModelVersion.model_id)
             .where(col(RegisteredModel.project_id).in_(ids), col(b.stage) == "production",
                    col(b.created_at) > start, col(b.created_at) <= as_of, col(b.latency_ms).is_not(None))
             .subquery())
    for r in db.execute(select(inner.c.model_version_id, inner.c.latency_ms)
                        .where(inner.c.rank <= LATENCY_SAMPLE)).all():
        if r.model_version_id in versions:
            versions[r.model_version_id].latencies.append(float(r.latency_ms))


def _drift_outcomes_validations(db: Any, versions: dict[int, VersionFacts], ids: list[int], as_of: float) -> None:
    of_versions = select(col(ModelVersion.id)).where(col(ModelVersion.model_id).in_(_model_ids(ids)))
    d = DriftRecord
    rows = (select(col(d.model_version_id), func.max(col(d.created_at)).label("at"))
            .where(col(d.project_id).in_(ids), col(d.trigger) == "monitor", col(d.created_at) <= as_of,
                   col(d.model_version_id).is_not(None))
            .group_by(col(d.model_version_id)).subquery())
    for r in db.execute(select(col(d.model_version_id), func.max(col(d.id)).label("id"), rows.c.at)
                        .join(rows, and_(rows.c.model_version_id == d.model_version_id, rows.c.at == d.created_at))
                        .where(col(d.trigger) == "monitor")
                        .group_by(col(d.model_version_id), rows.c.at)).all():
        if r.model_version_id in versions:
            versions[r.model_version_id].drift_id, versions[r.model_version_id].drift_at = r.id, r.at
    o = Outcome
    rank = func.row_number().over(partition_by=col(o.model_version_id), order_by=col(o.created_at).desc()).label("rank")
    inner = (select(col(o.id), col(o.model_version_id), col(o.created_at), col(o.metrics), rank)
             .where(col(o.model_version_id).in_(of_versions), col(o.created_at) <= as_of,
                    _filled(col(o.metrics))).subquery())
    for r in db.execute(select(inner).where(inner.c.rank <= OUTCOME_SAMPLE)).all():
        if r.model_version_id in versions:
            versions[r.model_version_id].outcome_keys.append((r.id, r.created_at, sorted(r.metrics or {})))
    # the first passing validation of each version's training dataset as the subject, against another
    # dataset version: a frame validated against the training dataset as its contract is not the
    # training data validated (mlops.validate(train, against=<its own snapshot>) passes by construction)
    vr = ValidationRecord
    datasets = {v.dataset_version_id for v in versions.values() if v.dataset_version_id is not None}
    if not datasets:
        return
    subject = col(vr.subject_dataset_version_id)
    query: Any = (select(subject.label("dataset"), func.min(col(vr.created_at)).label("at"),
                         func.min(col(vr.id)).label("id"))
                  .where(col(vr.project_id).in_(ids), col(vr.ok).is_(True), col(vr.created_at) <= as_of,
                         col(vr.dataset_version_id) != subject,
                         subject.in_(select(col(ModelVersion.dataset_version_id))
                                     .where(col(ModelVersion.model_id).in_(_model_ids(ids)))))
                  .group_by(subject))
    first: dict[int, tuple[int, float]] = {r.dataset: (r.id, r.at) for r in db.execute(query).all()}
    for v in versions.values():
        if v.dataset_version_id in first:
            v.validation = first[v.dataset_version_id]


def _retraining(db: Any, models: dict[int, ModelFacts], ids: list[int], as_of: float) -> None:
    for r in db.execute(select(col(RetrainingConfig.model_id), col(RetrainingConfig.set_at))
                        .where(col(RetrainingConfig.model_id).in_(_model_ids(ids)))).all():
        if r.model_id in models and r.set_at <= as_of:
            models[r.model_id].retraining_set_at = r.set_at
    rr = RetrainingRun
    by_alert = col(rr.alert_id).is_not(None)
    succeeded = col(rr.status) == "succeeded"
    kind = case((by_alert, 1), else_=0) + case((succeeded, 2), else_=0)
    rank = func.row_number().over(partition_by=(col(rr.model_id), kind), order_by=col(rr.started_at).desc()).label("rank")
    inner = (select(col(rr.id), col(rr.model_id), col(rr.alert_id), col(rr.status), col(rr.started_at), rank)
             .where(col(rr.model_id).in_(_model_ids(ids)), col(rr.started_at) <= as_of).subquery())
    runs: dict[int, list[Any]] = defaultdict(list)
    for r in db.execute(select(inner).where(inner.c.rank == 1)).all():
        runs[r.model_id].append(r)
    for model_id, found in runs.items():
        if model_id not in models:
            continue
        by = [r for r in found if r.alert_id is not None]
        ok = [r for r in found if r.status == "succeeded"]
        if by:
            newest = max(by, key=lambda r: r.started_at)
            models[model_id].alert_retraining = (newest.id, newest.started_at, newest.status, newest.alert_id)
        if ok:
            newest = max(ok, key=lambda r: r.started_at)
            models[model_id].succeeded_retraining = (newest.id, newest.started_at)
