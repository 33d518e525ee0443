"""A skew report as a person sees it: the headline names how many features differ, the message is
whole (not cut at 80 characters) and user text is escaped."""
from __future__ import annotations

from mlops_nb.display import present
from mlops_nb.services.data.feature_results import SkewResult
from mlops_nb.services.data.results import Finding
from tests.display.conftest import show, wrapped_cells


def skew(message: str, feature: str = "monthly_burden") -> SkewResult:
    finding = Finding(column=feature, rule="feature_skew", severity="error", message=message,
                      examples=[{"row": 900, "training": 150.875, "serving": 1810.5}],
                      details={"feature": feature, "rows": 100, "share": 1.0, "training_version": 1,
                               "serving_version": 2})
    return SkewResult(ok=False, findings=[finding], model="credit-scorer", version=1, rows=100,
                      features=[{"name": feature, "version": 1, "source_hash": "d3a9"}], serving="served frame")


def test_skew_report_shows_the_whole_message_under_a_singular_headline(page):
    message = ("feature 'monthly_burden': the served value differs from the training computation on 100 of 100 "
               "rows (100%); e.g. row 900: 150.875 vs 1810.5; the end of the message")
    report = present(skew(message))
    assert "on 100 rows, 1 feature against served frame: 1 feature differs" in repr(report)
    show(page, report._repr_html_(), width=1000)
    assert page.locator(".mlops-skew-headline").inner_text().endswith("1 feature differs")
    assert page.locator("tbody tr td:nth-child(8)").inner_text() == message
    assert page.locator("tbody tr td:nth-child(7)").inner_text() == "row 900: 150.875 vs 1810.5"
    assert wrapped_cells(page, "th") == []
    colour = page.locator("tbody tr td:nth-child(3)").evaluate("td => getComputedStyle(td).color")
    assert colour == "rgb(179, 38, 30)"  # the error red


def test_skew_report_escapes_feature_names_and_messages():
    html = present(skew("<b>bold</b> & co", feature="<script>x</script>"))._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in html
