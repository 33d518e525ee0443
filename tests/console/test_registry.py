"""The Registry page: models, versions, a version's lineage, who was champion when, and rollback."""
from __future__ import annotations

import re

from sqlalchemy import select

from mlops_nb.console import ui
from mlops_nb.services import identity, tracking
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.models import AuditEvent, DatasetVersion, ModelVersion
from tests import factories as g

XSS = "<img src=x onerror=alert(1)>"
CHAMPIONS = (("rita", "v1 passes the gates"), ("max", "v2 beats v1 on AUC"), ("ada", "v3 retrained on May data"))


def _credit_model(url: str, name: str = "credit-risk") -> dict[int, str]:
    """Model `name` in project `credit` with three versions, each promoted to production in turn by
    the people of CHAMPIONS; each version's params say its C. Returns {version: dataset fingerprint}."""
    with session_scope(get_engine(url)) as s:
        pid = tracking.get_or_create_project(session=s, name="credit").id
        model = g.model(s, pid, name)
        fingerprints = {}
        for number, (actor, reason) in enumerate(CHAMPIONS, start=1):
            row = g.version(s, model, metrics={"auc": 0.7 + number / 100})
            row.params = {"C": str(number / 10), "penalty": "l2"}
            s.add(row)
            g.move_stage(s, row, "production", actor=actor, reason=reason)
            fingerprints[number] = s.get(DatasetVersion, row.dataset_version_id).fingerprint
        return fingerprints


def _registry(logged_in, name: str):
    at = logged_in(name)
    at.switch_page("views/registry.py")
    at = at.run()
    assert not at.exception, at.exception
    return at


def _stages(url: str) -> dict[int, str]:
    with session_scope(get_engine(url)) as s:
        return dict(s.execute(select(ModelVersion.version, ModelVersion.stage)).all())


def _table(at, first_column: str):
    """The first table whose first column is `first_column`, as a DataFrame."""
    return next(d.value for d in at.dataframe if list(d.value.columns)[:1] == [first_column])


def _champions(at):
    return next(d.value for d in at.dataframe if "Put there by" in d.value.columns)


def _start_rollback(at, name: str, reason: str):
    at.text_area(key=f"registry.rollback.reason.{name}").input(reason)
    at = at.button(key=f"registry.rollback.start.{name}").click().run()
    assert not at.exception, at.exception
    return at


def test_no_models_yet_shows_the_notebook_lines_that_register_one(console_store, logged_in):
    at = _registry(logged_in, "rita")
    assert [t.value for t in at.title] == ["Registry"]
    assert "No models in project credit yet" in at.info[0].value
    assert "mlops.register_model(pipe, name=\"credit-risk\"" in at.code[0].value


def test_a_versions_lineage_shows_its_dataset_fingerprint_and_params(console_store, logged_in):
    fingerprints = _credit_model(console_store)
    at = _registry(logged_in, "rita")
    models = at.dataframe(key="registry.models_table").value
    assert models.to_dict("records")[0] | {"Last change": ""} == {
        "Model": "credit-risk", "Production": "v3", "Staging": "-", "Latest": "v3", "Versions": 3, "Last change": ""}
    assert at.selectbox(key="registry.version.credit-risk").value == 3  # the newest first
    at = at.selectbox(key="registry.version.credit-risk").set_value(2).run()
    assert [s.value for s in at.subheader] == ["Lineage of v2"]
    assert fingerprints[2] in [c.value for c in at.code]
    params = _table(at, "Param")
    assert dict(zip(params["Param"], params["Value"])) == {"C": "0.2", "penalty": "l2"}
    metrics = _table(at, "Metric")
    assert dict(zip(metrics["Metric"], metrics["Value"])) == {"auc": "0.72"}
    assert any("Experiment:** gov" in m.value for m in at.markdown)


def test_stage_history_lists_who_was_champion_when(console_store, logged_in):
    _credit_model(console_store)
    at = _registry(logged_in, "rita")
    champions = _champions(at)
    assert list(champions["Version"]) == ["v3", "v2", "v1"]
    assert list(champions["Put there by"]) == ["ada", "max", "rita"]
    assert list(champions["Why"]) == [reason for _, reason in reversed(CHAMPIONS)]
    assert list(champions["Until"])[0] == "now" and list(champions["Ended by"]) == ["", "ada", "max"]


def test_a_reviewer_is_offered_no_rollback(console_store, logged_in):
    _credit_model(console_store)
    at = _registry(logged_in, "rita")
    assert "Roll back production" not in [e.label for e in at.expander]


def test_rollback_by_an_ml_engineer_with_a_reason_restores_the_previous_version_audited(console_store, logged_in):
    _credit_model(console_store)
    at = _start_rollback(_registry(logged_in, "eli"), "credit-risk", "default rate doubled")
    assert _stages(console_store)[3] == "production"  # nothing happens before the confirmation
    assert "goes from v3 back to v2" in at.warning[0].value
    at = at.button(key="registry.rollback.confirm.credit-risk").click().run()
    assert not at.exception and not at.error, at.error
    assert _stages(console_store) == {1: "archived", 2: "production", 3: "archived"}
    assert at.success[0].value == "Production of credit\\-risk is back on v2\\."
    assert list(_champions(at)["Put there by"])[0] == "eli (rollback)"
    with session_scope(get_engine(console_store)) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "model.rollback")).scalars().one()
        assert (event.actor, event.entity_id, event.after) == (
            "eli", "credit-risk", {"production": 2, "reason": "default rate doubled"})


def test_cancel_leaves_production_alone(console_store, logged_in):
    _credit_model(console_store)
    at = _start_rollback(_registry(logged_in, "eli"), "credit-risk", "maybe")
    at = at.button(key="registry.rollback.cancel.credit-risk").click().run()
    assert not [w for w in at.warning if "Confirm?" in w.value], [w.value for w in at.warning]
    assert _stages(console_store)[3] == "production"


def test_a_rollback_without_a_reason_is_not_offered_for_confirmation(console_store, logged_in):
    _credit_model(console_store)
    at = _start_rollback(_registry(logged_in, "eli"), "credit-risk", "   ")
    assert [e.value for e in at.error] == ["Give a reason: it is kept in the stage history and the audit trail."]
    assert not [w for w in at.warning if "Confirm?" in w.value]


def test_a_user_demoted_while_confirming_a_rollback_rolls_nothing_back(console_store, logged_in):
    """eli opens the confirmation as an ml_engineer, then an admin makes him a reviewer: his click on
    the button still on his screen rolls nothing back (the login re-reads his role on that rerun, and
    the service, reading it anew, would refuse it: tests/services/governance)."""
    _credit_model(console_store)
    at = _start_rollback(_registry(logged_in, "eli"), "credit-risk", "default rate doubled")
    with session_scope(get_engine(console_store)) as s:
        identity.set_role(session=s, actor=identity.OPERATOR, name="eli", role="reviewer")
    at = at.button(key="registry.rollback.confirm.credit-risk").click().run()
    assert not [b for b in at.button if b.key == "registry.rollback.confirm.credit-risk"]
    assert [e.value for e in at.error] in ([], [
        ui.plain("user 'eli' (reviewer) may not roll back production: it needs the role ml_engineer or admin")])
    assert _stages(console_store)[3] == "production"


def test_a_reason_that_looks_like_html_is_shown_as_text(console_store, logged_in):
    _credit_model(console_store)
    at = _start_rollback(_registry(logged_in, "eli"), "credit-risk", XSS)
    assert f"Reason: {XSS}" in [t.value for t in at.text]
    at = at.button(key="registry.rollback.confirm.credit-risk").click().run()
    assert list(_champions(at)["Why"])[0] == XSS  # a table cell: text
    shown = [m.value for m in (*at.markdown, *at.caption, *at.success, *at.warning, *at.error, *at.info)]
    assert not [v for v in shown if re.search(r"(?<!\\)<img", v)]  # markdown shows `\<` as `<`
