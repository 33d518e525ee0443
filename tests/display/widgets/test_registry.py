"""The registry panel: what it shows for a version, that it escapes user text, and what a click does."""
from __future__ import annotations

import pytest

import mlops_nb as mlops
from mlops_nb.display.widgets import registry_panel
from tests.factories import fit_credit_model, without_styles


@pytest.fixture()
def store(sqlite_url, tmp_path):
    """The panel's store, with dana logged in (requesting promotion needs proof)."""
    from mlops_nb.services import identity
    from mlops_nb.store.db import get_engine, session_scope
    from mlops_nb.store.migrate import ensure_schema

    ensure_schema(get_engine(sqlite_url))
    with session_scope(get_engine(sqlite_url)) as session:
        identity.add_user(session=session, actor=identity.OPERATOR, name="dana", role="data_scientist", password="dana-secret-1")
    return mlops.init(project="panel", db_url=sqlite_url, user="dana", password="dana-secret-1",
                      artifact_root=str(tmp_path / "artifacts"))


@pytest.fixture()
def registered(store, credit):
    """Two versions of 'credit' from one run whose params include HTML."""
    with mlops.start_run(experiment="credit", name="lr <run>") as run:
        dataset = mlops.log_dataset(credit, name="german", role="train")
        mlops.log_params({"note": "<b>bold</b>", "C": 0.1})
        mlops.log_metric("roc_auc", 0.79)
        a = mlops.register_model(fit_credit_model(credit, C=0.1)[0], name="credit", target="creditability")
        b = mlops.register_model(fit_credit_model(credit, C=9.0)[0], name="credit", target="creditability")
    return run, dataset, a, b


def test_panel_shows_the_newest_version_with_its_lineage(registered):
    run, dataset, a, b = registered
    panel = registry_panel()
    assert panel.model_picker.options == ("credit",) and panel.model == "credit"
    assert panel.version_picker.options == (("v2 · none", 2), ("v1 · none", 1))
    assert panel.version.version == 2 and panel.run_name == "lr <run>"
    shown = panel.lineage.value
    assert "Model credit v2 · none" in shown
    shown = without_styles(shown)
    assert f"<td>run id</td><td title='{run.id}'>{run.id[:8]}</td>" in shown  # the full id as tooltip
    assert "<td>run name</td><td>lr &lt;run&gt;</td>" in shown
    assert "<td>dataset</td><td>german v1 · 1000 rows</td>" in shown
    assert f"<td>dataset fingerprint</td><td title='{dataset.fingerprint}'>{dataset.fingerprint[:16]}</td>" in shown
    assert "<td>C</td><td>0.1</td>" in shown
    assert "<td>roc_auc</td><td>0.79</td>" in shown
    assert f"<td>sha256</td><td title='{b.sha256}'>{b.sha256[:16]}</td>" in shown
    assert "credit v2</b> · stage <b>none</b>" in panel.gates.value  # the stage leads the decision
    for field in ("git commit", "code hash", "python"):
        assert f"<td>{field}</td>" in shown
    assert "<td>scikit-learn</td>" in shown


def test_panel_escapes_a_param_value_holding_html(registered):
    panel = registry_panel("credit")
    assert "<td>note</td><td>&lt;b&gt;bold&lt;/b&gt;</td>" in without_styles(panel.lineage.value)
    assert "<b>bold" not in panel.lineage.value


def test_choosing_a_version_shows_it_and_the_gates_it_would_face(registered):
    panel = registry_panel("credit")
    panel.version_picker.value = 1
    assert panel.version.version == 1 and "Model credit v1 · none" in panel.lineage.value
    assert panel.target.value == "staging" and panel.latest_request is None
    assert [(g["name"], g["passed"]) for g in panel.preview] == [("lineage_complete", True)]
    assert "No promotion request for this version yet" in panel.gates.value
    assert "Gates for staging now" in panel.gates.value
    panel.target.value = "production"
    assert ("staging_before_production", False) in [(g["name"], g["passed"]) for g in panel.preview]
    assert "version 1 is in none, not staging: promote it to staging first" in panel.gates.value
    assert len(mlops.requests()) == 0  # previewing records nothing


def test_click_requests_promotion_and_shows_its_id_and_status(registered):
    panel = registry_panel("credit")
    panel.version_picker.value = 1
    panel.target.value = "staging"
    panel.reason.value = "beats <v2> on AUC"
    panel.request_button.click()
    (made,) = mlops.requests()
    assert (made.model, made.version, made.target_stage, made.reason) == ("credit", 1, "staging", "beats <v2> on AUC")
    assert panel.result.id == made.id and panel.error is None
    assert f"Promotion request <b>{made.id}</b> · pending" in panel.status.value
    assert "waiting for 1 ml_engineer" in panel.status.value
    assert panel.latest_request.id == made.id and panel.version.version == 1
    assert f"Gates of request {made.id} (to staging, pending, by dana)" in panel.gates.value
    assert panel.reason.value == ""


def test_a_refused_request_shows_the_error_in_the_panel(registered):
    panel = registry_panel("credit")
    panel.reason.value = "   "
    panel.request_button.click()
    assert panel.result is None and "reason is required" in panel.error
    assert "reason is required, e.g. reason=&#x27;beats v2 on AUC&#x27;" in panel.status.value
    assert len(mlops.requests()) == 0


def test_the_error_text_is_escaped(registered, monkeypatch):
    def refuse(name, **kwargs):
        raise mlops.PermissionDenied("user <i>x</i> may not request")

    monkeypatch.setattr(mlops, "request_promotion", refuse)
    panel = registry_panel("credit")
    panel.reason.value = "r"
    panel.request_promotion()
    assert "user &lt;i&gt;x&lt;/i&gt; may not request" in panel.status.value and "<i>x" not in panel.status.value


def test_a_version_in_staging_defaults_to_production_and_shows_its_request(registered, sqlite_url):
    req = mlops.request_promotion("credit", version=2, to="staging", reason="ready")
    from mlops_nb.services import identity
    from mlops_nb.store.db import get_engine, session_scope

    with session_scope(get_engine(sqlite_url)) as session:
        identity.add_user(session=session, actor=identity.OPERATOR, name="ed", role="ml_engineer", password="ed-secret-1")
    mlops.init(project="panel", db_url=sqlite_url, user="ed", password="ed-secret-1")
    mlops.approve(req.id)
    panel = registry_panel("credit")
    assert panel.version_picker.options[0] == ("v2 · staging", 2)
    assert panel.target.value == "production" and panel.latest_request.status == "approved"
    assert f"Gates of request {req.id} (to staging, approved, by dana)" in panel.gates.value
    assert "Gates for production now" in panel.gates.value


def test_choosing_another_model_lists_its_versions(registered, credit):
    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(credit, name="german")
        mlops.register_model(fit_credit_model(credit)[0], name="other", target="creditability")
    panel = registry_panel("credit")
    panel.model_picker.value = "other"
    assert panel.version_picker.options == (("v1 · none", 1),)
    assert panel.version.name == "other" and "Model other v1" in panel.lineage.value


def test_panel_of_an_unknown_model_is_not_found(registered):
    with pytest.raises(mlops.NotFound, match="model 'nope' is not registered in this project; models: credit"):
        registry_panel("nope")


def test_panel_without_models_says_how_to_register_one(store):
    panel = registry_panel()
    assert "No registered models yet" in panel.lineage.value and panel.request_button.disabled
    assert panel.version is None


def test_a_version_that_cannot_be_read_is_raised_when_opening_and_shown_once_open(registered, monkeypatch):
    read = mlops.get_model_version

    def gone(name, version=None, stage=None):
        if version == 1:
            raise mlops.NotFound("model 'credit' has no version 1; versions are 2")
        return read(name, version, stage)

    monkeypatch.setattr(mlops, "get_model_version", gone)
    panel = registry_panel("credit")
    panel.version_picker.value = 1
    assert panel.version.version == 2  # the panel keeps what it showed
    assert panel.error == "model 'credit' has no version 1; versions are 2"
    assert "has no version 1" in panel.status.value
    monkeypatch.setattr(mlops, "get_model_version", lambda *a, **k: (_ for _ in ()).throw(mlops.NotFound("gone")))
    with pytest.raises(mlops.NotFound, match="gone"):
        registry_panel("credit")
