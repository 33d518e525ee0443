"""What the Monitoring page draws from rows it already holds (monitoring_views' plain data): drift share
over time, each column's verdicts over time, a column's reference-against-current distribution, the
prediction distribution per day, latency against the SLA, outcomes against predictions. Plain
functions of the rows, tested without a server; no store, no Streamlit.

Times are epoch seconds drawn as the server's local time (as ui.when shows them). Column names and
metric names are users' text: plotly interprets a few tags in labels (<b>, <br>, <a>), so every
label made from them is escaped, as compare.py does.
"""
from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # plotly is imported when a chart is drawn
    import plotly.graph_objects as go

CHART_HEIGHT = 320  # px: two charts side by side fit one screen with their headers
LABEL_CHARS = 24  # a column name longer than this is cut on the heatmap's axis (whole in its hover)
ROW_PX = 18  # pixels per heatmap row, so every column's name shows
HEATMAP_COLUMNS = 30  # columns the per-column heatmap shows (drifted most often first); the table has all
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
DRIFT, NO_DRIFT = "#d62728", "#dfe7ef"  # the heatmap's two colours: a verdict, not a scale


def local(ts: float) -> dt.datetime:
    """Epoch seconds as the server's local time (what plotly draws on a time axis)."""
    return dt.datetime.fromtimestamp(ts).astimezone().replace(tzinfo=None)


def _layout(figure: go.Figure, title: str, **extra: Any) -> go.Figure:
    figure.update_layout(height=CHART_HEIGHT, margin=MARGIN, title={"text": title, "font": {"size": 14}},
                         legend={"orientation": "h", "y": -0.18}, **extra)
    return figure


def drift_share_figure(reports: Sequence[Mapping[str, Any]]) -> go.Figure:
    """The share of drifted columns of each report (markers red where the dataset drifted) over time,
    with the dataset-drift threshold (evidently's preset: 0.5) as a dashed line."""
    import plotly.graph_objects as go

    x = [local(r["at"]) for r in reports]
    figure = go.Figure(go.Scatter(
        x=x, y=[r["share"] for r in reports], mode="lines+markers", name="drift share",
        marker={"color": [DRIFT if r["dataset_drift"] else "#1f77b4" for r in reports], "size": 8},
        customdata=[[r["id"], r["drifted"], r["tested"]] for r in reports],
        hovertemplate="report #%{customdata[0]}<br>%{customdata[1]} of %{customdata[2]} columns drifted"
                      "<br>share %{y:.0%}<extra></extra>"))
    threshold = reports[-1]["drift_share"] if reports else 0.5
    figure.add_hline(y=threshold, line_dash="dash", line_color=DRIFT,
                     annotation_text=f"dataset drift at {threshold:.0%}", annotation_position="top left")
    return _layout(figure, "Drift share per report", yaxis={"range": [0, 1.05], "tickformat": ".0%"})


def column_drift_figure(columns: Sequence[Mapping[str, Any]], reports: Sequence[Mapping[str, Any]]) -> go.Figure:
    """A heatmap of verdicts: one row per column (the HEATMAP_COLUMNS drifted most often, then by
    name), one equal cell per report in time order (reports are not evenly spaced; red: drifted);
    hover gives the report's time, the statistic and threshold."""
    import plotly.graph_objects as go

    order = [r["id"] for r in reports]
    position = {rid: i for i, rid in enumerate(order)}
    drifted: dict[str, int] = {}
    for c in columns:
        drifted[c["column"]] = drifted.get(c["column"], 0) + int(c["drift"])
    names = sorted(drifted, key=lambda n: (-drifted[n], n))[:HEATMAP_COLUMNS]
    row = {n: i for i, n in enumerate(names)}
    z: list[list[float | None]] = [[None] * len(order) for _ in names]
    text: list[list[str]] = [[""] * len(order) for _ in names]
    for c in columns:
        if c["column"] in row and c["report_id"] in position:
            i, j = row[c["column"]], position[c["report_id"]]
            z[i][j] = 1.0 if c["drift"] else 0.0
            text[i][j] = (f"{local(c['at']):%Y-%m-%d %H:%M}: {'drift' if c['drift'] else 'no drift'}, "
                          f"{c['statistic']:.3g} (threshold {c['threshold']:.3g})")
    labels = [html.escape(n) for n in names]
    figure = go.Figure(go.Heatmap(
        z=z, x=[f"#{r['id']}" for r in reports], y=labels, text=text, zmin=0, zmax=1,
        colorscale=[[0, NO_DRIFT], [1, DRIFT]], showscale=False, xgap=1, ygap=1,
        hovertemplate="%{y}<br>report %{x}<br>%{text}<extra></extra>"))
    figure = _layout(figure, "Per-column drift (red: drifted)",
                     yaxis={"autorange": "reversed", "automargin": True, "tickmode": "array", "tickvals": labels,
                            "ticktext": [html.escape(n if len(n) <= LABEL_CHARS else n[:LABEL_CHARS - 1] + "…")
                                         for n in names]},
                     xaxis={"type": "category", "title": "report"})
    figure.update_layout(height=max(CHART_HEIGHT, ROW_PX * len(names) + 110))  # every column named, none squeezed
    return figure


def edge(value: float) -> str:
    """A bin edge as a reader writes it, three significant digits at most below 1,000: 2,000 rather
    than 2e+03, 0.000879 rather than 0.0008786 (a tick label, not a measurement)."""
    if 1000 <= abs(value) < 1e9:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def distribution_figure(column: Mapping[str, Any]) -> go.Figure | None:
    """A column's reference against current distribution as grouped bars of shares of rows, one pair
    per bin (labelled by its edges: bins may differ in width, so bars of equal width per bin, not a
    numeric axis where a wide bin would look like more rows) or per category; None when the report
    kept no distribution for it."""
    import plotly.graph_objects as go

    dist = column.get("distribution") or {}
    if dist.get("kind") == "bins" and len(dist.get("edges", [])) == len(dist.get("reference", [])) + 1:
        edges = dist["edges"]
        labels = [f"{edge(a)}–{edge(b)}" for a, b in zip(edges, edges[1:])]
    elif dist.get("kind") == "categories":
        labels = [html.escape(str(label)[:40]) for label in dist.get("labels", [])]
    else:
        return None
    figure = go.Figure()
    for side, color in (("reference", "#7f7f7f"), ("current", "#1f77b4")):
        figure.add_trace(go.Bar(x=labels, y=dist.get(side, []), name=side, marker_color=color,
                                hovertemplate="%{x}: %{y:.1%}<extra>" + side + "</extra>"))
    title = f"{html.escape(str(column['column']))}: reference against current"
    axis: dict[str, Any] = {"type": "category", "automargin": True}
    if len(labels) > 8:  # plotly would turn many labels upright; at 45 degrees they read and fit
        axis["tickangle"] = -45
    figure = _layout(figure, title, barmode="group", yaxis={"tickformat": ".0%"}, xaxis=axis)
    figure.update_layout(legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"})
    return figure  # the legend above the bars: rotated bin labels take the room below


def predictions_figure(days: Sequence[Mapping[str, Any]]) -> go.Figure | None:
    """The prediction distribution per day: for probabilities a heatmap of the share of rows in each
    tenth of [0, 1] with the mean as a line; for class predictions stacked shares per class; None
    when the days hold neither."""
    import plotly.graph_objects as go

    x = [d["day"] for d in days]
    if any(d["histogram"] for d in days):
        bins = max(len(d["histogram"]) for d in days)
        z: list[list[float | None]] = [[None] * len(days) for _ in range(bins)]
        for j, d in enumerate(days):
            total = sum(d["histogram"])
            for i, count in enumerate(d["histogram"]):
                z[i][j] = count / total if total else None
        centres = [(i + 0.5) / bins for i in range(bins)]
        figure = go.Figure(go.Heatmap(z=z, x=x, y=centres, colorscale="Blues", colorbar={"title": "rows", "tickformat": ".0%"},
                                      hovertemplate="%{x}<br>score near %{y:.2f}: %{z:.1%} of rows<extra></extra>"))
        figure.add_trace(go.Scatter(x=x, y=[d["mean_prediction"] for d in days], mode="lines+markers",
                                    name="mean score", line={"color": "#ff7f0e"}))
        return _layout(figure, "Predicted probability per day (share of rows per tenth, and the mean)",
                       yaxis={"range": [0, 1], "title": "score"})
    labels = sorted({label for d in days for label in d["class_counts"]})
    if labels:
        figure = go.Figure()
        for label in labels:
            shares = [d["class_counts"].get(label, 0) / max(1, sum(d["class_counts"].values())) for d in days]
            figure.add_trace(go.Bar(x=x, y=shares, name=html.escape(str(label))))
        return _layout(figure, "Predicted classes per day", barmode="stack", yaxis={"tickformat": ".0%"})
    if any(d["mean_prediction"] is not None for d in days):
        figure = go.Figure(go.Scatter(x=x, y=[d["mean_prediction"] for d in days], mode="lines+markers", name="mean"))
        return _layout(figure, "Mean prediction per day")
    return None


def latency_figure(days: Sequence[Mapping[str, Any]], sla_ms: float | None) -> go.Figure:
    """Latency p50 and p95 per day (ms, over the day's batches) with the SLA as a dashed line when set."""
    import plotly.graph_objects as go

    x = [d["day"] for d in days]
    figure = go.Figure()
    for key, name in (("latency_p50_ms", "p50"), ("latency_p95_ms", "p95")):
        figure.add_trace(go.Scatter(x=x, y=[d[key] for d in days], mode="lines+markers", name=name))
    if sla_ms is not None:
        figure.add_hline(y=sla_ms, line_dash="dash", line_color=DRIFT, annotation_text=f"SLA p95 {sla_ms:g} ms",
                         annotation_position="top left")
    return _layout(figure, "Latency per day (ms per batch)", yaxis={"rangemode": "tozero", "title": "ms"})


def outcome_series(outcomes: Sequence[Mapping[str, Any]]) -> dict[str, list[float | None]]:
    """{name: values per outcome} of the rates an outcome carries: the predictions' `mean_predicted`,
    the realised `positive_rate`, and every business metric (by its name); `roc_auc` apart."""
    names = ["mean_predicted", "positive_rate"]
    names += sorted({k for o in outcomes for k in o["business"]} - set(names))
    series: dict[str, list[float | None]] = {}
    for name in names:
        values = [o["business"].get(name, o["metrics"].get(name)) for o in outcomes]
        if any(v is not None for v in values):
            series[name] = values
    return series


def outcomes_figure(outcomes: Sequence[Mapping[str, Any]]) -> go.Figure:
    """The business metrics and the realised rate against the mean predicted probability per outcome
    logged (left axis), and the realised ROC AUC (right axis) when computed."""
    import plotly.graph_objects as go

    x = [local(o["created_at"]) for o in outcomes]
    figure = go.Figure()
    for name, values in outcome_series(outcomes).items():
        dash = "dot" if name == "mean_predicted" else None
        figure.add_trace(go.Scatter(x=x, y=values, mode="lines+markers", name=html.escape(name), line={"dash": dash}))
    auc = [o["metrics"].get("roc_auc") for o in outcomes]
    if any(v is not None for v in auc):
        figure.add_trace(go.Scatter(x=x, y=auc, mode="lines+markers", name="roc_auc", yaxis="y2",
                                    line={"dash": "dash"}))
    return _layout(figure, "Outcomes: business metric and realised rate against predictions",
                   yaxis={"title": "rate", "rangemode": "tozero"},
                   yaxis2={"title": "ROC AUC", "overlaying": "y", "side": "right", "range": [0.4, 1], "dtick": 0.1,
                           "showgrid": False})


def sandboxed_report(page: bytes, height: int) -> str:
    """An HTML document that shows `page` (evidently's report) in an inner frame `height` pixels tall
    whose scripts run in an opaque origin (sandbox="allow-scripts", without allow-same-origin).

    evidently writes the data it reports on (column names, category values: users' text) into a
    script block unescaped: a value holding `</script>` ends that block and runs as markup. Streamlit's
    own frames share the console's origin, so such a script could act on the page as the logged-in
    reviewer; in the sandboxed inner frame it reaches nothing but the report. The page is handed to
    the frame as a JSON string with <, > and & escaped, so it cannot close the outer script either.
    """
    text = json.dumps(page.decode("utf-8", "replace")).replace("<", "\\u003c").replace(">", "\\u003e")
    text = text.replace("&", "\\u0026")
    return (f'<iframe id="report" sandbox="allow-scripts" title="evidently report" '
            f'style="width:100%;height:{int(height)}px;border:0"></iframe>'
            f'<script>document.getElementById("report").srcdoc = {text};</script>')
