"""What the Monitoring page draws, from rows alone: labels escaped, bins labelled as people write
numbers, a column without a distribution drawn as nothing, and evidently's report confined to a
sandboxed frame whatever text it carries."""
from __future__ import annotations

import json
import re

from mlops_nb.console import monitoring_charts as charts

XSS = "</script><img src=x onerror=alert(1)>"


def test_bin_edges_read_as_numbers_and_categories_are_escaped():
    assert [charts.edge(v) for v in (0.0, 2000.0, 0.25, 1234.4, 20000.0, 0.0008786, 2.5e9)] == [
        "0", "2,000", "0.25", "1,234", "20,000", "0.000879", "2.5e+09"]
    bins = charts.distribution_figure({"column": XSS, "distribution": {
        "kind": "bins", "edges": [0, 2000, 4000], "reference": [0.5, 0.5], "current": [0.2, 0.8]}})
    assert list(bins.data[0].x) == ["0–2,000", "2,000–4,000"] and XSS not in bins.layout.title.text
    categories = charts.distribution_figure({"column": "purpose", "distribution": {
        "kind": "categories", "labels": [XSS, "car"], "reference": [0.5, 0.5], "current": [0.9, 0.1]}})
    assert list(categories.data[1].x) == ["&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;", "car"]
    assert charts.distribution_figure({"column": "x", "distribution": {}}) is None
    assert charts.distribution_figure({"column": "x", "distribution": {"kind": "bins", "edges": [0, 1],
                                                                        "reference": [], "current": []}}) is None


def test_evidentlys_report_runs_in_a_sandboxed_frame_and_cannot_close_the_script_that_holds_it():
    page = f'<html><body><script>var data = {{"column_name": "{XSS}"}};</script></body></html>'.encode()
    wrapper = charts.sandboxed_report(page, 600)
    frame = re.match(r'<iframe id="report" sandbox="([^"]*)"', wrapper)
    assert frame is not None and frame.group(1) == "allow-scripts"  # no allow-same-origin: an opaque origin
    assert "height:600px" in wrapper
    script = wrapper.split("<script>", 1)[1]
    assert script.count("</script>") == 1 and script.endswith("</script>")  # only its own end
    assert "<" not in script[: -len("</script>")] and ">" not in script[: -len("</script>")]
    given = script[len('document.getElementById("report").srcdoc = '): -len(";</script>")]
    assert json.loads(given) == page.decode()  # the report itself, unchanged, once the frame parses it


def test_the_column_heatmap_has_one_equal_cell_per_report_and_names_every_column():
    reports = [{"id": i, "at": 1_790_000_000.0 + i * 60} for i in (3, 9)]
    long = "installment_rate_in_percentage_of_disposable_income"
    columns = [{"report_id": r["id"], "at": r["at"], "column": name, "drift": r["id"] == 9 and name == XSS,
                "statistic": 0.01, "threshold": 0.05} for r in reports for name in ("age", XSS, long)]
    figure = charts.column_drift_figure(columns, reports)
    heat = figure.data[0]
    assert list(heat.x) == ["#3", "#9"] and figure.layout.xaxis.type == "category"
    assert list(heat.y) == ["&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;", "age", long]  # drifted first
    assert [list(row) for row in heat.z] == [[0.0, 1.0], [0.0, 0.0], [0.0, 0.0]]
    assert list(figure.layout.yaxis.ticktext)[2] == long[:23] + "…"
