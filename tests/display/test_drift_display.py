"""A drift report as a person sees it in JupyterLab: the verdict first, drifted columns first and
marked, thirty columns on one screen, every user string escaped."""
from __future__ import annotations

import numpy as np
import pandas as pd

import mlops_nb as mlops
from tests.display.conftest import show, wrapped_cells


def _frames(rows: int = 2_000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """30 columns (15 numeric, 15 categorical); in current, 6 shifted and one all null."""
    rng = np.random.default_rng(seed)

    def frame(shift: float) -> pd.DataFrame:
        data = {f"num_{i:02d}": rng.normal(shift if i < 4 else 0, 1, rows) for i in range(15)}
        data.update({f"cat_{i:02d}": rng.choice(["a", "b", "c", "d"], rows, p=[0.7, 0.1, 0.1, 0.1] if shift and i < 2
                                                 else [0.25] * 4) for i in range(15)})
        return pd.DataFrame(data)

    current = frame(0.8)
    current["num_14"] = np.nan
    return frame(0.0), current


def test_a_thirty_column_report_fits_one_screen_with_drifted_columns_first(page):
    reference, current = _frames()
    report = mlops.drift_report(reference=reference, current=current)
    assert report.drifted_columns[:4] == ["num_00", "num_01", "num_02", "num_03"]
    show(page, report._repr_mimebundle_()["text/html"], width=900)
    headline = page.locator(".mlops-drift-headline").inner_text()
    assert headline.startswith(f"Drift: {report.drifted} of 29 columns drifted: share ")
    names = page.locator(".mlops-drift-table tbody tr td:nth-child(1)").all_inner_texts()
    assert set(names[:report.drifted]) == set(report.drifted_columns) and len(names) == 29
    verdicts = page.locator(".mlops-drift-table tbody tr td:nth-child(6)").all_inner_texts()
    assert verdicts == ["drift"] * report.drifted + ["-"] * (29 - report.drifted)
    assert "num_14" in page.locator(".mlops-drift-findings").inner_text()
    assert wrapped_cells(page, ".mlops-drift-table th") == [] and wrapped_cells(page, ".mlops-drift-table td") == []
    height = page.evaluate("document.querySelector('.mlops-drift').getBoundingClientRect().height")
    assert height < 900  # one screen of the 1000 x 900 page
    colour = page.locator(".mlops-drift-table tbody tr td:nth-child(6)").first.evaluate(
        "td => getComputedStyle(td).color")
    assert colour == "rgb(179, 38, 30)"  # the drift red
    text = repr(report)
    assert text.startswith("Drift report: ") and text.splitlines()[4].startswith("num_00")


def test_user_strings_are_escaped(page, credit):
    hostile = "<img src=x onerror=alert(1)>"
    ref, cur = credit.iloc[:500].rename(columns={"age_in_years": hostile}), credit.iloc[500:].rename(
        columns={"age_in_years": hostile})
    cur[hostile] = cur[hostile] * 3
    cur["purpose"] = "<b>new</b>"
    html = mlops.drift_report(reference=ref, current=cur)._repr_html_()
    assert hostile not in html and "<b>new</b>" not in html and "&lt;img src=x" in html
    show(page, html)
    assert page.locator(".mlops-drift img").count() == 0
    assert hostile in page.locator(".mlops-drift-table").inner_text()
