"""What a maturity scorecard is, as plain data (SPEC §3, §4 `Scorecard`): the three phases' criteria,
each computed from the store's evidence, and Google's ML Test Score as a second lens.

The catalogues here (CRITERIA, ML_TESTS, BANDS, DEFAULT_SETTINGS) are the one place the scorecard's
vocabulary is defined; services.monitoring.scorecards computes the statuses, mlops_nb.display and
the console show the same records.

    card = scorecard(session=s, project_id=1, model="credit-risk")
    card.phase, [c.status for c in card.criteria], card.ml_test_score.final, card.to_frame()

ML Test Score arithmetic (Breck et al., "The ML Test Score: A Rubric for ML Production Readiness and
Technical Debt Reduction", IEEE Big Data 2017, section III): each of the 28 tests scores 0; 0.5 when
done by hand (here: a recorded attestation that has not expired); 1 when automated and run
repeatedly (here: evidence in the store). A section's score is the sum of its seven tests; the final
score is the minimum of the four sections' scores, read against the paper's Table I bands.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("pass", "partial", "fail")
PHASES = {1: "Foundational", 2: "Automated", 3: "Advanced"}


@dataclass(frozen=True)
class CriterionSpec:
    """One criterion of SPEC §3's phase table: its phase, name (snake_case, stable), title (SPEC's
    words) and the rule it is checked by, in words (docs/scorecards.md repeats it)."""

    phase: int
    name: str
    title: str
    rule: str


CRITERIA: tuple[CriterionSpec, ...] = (
    CriterionSpec(1, "runs_tracked", "Runs tracked with params and metrics",
                  "finished runs record at least one param and one metric"),
    CriterionSpec(1, "models_registered", "Models registered and versioned",
                  "at least one model version is registered"),
    CriterionSpec(1, "lineage_complete", "Every registered version links to dataset, code and params",
                  "each version not archived names its training dataset version, a code reference and params"),
    CriterionSpec(1, "standard_format", "Models stored in a standard format with a signature",
                  "each version not archived is stored in a known flavor with an input signature"),
    CriterionSpec(2, "promotion_policy", "Promotion policy with gates in force",
                  "a policy set for the model (or the project) adds a quality gate (metric thresholds or "
                  "no regression) to the defaults"),
    CriterionSpec(2, "data_validated", "Training data validated before registration",
                  "each version in staging or production had its training dataset pass validation "
                  "before it was registered, or passed a data_validated gate"),
    CriterionSpec(2, "staging_before_production", "Staging before production",
                  "each production version was in staging before production"),
    CriterionSpec(2, "prediction_monitoring", "Prediction distributions monitored for production models",
                  "each production version has monitored scoring batches (a prediction profile) within "
                  "the monitoring window"),
    CriterionSpec(3, "drift_on_schedule", "Drift reports on a schedule for production models",
                  "each production version has a drift report made by `mlops monitor run` within the drift window"),
    CriterionSpec(3, "retraining_triggers", "Retraining triggers configured and fired",
                  "a retraining notebook is set and a rule with a retrain action covers the model, and a "
                  "retraining run started by an alert within the retraining window"),
    CriterionSpec(3, "versioned_features", "Features served from versioned definitions",
                  "each production version names the feature definitions it was trained with"),
    CriterionSpec(3, "sla_met", "SLAs defined and met",
                  "an enabled latency_p95 rule covers the model and the p95 latency of its production "
                  "batches within the monitoring window is within it"),
)
CRITERION_NAMES = tuple(c.name for c in CRITERIA)

SECTIONS = ("data", "model", "infrastructure", "monitoring")


@dataclass(frozen=True)
class TestSpec:
    """One of the ML Test Score's 28 tests: `key` "section.number" (e.g. "data.1"), the paper's
    title, and `evidence`: what in the store makes it automated (None: attestation only)."""

    __test__ = False  # not a pytest test class

    section: str
    number: int
    title: str
    evidence: str | None

    @property
    def key(self) -> str:
        """"section.number", e.g. "data.1"."""
        return f"{self.section}.{self.number}"


ML_TESTS: tuple[TestSpec, ...] = (
    TestSpec("data", 1, "Feature expectations are captured in a schema",
             "the training dataset has a schema and scoring validates against it"),
    TestSpec("data", 2, "All features are beneficial", None),
    TestSpec("data", 3, "No feature's cost is too much", None),
    TestSpec("data", 4, "Features adhere to meta-level requirements", None),
    TestSpec("data", 5, "The data pipeline has appropriate privacy controls", None),
    TestSpec("data", 6, "New features can be added quickly", None),
    TestSpec("data", 7, "All input feature code is tested", None),
    TestSpec("model", 1, "Model specs are reviewed and submitted",
             "the production version passed an approved request with a comment"),
    TestSpec("model", 2, "Offline and online metrics correlate",
             "outcomes logged for the production version beside an offline metric of the same name"),
    TestSpec("model", 3, "All hyperparameters have been tuned",
             "the version's experiment holds a sweep (at least sweep_min_runs runs with params)"),
    TestSpec("model", 4, "The impact of model staleness is known", None),
    TestSpec("model", 5, "A simpler model is not better",
             "a baseline run (tag baseline=true) in the experiment and a no-regression gate in force"),
    TestSpec("model", 6, "Model quality is sufficient on important data slices",
             "slice metrics (key metric/slice) on the version and a threshold gate on one of them"),
    TestSpec("model", 7, "The model is tested for considerations of inclusion", None),
    TestSpec("infrastructure", 1, "Training is reproducible",
             "complete lineage: data fingerprint, code reference, params and environment"),
    TestSpec("infrastructure", 2, "Model specs are unit tested", None),
    TestSpec("infrastructure", 3, "The ML pipeline is integration tested",
             "a retraining notebook run that succeeded"),
    TestSpec("infrastructure", 4, "Model quality is validated before serving",
             "metric threshold gates in force and passed by the production version's request"),
    TestSpec("infrastructure", 5, "The model is debuggable", None),
    TestSpec("infrastructure", 6, "Models are canaried before serving",
             "the production version was in staging and scored batches there"),
    TestSpec("infrastructure", 7, "Serving models can be rolled back",
             "a rollback recorded for the model"),
    TestSpec("monitoring", 1, "Dependency changes result in notification",
             "the policy refuses to load a version in another environment (env_mismatch: refuse)"),
    TestSpec("monitoring", 2, "Data invariants hold for inputs",
             "scoring batches validated and a validation alert rule (or the defaults) in force"),
    TestSpec("monitoring", 3, "Training and serving are not skewed",
             "production scoring batches evaluated by `mlops monitor run` within the monitoring window"),
    TestSpec("monitoring", 4, "Models are not too stale", "an enabled model_age rule covers the model"),
    TestSpec("monitoring", 5, "Models are numerically stable",
             "non-finite predictions counted in the batches' prediction profiles and an alert rule watching them"),
    TestSpec("monitoring", 6, "Computing performance has not regressed", "an enabled latency_p95 rule covers the model"),
    TestSpec("monitoring", 7, "Prediction quality has not regressed", "an enabled outcome_metric rule covers the model"),
)
TEST_KEYS = tuple(t.key for t in ML_TESTS)

# The paper's Table I: (upper bound of the final score, its reading); a score above every bound is the last.
BANDS: tuple[tuple[float, str], ...] = (
    (0.0, "More of a research project than a productionized system."),
    (1.0, "Not totally untested, but it is worth considering the possibility of serious holes in reliability."),
    (2.0, "There's been first pass at basic productionization, but additional investment may be needed."),
    (3.0, "Reasonably tested, but it's possible that more of those tests and procedures may be automated."),
    (5.0, "Strong levels of automated testing and monitoring, appropriate for mission-critical systems."),
    (float("inf"), "Exceptional levels of automated testing and monitoring."),
)
BAND_LABELS = ("0", "(0, 1]", "(1, 2]", "(2, 3]", "(3, 5]", "> 5")

DEFAULT_SETTINGS: dict[str, float] = {
    "monitoring_window_days": 30,  # scoring batches, latency and monitor evaluations count this far back
    "drift_max_age_days": 7,  # a production model's newest monitor drift report may be this old
    "retraining_window_days": 90,  # a retraining trigger must have fired this recently
    "sweep_min_runs": 3,  # runs with params in an experiment that make a sweep (model.3)
    "attestation_days": 180,  # an attestation's default life
    "attestation_max_days": 730,  # the longest life an attestation may be given
}


@dataclass(frozen=True)
class Evidence:
    """One record that proves (or, for a failing criterion, shows the gap in) a criterion or test.

    `kind` names the record's table: run, model_version, dataset_version, request, stage_change,
    policy, validation, batch, outcome, drift_report, alert_rule, alert, retraining_run, attestation;
    `id` its key (a run id or batch id is text, the rest integers); `label` what a person reads
    ("credit-risk v5", "run 3f2a9c1e (lr-sweep)"); `model`/`version` the model version it concerns;
    `at` the record's time (epoch s) where it has one."""

    kind: str
    id: str | int
    label: str
    model: str | None = None
    version: int | None = None
    at: float | None = None


@dataclass
class Criterion:
    """One criterion's verdict: SPEC §4's `phase`, `name`, `status` (pass, partial, fail), `evidence`
    (Evidence records: the proof, or the records that fall short) and `next_step` (one line; empty
    when it passes), with `title` (SPEC's words) and `detail` (what was found, one line: "3 of 4
    production versions have a drift report within 7 days")."""

    phase: int
    name: str
    title: str
    status: str
    detail: str
    evidence: list[Evidence] = field(default_factory=list)
    next_step: str = ""


@dataclass
class TestResult:
    """One ML Test Score test for one scorecard: `score` 1 (automated: `evidence` shows it), 0.5
    (attested: `attestation` is the attestation that holds), or 0; `how` "automated", "attested" or
    "none"; `next_step` says how to earn it (empty at 1)."""

    __test__ = False

    key: str
    section: str
    number: int
    title: str
    score: float
    how: str
    detail: str
    evidence: list[Evidence] = field(default_factory=list)
    attestation: dict[str, Any] | None = None  # {"id", "by", "at", "expires_at", "note"}
    next_step: str = ""


@dataclass
class MLTestScore:
    """The ML Test Score: the 28 `tests` (TestResult, in ML_TESTS order), each section's sum
    (`sections`, 0-7), `final` = the minimum over the sections, and its band (`band`: BAND_LABELS'
    label, `band_text`: the paper's reading)."""

    tests: list[TestResult]
    sections: dict[str, float]
    final: float
    band: str
    band_text: str

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per test: key, section, title, score, how, detail, next_step."""
        import pandas as pd

        columns = ["key", "section", "title", "score", "how", "detail", "next_step"]
        return pd.DataFrame([[getattr(t, c) for c in columns] for t in self.tests], columns=columns)


@dataclass
class Scorecard:
    """A project's or one model's maturity (SPEC §3, §4).

    `phase` is cumulative: the highest N (0-3) such that every criterion of phases 1..N passes (0
    when a Phase 1 criterion does not); `criteria` the 12 Criterion verdicts in CRITERIA order;
    `ml_test_score` the second lens; `project`, `model` (None for a project's card), `version` (the
    model's production version, if any), `as_of` the time computed for (epoch s), `settings` the
    thresholds and windows used; a project's card lists its models' cards in `models` (each
    registered model; production ones first)."""

    project: str
    model: str | None
    version: int | None
    as_of: float
    phase: int
    criteria: list[Criterion]
    ml_test_score: MLTestScore
    settings: dict[str, float]
    models: list[Scorecard] = field(default_factory=list)

    @property
    def phase_name(self) -> str:
        """"Foundational", "Automated", "Advanced", or "Not yet foundational" at phase 0."""
        return PHASES.get(self.phase, "Not yet foundational")

    def criterion(self, name: str) -> Criterion:
        """The criterion named `name`. Raises KeyError for a name not in CRITERION_NAMES."""
        for c in self.criteria:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per criterion: phase, name, title, status, detail, evidence
        (the evidence labels joined by "; "), next_step."""
        import pandas as pd

        columns = ["phase", "name", "title", "status", "detail", "evidence", "next_step"]
        return pd.DataFrame([[c.phase, c.name, c.title, c.status, c.detail, "; ".join(e.label for e in c.evidence),
                              c.next_step] for c in self.criteria], columns=columns)


def phase_of(criteria: list[Criterion]) -> int:
    """The highest N such that every criterion of phases 1..N passes; 0 when a Phase 1 criterion does not."""
    phase = 0
    for n in sorted(PHASES):
        if all(c.status == "pass" for c in criteria if c.phase == n):
            phase = n
        else:
            break
    return phase


def band_of(final: float) -> tuple[str, str]:
    """(label, reading) of the paper's band for a final ML Test Score (BANDS: 0; up to 1; up to 2;
    up to 3; up to 5; above 5)."""
    for (upper, text), label in zip(BANDS, BAND_LABELS):
        if final <= upper:
            return label, text
    return BAND_LABELS[-1], BANDS[-1][1]  # unreachable: the last bound is infinite


def ml_test_score(tests: list[TestResult]) -> MLTestScore:
    """Section sums, the final score (the minimum over the four sections) and its band, from the 28
    scored tests. Raises ValueError when `tests` is not one result per ML_TESTS key."""
    if sorted(t.key for t in tests) != sorted(TEST_KEYS):
        raise ValueError(f"an ML Test Score needs one result for each of the {len(TEST_KEYS)} tests")
    sections = {s: float(sum(t.score for t in tests if t.section == s)) for s in SECTIONS}
    final = min(sections.values())
    band, text = band_of(final)
    order = {k: i for i, k in enumerate(TEST_KEYS)}
    return MLTestScore(tests=sorted(tests, key=lambda t: order[t.key]), sections=sections, final=final,
                       band=band, band_text=text)
