"""display.present: a service's plain record becomes its displayable form, fields untouched, user
strings escaped in HTML, nested records converted too."""
from __future__ import annotations

import pytest

from mlops_nb.display import present
from mlops_nb.display.governance import AuditTableView, PromotionRequestView
from mlops_nb.display.registry import ModelVersionView
from mlops_nb.display.tracking import ArtifactView, DatasetVersionView, RunTableView, RunView
from mlops_nb.services.data.results import DatasetVersionPublic
from mlops_nb.services.governance.results import AuditTable, PromotionRequestPublic
from mlops_nb.services.registry.results import ModelVersionPublic
from mlops_nb.services.tracking.results import ArtifactPublic, RunPublic, RunTable

EVIL = "<script>alert(1)</script>"


def _run(**changes):
    fields = dict(id="r1", name=EVIL, status="finished", experiment="exp", project="p", user="dana",
                  start_time=0.0, end_time=1.0, params={"C": "0.5"}, metrics={"auc": 0.8},
                  artifacts=[ArtifactPublic(name="a.png", uri="file:///a.png", sha256="0" * 64, size=3)])
    fields.update(changes)
    return RunPublic(**fields)


def test_a_record_becomes_its_view_with_the_same_fields():
    run = _run()
    shown = present(run)
    assert type(shown) is RunView and isinstance(shown, RunPublic)
    assert (shown.id, shown.name, shown.params, shown.metrics) == (run.id, run.name, run.params, run.metrics)
    assert type(run) is RunPublic  # the service's record is left as it was


def test_records_nested_in_fields_are_presented_too():
    shown = present(_run())
    assert type(shown.artifacts[0]) is ArtifactView
    dataset = DatasetVersionPublic(id=1, name="german", version=2, fingerprint="f" * 64, rows=10, columns=2,
                                   schema={"columns": [{"name": "x", "dtype": "int64"}]})
    version = ModelVersionPublic(id=1, model_id=1, name="credit", version=3, stage="none", run_id="r1",
                                 dataset=dataset, artifact_uri="file:///m", sha256="a" * 64, size=1,
                                 flavor="sklearn", target="y")
    shown_version = present(version)
    assert type(shown_version) is ModelVersionView and type(shown_version.dataset) is DatasetVersionView
    assert "german v2" in repr(shown_version)


@pytest.mark.parametrize("value", [None, 3, "text", [1, 2], {"a": 1}])
def test_anything_else_passes_through_unchanged(value):
    assert present(value) is value


def test_user_strings_are_escaped_in_html_and_kept_in_text():
    shown = present(_run())
    html = shown._repr_mimebundle_()["text/html"]
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert EVIL in repr(shown)
    table = present(RunTable(rows=[{"run_id": "r1", "name": EVIL, "status": "finished", "experiment": "e",
                                    "user": "u", "start_time": 0.0, "end_time": None, "params.C": "1"}]))
    assert type(table) is RunTableView
    assert "<script>" not in table._repr_html_() and len(table) == 1
    assert list(table.to_frame().columns)[:7] == ["run_id", "name", "status", "experiment", "user",
                                                  "start_time", "end_time"]


def test_tables_show_fifty_rows_and_count_the_rest():
    rows = [{"run_id": f"r{i}", "name": f"n{i}", "status": "finished", "experiment": "e", "user": "u",
             "start_time": float(i), "end_time": None} for i in range(60)]
    text = repr(present(RunTable(rows=rows)))
    assert "… 10 more" in text and "Runs (60)" in text


def test_governance_records_display_their_decision_state():
    request = present(PromotionRequestPublic(id=7, model="credit", version=3, target_stage="production",
                                             requester="dana", reason=EVIL, status="pending",
                                             gates=[{"name": "lineage_complete", "passed": True, "detail": "ok"}],
                                             required={"reviewer": 1}))
    assert type(request) is PromotionRequestView
    assert "waiting for" in repr(request) and "1 reviewer" in repr(request)
    assert "<script>" not in request._repr_html_()
    audit = present(AuditTable(events=[{"id": 1, "ts": 0.0, "actor": "ed", "action": "promotion.decide",
                                        "entity": "promotion_request", "entity_id": "7", "before": None,
                                        "after": {"status": "approved"}, "hash": "h" * 64}], verified="intact"))
    assert type(audit) is AuditTableView and "intact" in repr(audit)
    assert list(audit.to_frame().columns)[:3] == ["id", "time", "actor"]
