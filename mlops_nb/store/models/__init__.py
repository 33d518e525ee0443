"""SQLModel tables, one module per domain. Times are UTC epoch seconds (floats): portable across
SQLite and PostgreSQL and cheap on the metric hot path."""
from mlops_nb.store.models.alerts import (
    Alert,
    AlertAction,
    AlertRule,
    MonitorCursor,
    MonitorLock,
    RetrainingConfig,
    RetrainingRun,
)
from mlops_nb.store.models.audit import AuditEvent, AuditHead
from mlops_nb.store.models.data import FeatureDefinition, RunFeature, ValidationRecord
from mlops_nb.store.models.identity import ApiToken, User
from mlops_nb.store.models.monitoring import DriftColumn, DriftRecord, DriftReference, Outcome, ScoringBatch
from mlops_nb.store.models.registry import (
    Approval,
    ModelVersion,
    Policy,
    PromotionRequest,
    RegisteredModel,
    StageChange,
    TrustedType,
)
from mlops_nb.store.models.scorecards import Attestation, ScorecardSetting, ScorecardSnapshot
from mlops_nb.store.models.tracking import (
    Artifact,
    DatasetVersion,
    Experiment,
    LatestMetric,
    Metric,
    Param,
    Project,
    Run,
    RunInput,
    Tag,
)

__all__ = ["Approval", "AuditEvent", "AuditHead", "ModelVersion", "Policy", "PromotionRequest",
           "RegisteredModel", "StageChange", "TrustedType", "ApiToken", "Artifact", "DatasetVersion", "Experiment", "LatestMetric", "Metric", "Param",
           "Project", "Run", "RunInput", "Tag", "User", "FeatureDefinition", "RunFeature",
           "ValidationRecord", "Outcome", "ScoringBatch", "DriftColumn", "DriftRecord", "DriftReference",
           "Alert", "AlertAction", "AlertRule", "MonitorCursor", "MonitorLock", "RetrainingConfig", "RetrainingRun",
           "Attestation", "ScorecardSetting", "ScorecardSnapshot"]
