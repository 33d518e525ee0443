"""An outcomes table as a person sees it: every realised metric whole, user text escaped."""
from __future__ import annotations

from mlops_nb.display import present
from mlops_nb.services.monitoring.results import OutcomeTable
from tests.display.conftest import show


def outcomes(business: dict[str, float]) -> OutcomeTable:
    metrics = {"accuracy": 0.75, "brier": 0.1696, "mean_predicted": 0.2987, "positive_rate": 0.33, "roc_auc": 0.8096}
    return OutcomeTable(model="credit-scorer", rows=[{
        "id": 1, "version": 1, "batch": "b81f00700d08431ca02e003e3caeae5e", "rows": 100, "metrics": metrics,
        "business": business, "created_by": "dana", "created_at": 1_700_000_000.0}])


def test_outcomes_show_every_metric_whole(page):
    table = present(outcomes({"default_rate": 0.33}))
    show(page, table._repr_html_(), width=1000)
    shown = page.locator("tbody tr td:nth-child(5)").inner_text()
    assert shown == "accuracy 0.75, brier 0.17, mean_predicted 0.299, positive_rate 0.33, roc_auc 0.81"
    assert page.locator("caption").inner_text() == "Outcomes of credit-scorer (1)"


def test_outcomes_escape_business_metric_names():
    html = present(outcomes({"<b>rate</b>": 0.1}))._repr_html_()
    assert "<b>" not in html and "&lt;b&gt;rate&lt;/b&gt; 0.1" in html
