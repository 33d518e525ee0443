"""The demo's portfolio: two more teams beside the credit team, each as far along as its habits take it,
and the credit model's week, so the Scorecards page has three projects at three phases to compare.

- `deposits` (omar): runs tracked with params and metrics, two versions of saver-propensity registered
  with their lineage and signature, and nothing more: no policy, nothing promoted. Foundational.
- `loan-routing` (dana, eli, rita, pat): car-desk, a router of car-loan applications, with a policy that
  adds a quality gate to validated training data, staging then production, and scored weekly over
  the last four weeks. Automated; no latency rule yet, so "SLAs defined and met" is the gap an
  ml_engineer or admin closes (`mlops.add_alert_rule(..., kind="latency_p95", ...)`).
- `credit` this week (dana, eli, rita, pat): credit-risk v6 adds the credit team's versioned
  monthly_burden feature, goes through staging into production, scores this week's applicants, and
  the monitor job checks them (drift within the week, the latency SLA). With the retraining the
  economy's drift fired, that is Advanced.

Every step is done through the public API by a demo user logged in with their password, as in
story.py; `build` here runs the story's chapters, then these. The story's scoring was replayed into the
months of 2024; these chapters date theirs into the last four weeks, ending now, so the windows a
scorecard counts (30 days of monitoring, a drift report within 7 days) see them. For the trend, each
chapter snapshots every scorecard as the store stands when it ends (trigger "demo"), dated a week
apart ending now: after the credit story (3 weeks ago), deposits (2), loan-routing (1), and the
credit week with its reviews (now). `mlops monitor run` snapshots too (trigger "monitor"), at the
real time it runs; rita and max attest two ML Test Score tests done by hand (0.5 each).

    for chapter in CHAPTERS:
        progress(chapter(demo, state))
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from mlops_nb.demo import story
from mlops_nb.demo.story import PROJECT, Demo, Summary, load_script, promote

DEPOSITS = "deposits"
ROUTING = "loan-routing"
TRAINING = "portfolio_training.py"  # the deposits and routing teams' script, copied beside credit_scoring.py
DAY = 86_400.0
WEEK = 7 * DAY
THIS_WEEK_MONTH = "2024-10"  # this week's applicants: the economy as it stands, the shift at full size


def training_script(d: Demo, s: dict[str, Any]) -> ModuleType:
    """portfolio_training.py, copied beside the credit team's script and imported from there (once:
    kept in the chapters' state `s`)."""
    if "training" not in s:
        s["training"] = load_script(Path(str(d.script.__file__)).parent, TRAINING)
    return s["training"]  # type: ignore[no-any-return]  # the state holds Any


def snapshot(weeks_ago: int) -> str:
    """Snapshot every project's and model's scorecard as the store stands now (trigger "demo"), dated
    `weeks_ago` weeks before now, as the story dates its scoring into months: the chapters are a week
    apart on the trend, ending now. Returns the words for the chapter's line."""
    from mlops_nb.api.context import current
    from mlops_nb.services.monitoring.scorecard_history import take_snapshots
    from mlops_nb.store.db import session_scope

    context = current()
    assert context is not None  # a chapter's user is logged in
    now = time.time()
    with session_scope(context.engine) as session:
        written = take_snapshots(session=session, taken_by="demo", trigger="demo", as_of=now,
                                 taken_at=now - weeks_ago * WEEK)
    when = "now" if weeks_ago == 0 else f"dated {weeks_ago} week{'s' if weeks_ago > 1 else ''} ago"
    return f"{written} scorecard snapshots {when}"


def story_so_far(d: Demo, s: dict[str, Any]) -> str:
    """The trend's first point: every scorecard after the credit story (credit's scoring was dated
    in 2024, outside the windows a scorecard counts), dated three weeks ago."""
    return f"trend: the credit story so far, {snapshot(3)}; the next chapters a week apart, ending now"


def deposits(d: Demo, s: dict[str, Any]) -> str:
    """omar, for the deposits team: three runs predicting savers, two of them registered. No policy,
    no promotion: the team tracks and registers, and stops there."""
    ts = training_script(d, s)
    d.project = DEPOSITS
    d.as_user("omar")
    train, holdout = ts.split(ts.labelled("saver"), "saver")
    registered = []
    for name, model, params, register in (
            ("lr-C1", ts.logistic(1.0), {"model": "logistic_regression", "C": 1.0}, True),
            ("lr-C0.1", ts.logistic(0.1), {"model": "logistic_regression", "C": 0.1}, True),
            ("rf-d6", ts.forest(6), {"model": "random_forest", "max_depth": 6, "n_estimators": 40}, False)):
        trained = ts.fit_and_track("propensity", name, model, params, train, holdout, target="saver",
                                   dataset="deposit-applicants", register="saver-propensity" if register else None)
        if trained.version is not None:
            registered.append(f"v{trained.version} (roc_auc {trained.metrics['roc_auc']:.3f})")
    return (f"deposits: 3 runs by omar predicting savers; saver-propensity {' and '.join(registered)} registered "
            f"with lineage and signature; no policy, nothing promoted; {snapshot(2)}")


def loan_routing(d: Demo, s: dict[str, Any]) -> str:
    """dana trains car-desk (car loans to the auto-finance desk); eli's policy adds a roc_auc gate to
    validated training data; it goes through staging into production; pat's job scores a batch of
    applications a week for the last four weeks."""
    import mlops_nb as mlops
    from mlops_nb.services.monitoring.scoring import ScoringWarning

    ts = training_script(d, s)
    d.project = ROUTING
    d.as_user("dana")
    train, holdout = ts.split(ts.labelled("car_loan"), "car_loan")
    ts.fit_and_track("router", "lr-C0.1", ts.logistic(0.1), {"model": "logistic_regression", "C": 0.1},
                     train, holdout, target="car_loan", dataset="routed-applications")
    rf = ts.fit_and_track("router", "rf-d6", ts.forest(6), {"model": "random_forest", "max_depth": 6,
                                                            "n_estimators": 40},
                          train, holdout, target="car_loan", dataset="routed-applications", register="car-desk")
    d.as_user("eli")
    mlops.set_policy("car-desk", metric_thresholds={"roc_auc": ">= 0.60"}, data_validated={"min_rows": 500})
    promote(d, "car-desk", rf.version, "staging", requester="dana", reason="forest beats the linear router",
            approvals=[("eli", "policy gates pass; staging")])
    promote(d, "car-desk", rf.version, "production", requester="dana",
            reason="routes car loans to the auto-finance desk; a person still checks each one",
            approvals=[("eli", "gates pass; engineering ok"), ("rita", "a routing aid, not a credit decision; approved")])
    d.as_user("pat")
    live = mlops.load_model("car-desk", stage="production")
    inputs = ts.xy(holdout, "car_loan")[0]
    now = time.time()
    weeks = 4
    rows = len(inputs) // weeks
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoringWarning)
        for week in range(weeks):
            with live.recorded_at(now - (weeks - 1 - week) * WEEK):
                live.predict_proba(inputs.iloc[week * rows:(week + 1) * rows])
    return (f"loan-routing: car-desk v{rf.version} (roc_auc {rf.metrics['roc_auc']:.3f}) by dana, gated by eli's "
            f"policy, staging then production; {weeks} weekly batches scored by pat, the newest now; no latency "
            f"rule yet; {snapshot(1)}")


def credit_this_week(d: Demo, s: dict[str, Any]) -> str:
    """dana trains credit-risk v6 on the shifted months (June to September) with the credit team's
    monthly_burden v1 as an input; eli and rita approve it through staging into production; pat's
    job scores this week's applicants with it; the monitor job (eli) checks the batch."""
    import mlops_nb as mlops
    from mlops_nb.config import environment_set
    from mlops_nb.demo import economy
    from mlops_nb.services.monitoring.scoring import ScoringWarning

    cs = d.script
    d.project = PROJECT
    d.as_user("ada")  # credit-risk-gbm waits in staging under the default: it gets a quality gate too
    mlops.set_policy(metric_thresholds={"roc_auc": ">= 0.70"})
    shifted = economy.training_frame("2024-06", "2024-09").iloc[len(economy.german_credit()):]
    train, holdout = cs.split(shifted.reset_index(drop=True))
    d.as_user("dana")
    v6 = cs.fit_with_burden("lr-sweep", "lr-C0.5-burden-shifted", cs.logistic(0.5),
                            {"model": "logistic_regression", "C": 0.5, "penalty": "l2", "class_weight": "none",
                             "features": "monthly_burden"}, train, holdout, dataset="credit-shifted",
                            register="credit-risk")
    promote(d, "credit-risk", v6.version, "staging", requester="dana",
            reason="the shifted months alone, with monthly_burden as an input",
            approvals=[("eli", "feature v1 named by the version; staging")])
    promote(d, "credit-risk", v6.version, "production", requester="dana",
            reason=f"roc_auc {v6.metrics['roc_auc']:.3f} on the shifted holdout; burden explains the larger loans",
            approvals=[("eli", "gates pass; scoring computes monthly_burden v1"),
                       ("rita", "monthly burden reads well in adverse-action notices; approved")])
    d.as_user("pat")
    live = mlops.load_model("credit-risk", stage="production")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoringWarning)
        live.predict_proba(economy.applicants(THIS_WEEK_MONTH))
    d.as_user("eli")
    with environment_set(MLOPS_TOKEN=s["retrainer_token"]):  # the monitor job's environment, as before
        checked = mlops.monitor("credit-risk")
    fired = ", ".join(alert.rule for alert in checked.alerts) or "no alert"
    return (f"credit this week: ada's project default adds roc_auc >= 0.70; credit-risk v{v6.version} with monthly_burden v1 through staging into production "
            f"(eli, rita); this week's {len(economy.applicants(THIS_WEEK_MONTH))} applicants scored by pat; the "
            f"monitor checked them: {len(checked.reports)} drift report, {fired}")


def reviews(d: Demo, s: dict[str, Any]) -> str:
    """Two tests of the ML Test Score the store cannot see are done by hand, and attested with a
    note saying where the record is: rita (reviewer) the feature ablation, max (manager) the privacy
    review. Each scores 0.5 until it expires (180 days). Then the trend's last point, now."""
    import mlops_nb as mlops

    d.project = PROJECT
    d.as_user("rita")
    mlops.attest("data.2", note="ablation on credit-risk v6's holdout: dropping any one input lowers roc_auc; "
                                "notebook reviews/ablation-v6.ipynb")
    d.as_user("max")
    mlops.attest("data.5", note="privacy review with the DPO: applicants pseudonymised before training, the "
                                "sample artifacts hold no names; record DPO-2026-41")
    return f"reviews: rita attests data.2 (features beneficial), max data.5 (privacy controls); {snapshot(0)}"


def phases(engine: Any) -> dict[str, str]:
    """{project: "N Name"} for every project of the store, highest phase first (then by name): what
    each project's scorecard says now (services.monitoring.scorecards)."""
    from mlops_nb.services.monitoring import scorecards
    from mlops_nb.store.db import session_scope

    with session_scope(engine) as session:
        cards = scorecards.portfolio(session=session)
    return {card.project: f"{card.phase} {card.phase_name}" for card in sorted(cards, key=lambda c: -c.phase)}


CHAPTERS: tuple[Callable[[Demo, dict[str, Any]], str], ...] = (story_so_far, deposits, loan_routing,
                                                                  credit_this_week, reviews)


def build(db_url: str, *, artifact_root: str | None = None, code_dir: Path | None = None,
          progress: Callable[[str], None] = lambda line: None) -> Summary:
    """The whole demo: story.build with the credit story's chapters, then these; the Summary names
    each project's phase (`phases`). What `mlops demo` runs (mlops_nb.demo.build).

    Raises:
        Conflict: the store holds projects or users already (nothing is changed).
        MlopsError: a step the services refuse (a bug in the demo: the message names it).
    """
    from mlops_nb.store.db import get_engine, normalize_url

    summary = story.build(db_url, artifact_root=artifact_root, code_dir=code_dir, progress=progress,
                          chapters=(*story.CHAPTERS, *CHAPTERS))
    summary.phases = phases(get_engine(normalize_url(db_url)))
    return summary
