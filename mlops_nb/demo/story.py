"""The demo store's history: who trained what, who asked, who decided, in the order it happened.

`build` fills an empty store through the public Python API, as a team would: the operator adds the
users (the one step done as the operator, as `mlops user add` does), then every other step is done
by a demo user logged in with their own password (`mlops.init(user=..., password=...)`), so the
audit trail names the people, and the services check every role and the four-eyes rule as they
would for anyone. The training is real: scikit-learn fits on the German Credit data
(credit_scoring.py, run from a copy beside the store so its text is the runs' recorded code).

    summary = build("sqlite:///.demo/mlops.db", progress=print)
    [(login.name, login.role, login.password) for login in summary.logins]
"""
from __future__ import annotations

import importlib.util
import secrets
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

PROJECT = "credit"
# (name, role): every role, two data scientists and two reviewers, so four eyes have someone to ask
USERS: tuple[tuple[str, str], ...] = (
    ("dana", "data_scientist"), ("omar", "data_scientist"), ("eli", "ml_engineer"), ("pat", "platform_engineer"),
    ("rita", "reviewer"), ("ravi", "reviewer"), ("max", "manager"), ("ada", "admin"),
    ("retrain-bot", "data_scientist"))  # the identity retraining notebooks run as (by its token)
MODELS = ("credit-risk", "credit-risk-gbm", "credit-risk-rf")
SCRIPT = "credit_scoring.py"
RETRAINING_NOTEBOOK = "credit_retraining.ipynb"  # credit-risk's training notebook, shipped beside this module


@dataclass(frozen=True)
class Login:
    """A demo user: name, role and the random password made for them (shown once, by the CLI)."""

    name: str
    role: str
    password: str = field(repr=False)


@dataclass
class Summary:
    """What the demo made, read back from the store: `runs` per status, `experiments` (names),
    `versions` per model, `requests` per status, `rollbacks`, the audit chain's verdict
    (`audit_verified`), how long it took (`seconds`), and each project's phase (`phases`)."""

    project: str
    logins: list[Login]
    runs: dict[str, int] = field(default_factory=dict)
    experiments: list[str] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    rollbacks: int = 0
    audit_verified: str = ""
    seconds: float = 0.0
    phases: dict[str, str] = field(default_factory=dict)  # project -> "3 Advanced": its scorecard's phase now


class Demo:
    """The demo being built: the store's URL, the logins, and who is logged in now."""

    def __init__(self, db_url: str, artifact_root: str | None, logins: list[Login], script: ModuleType) -> None:
        self.db_url, self.artifact_root, self.script = db_url, artifact_root, script
        self.passwords = {login.name: login.password for login in logins}
        self.project = PROJECT  # the project the chapter works in (portfolio.py's chapters change it)
        self.sessions: dict[tuple[str, str], Any] = {}  # (project, name) -> the Context their login made

    def as_user(self, name: str) -> None:
        """Act as demo user `name` in `self.project`: logged in with their password the first time
        (`mlops.init`), as in a notebook; later, that login's context is made current again, as
        switching back to their notebook would (one argon2 check per user and project)."""
        import mlops_nb as mlops
        from mlops_nb.api.context import current, set_current

        key = (self.project, name)
        if key not in self.sessions:
            self.sessions[key] = mlops.init(project=self.project, db_url=self.db_url, user=name,
                                            password=self.passwords[name], artifact_root=self.artifact_root)
        elif current() is not self.sessions[key]:
            set_current(self.sessions[key])


def check_empty(engine: Any) -> None:
    """Nothing when the store holds no project and no user; the demo fills only such a store.

    Raises:
        Conflict: it holds projects or users (the message names them); nothing is changed.
    """
    from mlops_nb.services import identity, tracking
    from mlops_nb.services.errors import Conflict
    from mlops_nb.store.db import session_scope

    with session_scope(engine) as session:
        projects = [name for _, name in tracking.list_projects(session=session)]
        users = [u.name for u in identity.list_users(session=session, actor=identity.OPERATOR)]
    if projects or users:
        held = "; ".join(part for part in (
            f"{len(projects)} project(s): {', '.join(projects[:5])}" if projects else "",
            f"{len(users)} user(s): {', '.join(users[:5])}" if users else "") if part)
        raise Conflict(f"the store already holds {held}; the demo fills only an empty store and changed nothing "
                       "(give it a new one: mlops demo --db sqlite:///demo/mlops.db)")


def add_users(engine: Any) -> list[Login]:
    """Add USERS as the operator (as `mlops user add` does), each with a new random password."""
    from mlops_nb.services import identity
    from mlops_nb.store.db import session_scope

    logins = [Login(name, role, secrets.token_urlsafe(9)) for name, role in USERS]
    with session_scope(engine) as session:
        for login in logins:
            identity.add_user(session=session, actor=identity.OPERATOR, name=login.name, role=login.role,
                              password=login.password)
    return logins


def load_script(folder: Path, name: str = SCRIPT) -> ModuleType:
    """A training script of this folder (credit_scoring.py unless `name` says) copied to `folder` and
    imported from there (see the module's docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(Path(__file__).with_name(name).read_text(encoding="utf-8"), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"mlops_demo_{path.stem}", path)
    assert spec is not None and spec.loader is not None  # a .py file we just wrote
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


# --- the chapters, in the order they happen ----------------------------------------------------------------
# Each returns the line shown in the terminal. `d` is the Demo; `s` holds what later chapters need.

def baseline(d: Demo, s: dict[str, Any]) -> str:
    """dana: the first extract of the data, a majority-class baseline and a logistic regression, v1."""

    cs = d.script
    credit = cs.load_credit()
    s["train"], s["holdout"] = cs.split(credit)
    s["train_v1"] = s["train"].iloc[:600]  # the first extract: 600 of the 750 training applicants
    d.as_user("dana")
    cs.fit_and_track("baseline", "majority-class", cs.majority(), {"model": "dummy", "strategy": "prior"},
                     s["train_v1"], s["holdout"], dataset="german-credit")
    lr = cs.fit_and_track("baseline", "lr-C1", cs.logistic(1.0), {"model": "logistic_regression", "C": 1.0,
                                                                 "class_weight": "none", "penalty": "l2"},
                          s["train_v1"], s["holdout"], dataset="german-credit", register="credit-risk")
    return f"baseline: 2 runs by dana (majority class, logistic regression roc_auc {lr.metrics['roc_auc']:.3f}); credit-risk v1"


def policies(d: Demo, s: dict[str, Any]) -> str:
    """ada sets the project's default gates; eli sets credit-risk's thresholds."""
    import mlops_nb as mlops

    d.as_user("ada")
    mlops.set_policy(data_validated={"min_rows": 500})
    d.as_user("eli")
    mlops.set_policy("credit-risk", metric_thresholds={"roc_auc": ">= 0.70"},
                     no_regression={"metric": "roc_auc", "tolerance": 0.02}, data_validated={"min_rows": 500})
    return "policies: project default by ada (data validated); credit-risk by eli (roc_auc >= 0.70, no regression)"


def promote(d: Demo, model: str, version: int, to: str, *, requester: str, reason: str,
            approvals: list[tuple[str, str]]) -> int:
    """`requester` asks, each (user, comment) of `approvals` approves in turn; the request's id."""
    import mlops_nb as mlops

    d.as_user(requester)
    request_id = mlops.request_promotion(model, version=version, to=to, reason=reason).id
    for user, comment in approvals:
        d.as_user(user)
        mlops.approve(request_id, comment=comment)
    return int(request_id)


def first_release(d: Demo, s: dict[str, Any]) -> str:
    """credit-risk v1 through staging into production."""
    promote(d, "credit-risk", 1, "staging", requester="dana", reason="baseline scorecard for the pilot branch",
            approvals=[("eli", "pipeline and lineage reviewed; staging for shadow scoring")])
    promote(d, "credit-risk", 1, "production", requester="dana",
            reason="two weeks of shadow scoring agree with the manual decisions",
            approvals=[("eli", "shadow scores match the batch job"),
                       ("rita", "coefficients are explainable for adverse-action notices; approved")])
    return "credit-risk v1: staging, then production (approved by eli and rita)"


def lr_sweep(d: Demo, s: dict[str, Any]) -> str:
    """dana sweeps C and class weights (14 runs under a parent); the best two become v2 and v3."""
    cs = d.script
    d.as_user("dana")
    grid = [{"C": c, "class_weight": w} for c in (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0) for w in (None, "balanced")]
    ranked = cs.sweep("lr-sweep", grid, s["train_v1"], s["holdout"], dataset="german-credit", name="lr-grid-C-weight")
    s["sweep_best"] = ranked[0]
    for rank, trained in enumerate(ranked[:2]):
        point = next(p for p in grid if f"lr-C{p['C']:g}-{p['class_weight'] or 'none'}" == trained.name)
        cs.fit_and_track("lr-sweep", f"{trained.name}-final", cs.logistic(point["C"], point["class_weight"]),
                         {"model": "logistic_regression", "C": point["C"], "penalty": "l2",
                          "class_weight": point["class_weight"] or "none", "sweep_rank": rank + 1},
                         s["train_v1"], s["holdout"], dataset="german-credit", register="credit-risk")
    return (f"lr-sweep: {len(grid)} runs under a parent, best {ranked[0].name} roc_auc "
            f"{ranked[0].metrics['roc_auc']:.3f}; credit-risk v2 and v3 registered")


def second_release(d: Demo, s: dict[str, Any]) -> str:
    """v2 into production; v3 requested to staging, withdrawn, asked again, then into production."""
    import mlops_nb as mlops

    promote(d, "credit-risk", 2, "staging", requester="dana", reason="best point of the C x class-weight sweep",
            approvals=[("eli", "sweep reviewed; holdout split unchanged")])
    promote(d, "credit-risk", 2, "production", requester="dana", reason="beats v1 on holdout roc_auc and cost",
            approvals=[("eli", "latency unchanged"), ("rita", "same features as v1, better ranking; approved")])
    d.as_user("omar")
    withdrawn = mlops.request_promotion("credit-risk", version=3, to="staging", reason="balanced weights variant")
    mlops.cancel(withdrawn.id, reason="asked before the fairness check; will ask again")
    promote(d, "credit-risk", 3, "staging", requester="omar",
            reason="balanced class weights: higher recall on bad credits, fairness check attached",
            approvals=[("eli", "fairness check read; staging")])
    promote(d, "credit-risk", 3, "production", requester="omar", reason="recall on bad credits up; cost per applicant down",
            approvals=[("eli", "ok from engineering"), ("ravi", "recall gain is worth it; approved")])
    return "credit-risk v2 and v3: staging, then production (one request withdrawn and asked again)"


def rollback(d: Demo, s: dict[str, Any]) -> str:
    """eli rolls credit-risk back from v3 to v2."""
    import mlops_nb as mlops

    d.as_user("eli")
    now = mlops.rollback("credit-risk", reason="approval rate for applicants under 25 fell 18% since v3; "
                                               "back to v2 while risk investigates")
    return f"rollback: eli returned credit-risk production from v3 to v{now.version}"


def boosting(d: Demo, s: dict[str, Any]) -> str:
    """omar tries gradient boosting: a grid with learning curves, a failed run; v1 rejected, v2 staged
    then rejected for production."""
    import mlops_nb as mlops

    cs = d.script
    d.as_user("omar")
    cs.fit_raw_boosting("gbm", "gbm-raw-columns", s["train_v1"], s["holdout"], dataset="german-credit")
    best: dict[int, Any] = {}
    for lr in (0.05, 0.1):
        for depth in (2, 3, 4):
            register = "credit-risk-gbm" if (lr, depth) in ((0.1, 2), (0.05, 3)) else None
            trained = cs.fit_and_track("gbm", f"gbm-lr{lr:g}-d{depth}", cs.boosting(lr, depth),
                                       {"model": "gradient_boosting", "learning_rate": lr, "max_depth": depth,
                                        "n_estimators": 100, "subsample": 0.8},
                                       s["train_v1"], s["holdout"], dataset="german-credit", register=register)
            if trained.version is not None:
                best[trained.version] = trained
    req = mlops.request_promotion("credit-risk-gbm", version=1, to="staging", reason="first boosting model")
    d.as_user("eli")
    mlops.reject(req.id, comment=f"depth-2 trees underfit: roc_auc {best[1].metrics['roc_auc']:.3f}; "
                                 "try deeper trees with a lower learning rate")
    promote(d, "credit-risk-gbm", 2, "staging", requester="omar", reason="depth 3, learning rate 0.05",
            approvals=[("eli", "learning curves flatten by 100 trees; staging")])
    d.as_user("omar")
    req = mlops.request_promotion("credit-risk-gbm", version=2, to="production", reason="best ranking so far")
    d.as_user("eli")
    mlops.approve(req.id, comment="engineering ok")
    d.as_user("ravi")
    mlops.reject(req.id, comment="no reason codes for adverse-action notices; bring monotonic constraints "
                                 "or per-applicant explanations before production")
    return "gbm: 6 runs with learning curves and 1 failed; v1 rejected by eli, v2 staged, rejected by ravi"


def refresh(d: Demo, s: dict[str, Any]) -> str:
    """pat publishes the full extract (german-credit v2); dana and omar retrain on it; their new
    versions reach staging and wait in production requests that eli has approved."""
    cs = d.script
    d.as_user("pat")
    cs.fit_and_track("data-refresh", "extract-full", cs.majority(), {"model": "dummy", "strategy": "prior",
                                                                     "purpose": "publish the full extract"},
                     s["train"], s["holdout"], dataset="german-credit")
    d.as_user("dana")
    point = s["sweep_best"]
    params = dict(cs_params_of(point.name))
    lr = cs.fit_and_track("lr-sweep", f"{point.name}-full-extract", cs.logistic(params["C"], params["class_weight"]),
                          {"model": "logistic_regression", "C": params["C"], "penalty": "l2",
                           "class_weight": params["class_weight"] or "none"},
                          s["train"], s["holdout"], dataset="german-credit", register="credit-risk")
    d.as_user("omar")
    gbm = cs.fit_and_track("gbm", "gbm-lr0.05-d3-full-extract", cs.boosting(0.05, 3),
                           {"model": "gradient_boosting", "learning_rate": 0.05, "max_depth": 3, "n_estimators": 100,
                            "subsample": 0.8}, s["train"], s["holdout"], dataset="german-credit",
                           register="credit-risk-gbm")
    promote(d, "credit-risk", lr.version, "staging", requester="dana", reason="v2's parameters on the full extract",
            approvals=[("eli", "same pipeline, more data; staging")])
    promote(d, "credit-risk", lr.version, "production", requester="dana",
            reason=f"replaces v2 (restored by the rollback): roc_auc {lr.metrics['roc_auc']:.3f} on the holdout",
            approvals=[("eli", "engineering ok; waiting for risk")])
    promote(d, "credit-risk-gbm", gbm.version, "staging", requester="omar", reason="full extract, reason codes added",
            approvals=[("eli", "staging")])
    promote(d, "credit-risk-gbm", gbm.version, "production", requester="omar",
            reason="per-applicant explanations now attached, as ravi asked", approvals=[("eli", "engineering ok")])
    return (f"refresh: german-credit v2 by pat; credit-risk v{lr.version} and credit-risk-gbm v{gbm.version} "
            "wait for a reviewer (eli approved)")


def cs_params_of(run_name: str) -> dict[str, Any]:
    """The sweep point a run name like `lr-C0.1-balanced` stands for: {"C": 0.1, "class_weight": "balanced"}."""
    _, c, weight = run_name.split("-", 2)
    return {"C": float(c[1:]), "class_weight": None if weight == "none" else weight}


def forests(d: Demo, s: dict[str, Any]) -> str:
    """dana tries random forests: v1's staging request superseded by v2's, which waits for eli; a
    production request that skips staging waits with a failing gate."""
    import mlops_nb as mlops

    cs = d.script
    d.as_user("dana")
    for depth, leaf in ((6, 5), (None, 3)):
        cs.fit_and_track("random-forest", f"rf-d{depth or 'full'}-leaf{leaf}", cs.forest(depth, leaf),
                         {"model": "random_forest", "max_depth": depth or "none", "min_samples_leaf": leaf,
                          "n_estimators": 60}, s["train"], s["holdout"], dataset="german-credit",
                         register="credit-risk-rf")
    mlops.request_promotion("credit-risk-rf", version=1, to="staging", reason="a forest for the challenger slot")
    mlops.request_promotion("credit-risk-rf", version=2, to="staging", reason="deeper trees, better ranking; "
                                                                              "replaces my v1 request")
    mlops.request_promotion("credit-risk-rf", version=2, to="production",
                            reason="the pilot deadline is Friday; can we skip staging?")
    return "random-forest: 2 runs; rf v1's request superseded by v2's (waits for eli); a production request fails its gate"


def consistency(d: Demo, s: dict[str, Any]) -> str:
    """The scoring side: dana validates the full extract against the first and defines monthly_burden;
    the serving team's edit is its v2; eli makes credit-risk refuse invalid batches; pat's job scores
    the production version on the applications that arrived after the first extract, month by month
    (accepted, one warned, April refused: `housing` arrives as integer codes); the outcomes of the
    older months come back with their default rate."""
    import mlops_nb as mlops
    from mlops_nb.services.monitoring.scoring import ScoringWarning

    cs = d.script
    d.as_user("dana")
    extract = mlops.validate(s["train"], against="german-credit:1")
    cs.monthly_burden(s["train_v1"])  # the credit team's definition: v1
    d.as_user("pat")
    cs.monthly_burden_serving(s["train_v1"].head())  # the serving team's rewrite: v2
    d.as_user("eli")
    mlops.set_policy("credit-risk", scoring={"on_invalid": "refuse"})
    d.as_user("pat")
    later = s["train"].iloc[len(s["train_v1"]):]  # the 150 applications of the full extract v1 did not hold
    months = cs.monthly_batches(later, ("2024-01", "2024-02", "2024-03"))
    months["2024-04"] = cs.reencoded(s["holdout"].iloc[:cs.MONTH_ROWS], "housing",
                                     sorted(s["train_v1"]["housing"].unique()))
    live = mlops.load_model("credit-risk", stage="production")
    scored: dict[str, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoringWarning)  # February's is recorded as warned
        for month, batch in months.items():
            try:
                with live.recorded_at(month_end(month)):  # replayed history: each batch dated in its month
                    live.predict_proba(cs.xy(batch)[0])
                scored[month] = str(live.last_batch_id)
            except mlops.ValidationFailed:  # April: recorded as refused, with its findings
                pass
    for month in ("2024-01", "2024-02"):
        bad = cs.xy(months[month])[1].astype(int)
        mlops.log_outcomes("credit-risk", predictions_id=scored[month], outcomes=bad.to_numpy(),
                           metrics={"default_rate": float(bad.mean())}, recorded_at=month_end(month))
    statuses = Counter(row["status"] for row in mlops.batches("credit-risk").rows)
    return (f"consistency: german-credit v2 validated against v1 ({'ok' if extract.ok else 'errors'}); "
            f"monthly_burden v1 and its edit v2; credit-risk v{live.version} scored {len(months)} monthly batches "
            f"({', '.join(f'{n} {status}' for status, n in sorted(statuses.items()))}); outcomes for 2024-01, 2024-02")


def month_end(month: str) -> str:
    """The last day of `month` ("2024-05" -> "2024-05-31"): when a replayed month's batch is dated."""
    import pandas as pd

    return str(pd.Period(month, freq="M").end_time.date())


SHIFTED_MONTHS = ("2024-05", "2024-06", "2024-07", "2024-08", "2024-09")  # economy.py: the shift grows from April
REENCODED_MONTH = "2024-08"  # the upstream pipeline's bug reaches production


def alert_rules(d: Demo, s: dict[str, Any]) -> str:
    """eli watches credit-risk: drift share (retrain on it), the scoring contract, the realised default
    rate against the 30% the model was built for, latency; and names its training notebook, which
    runs headless as retrain-bot (ada issues its token; the monitor job holds it, as cron would)."""
    import mlops_nb as mlops

    d.as_user("eli")
    notify = [{"type": "notify"}]
    mlops.add_alert_rule("economy drift", kind="drift_share", model="credit-risk", threshold=0.2,
                         severity="critical", actions=[*notify, {"type": "retrain"}])
    mlops.add_alert_rule("scoring contract", kind="validation", model="credit-risk", severity="critical",
                         actions=notify)
    mlops.add_alert_rule("default rate", kind="outcome_metric", model="credit-risk", metric="default_rate",
                         expected=0.30, tolerance=0.06, actions=notify)
    mlops.add_alert_rule("scoring latency", kind="latency_p95", model="credit-risk", sla_ms=500, actions=notify)
    mlops.set_retraining("credit-risk", notebook=Path(__file__).with_name(RETRAINING_NOTEBOOK), parameters={"C": 0.5})
    d.as_user("ada")
    s["retrainer_token"] = mlops.issue_token("retrain-bot", expires_days=30)
    return ("alert rules: 4 on credit-risk by eli (drift share >= 0.2 retrains it); its training notebook named; "
            "a token for retrain-bot")


def economy_shift(d: Demo, s: dict[str, Any]) -> str:
    """Months of applicants after the economy turns (economy.py): pat's job scores each month with the
    production version, dated in its month, and logs the month's defaults; the monitor job (eli's
    `mlops.monitor`, as cron would run `mlops monitor run`) evaluates after each month, with
    retrain-bot's token in its environment. Drift crosses the rule, its alert fires once and retrains
    credit-risk headless; August arrives re-encoded and is refused; the default rate creeps up."""
    import mlops_nb as mlops
    from mlops_nb.config import environment_set
    from mlops_nb.demo import economy
    from mlops_nb.services.monitoring.scoring import ScoringWarning

    fired: list[str] = []
    with environment_set(MLOPS_TOKEN=s["retrainer_token"]):  # the monitor job's environment: who retraining runs as
        d.as_user("pat")
        live = mlops.load_model("credit-risk", stage="production")
        for month in SHIFTED_MONTHS:
            d.as_user("pat")
            applicants = economy.applicants(month)
            batch = economy.reencoded(applicants) if month == REENCODED_MONTH else applicants
            try:
                with warnings.catch_warnings(), live.recorded_at(month_end(month)):
                    warnings.simplefilter("ignore", ScoringWarning)  # larger loans: out_of_range, recorded
                    live.predict_proba(batch)
                defaulted = economy.outcomes(applicants, month) == "bad"
                mlops.log_outcomes("credit-risk", predictions_id=live.last_batch_id, outcomes=defaulted.to_numpy(),
                                   metrics={"default_rate": float(defaulted.mean())}, recorded_at=month_end(month))
            except mlops.ValidationFailed:  # refused under eli's policy, recorded with its findings
                pass
            d.as_user("eli")
            fired += [f"{alert.rule} ({month})" for alert in mlops.monitor("credit-risk").alerts]
    runs = mlops.retraining_runs("credit-risk").runs
    s["retrained"] = runs[0] if runs else None
    return (f"economy: {len(SHIFTED_MONTHS)} shifted months scored by credit-risk v{live.version} ({REENCODED_MONTH} "
            f"refused: housing re-encoded); alerts: {', '.join(fired) or 'none'}; retraining: "
            + ", ".join(f"{run.status} (v{run.model_version}, its staging request {run.request_id} waits)"
                        for run in runs))


def retrained_release(d: Demo, s: dict[str, Any]) -> str:
    """The retrained version's no-regression gate compares its holdout AUC, measured on shifted
    applicants whose defaults are harder to predict, with v2's on calm data, and fails: eli widens the
    tolerance for the new economy (an audited policy change) and approves it into staging; dana asks
    for production; eli and rita approve it (two people); eli acknowledges the drift alert."""
    import mlops_nb as mlops

    run = s["retrained"]
    if run is None or run.status != "succeeded":
        return "retrained release: no successful retraining run to release"
    d.as_user("eli")
    mlops.set_policy("credit-risk", no_regression={"metric": "roc_auc", "tolerance": 0.1})
    mlops.approve(run.request_id, comment="retrained on the shifted months by its notebook; staging first")
    promote(d, "credit-risk", run.model_version, "production", requester="dana",
            reason=f"retrained after the economy shifted (retraining run {run.id})",
            approvals=[("eli", "gates pass; drift alert acknowledged"), ("rita", "default rate back in range")])
    for alert in mlops.alerts("credit-risk", status="open").rows:
        if alert.rule == "economy drift":
            mlops.acknowledge_alert(alert.id, note=f"retrained: v{run.model_version} in production")
    return (f"retrained release: no-regression tolerance widened by eli; credit-risk v{run.model_version} approved "
            f"into production by eli and rita; the drift alert acknowledged")


CHAPTERS: tuple[Callable[[Demo, dict[str, Any]], str], ...] = (
    baseline, policies, first_release, lr_sweep, second_release, rollback, boosting, refresh, forests,
    consistency, alert_rules, economy_shift, retrained_release)


def summarize(logins: list[Login], started: float) -> Summary:
    """What the store holds now, read back through the public API (as the logged-in demo user)."""
    import mlops_nb as mlops

    runs = mlops.runs().rows
    requests = mlops.requests().requests
    trail = mlops.audit_trail(action="model.rollback", verify=True)
    return Summary(project=PROJECT, logins=logins, runs=dict(Counter(r["status"] for r in runs)),
                   experiments=sorted({r["experiment"] for r in runs}),
                   versions={name: len(mlops.models(name).rows) for name in MODELS},
                   requests=dict(Counter(r.status for r in requests)), rollbacks=len(trail.events),
                   audit_verified=trail.verified, seconds=time.perf_counter() - started)


def build(db_url: str, *, artifact_root: str | None = None, code_dir: Path | None = None,
          progress: Callable[[str], None] = lambda line: None,
          chapters: tuple[Callable[[Demo, dict[str, Any]], str], ...] = CHAPTERS) -> Summary:
    """Fill the empty store at `db_url` with the demo's history; `progress` gets one line per step.
    `chapters`: the story's CHAPTERS unless given (portfolio.build adds the other teams' after them).

    `code_dir` is where the training script is copied (default: beside a SQLite store, else under
    MLOPS_HOME/demo); `artifact_root` as for `mlops.init` (default: MLOPS_ARTIFACT_ROOT, else
    MLOPS_HOME/artifacts).

    Raises:
        Conflict: the store holds projects or users already (nothing is changed).
        MlopsError: a step the services refuse (a bug in the demo: the message names it).
    """
    from threadpoolctl import threadpool_limits

    from mlops_nb.api.connect import open_store
    from mlops_nb.api.context import set_current
    from mlops_nb.config import Settings, redact_url
    from mlops_nb.store.db import normalize_url, sqlite_path

    started = time.perf_counter()
    url = normalize_url(db_url)
    engine = open_store(url)
    check_empty(engine)
    progress(f"store: {redact_url(url)} is empty; building the credit-scoring history")
    logins = add_users(engine)
    progress(f"users: {len(logins)} added by the operator, each role at least once, with random passwords")
    if code_dir is None:
        path = sqlite_path(url) if url.startswith("sqlite") else None
        code_dir = path.parent if path is not None else Settings.from_env().home / "demo"
    demo = Demo(url, artifact_root, logins, load_script(code_dir))
    state: dict[str, Any] = {}
    try:
        # the data is small: one BLAS/OpenMP thread fits it faster than threads that spin waiting
        with threadpool_limits(limits=1):
            for chapter in chapters:
                progress(chapter(demo, state))
        return summarize(logins, started)
    finally:
        set_current(None)  # the last demo user's login is not left behind in this process
