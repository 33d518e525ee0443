"""A validation report as a person sees it in JupyterLab: headline first, headers and severities whole."""
from __future__ import annotations

from mlops_nb.display import present
from mlops_nb.services.data import schema_and_profile, validate_frame
from tests.display.conftest import show, wrapped_cells


def test_report_headline_and_severities_stay_readable_in_a_narrow_output(page, credit):
    ref = credit.sample(500, random_state=0)
    rest = credit.drop(ref.index)
    schema, profile = schema_and_profile(ref)
    batch = rest.assign(housing=rest.housing.map({"for free": 0, "own": 1, "rent": 2})).drop(columns="job")
    report = present(validate_frame(batch, schema=schema, profile=profile, contract="german v1"))
    show(page, report._repr_html_(), width=520)
    headline = page.locator(".mlops-validation-headline")
    assert headline.inner_text().startswith("2 errors, ")
    assert wrapped_cells(page, "th") == []
    severities = page.locator("tbody tr td:nth-child(3)").all_inner_texts()
    assert severities[:2] == ["error", "error"] and set(severities[2:]) == {"warning"}
    assert [c for c in wrapped_cells(page, "td") if c in ("error", "warning")] == []
    colour = page.locator("tbody tr td:nth-child(3)").first.evaluate("td => getComputedStyle(td).color")
    assert colour == "rgb(179, 38, 30)"  # the error red
    message = page.locator("tbody tr td:nth-child(4)").first.evaluate("td => td.getBoundingClientRect().width")
    assert message >= 200  # the message keeps a readable column; a narrow output scrolls instead
    show(page, report._repr_html_(), width=1000)
    width = page.evaluate("document.querySelector('.mlops-validation table').getBoundingClientRect().width")
    assert width <= 1000  # long levels in examples wrap instead of widening the table
