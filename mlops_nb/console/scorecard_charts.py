"""What the Scorecards page draws from the snapshots it already holds (scorecard_history's rows): the
phase reached over time and the ML Test Score beside it. A plain function of the rows, tested
without a server; no store, no Streamlit.

Times are epoch seconds drawn as the server's local time (monitoring_charts.local, as ui.when shows
them). The phase is a level, not a quantity: it is drawn as steps (it holds until the next snapshot
says otherwise), on an axis labelled with the phases' names; the ML Test Score as steps too (a slope
between two snapshots would show scores no card ever had). The title names a project or model (users'
text): plotly reads a few tags in it, so it is escaped.
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlops_nb.console.monitoring_charts import CHART_HEIGHT, MARGIN, local
from mlops_nb.services.monitoring.scorecard_results import PHASES

if TYPE_CHECKING:  # plotly is imported when a chart is drawn
    import plotly.graph_objects as go

PHASE_COLOUR, SCORE_COLOUR = "#2e7d32", "#1f77b4"
PHASE_TICKS = {0: "0 · not yet", **{n: f"{n} · {name}" for n, name in PHASES.items()}}


def trend_figure(snapshots: Sequence[Mapping[str, Any]], title: str) -> go.Figure:
    """The phase of each snapshot as steps on the left axis (0-3, named) and the ML Test Score
    (the minimum over its sections, 0-7) on the right axis, oldest first; hover names the criteria
    passed, partial and failed and what took the snapshot."""
    import plotly.graph_objects as go

    x = [local(s["taken_at"]) for s in snapshots]
    counts = [[s["passed"], s["partial"], s["failed"], s["trigger"]] for s in snapshots]
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=x, y=[s["phase"] for s in snapshots], mode="lines+markers", name="phase", line_shape="hv",
        line={"color": PHASE_COLOUR, "width": 3}, customdata=counts,
        hovertemplate="%{x|%Y-%m-%d %H:%M}<br>phase %{y}<br>%{customdata[0]} passed, %{customdata[1]} partial, "
                      "%{customdata[2]} failed<br>snapshot: %{customdata[3]}<extra></extra>"))
    figure.add_trace(go.Scatter(
        x=x, y=[s["test_score"] for s in snapshots], mode="lines+markers", name="ML Test Score", yaxis="y2",
        line={"color": SCORE_COLOUR, "dash": "dot"}, line_shape="hv",  # it too holds until the next snapshot
        hovertemplate="%{x|%Y-%m-%d %H:%M}<br>ML Test Score %{y:g}<extra></extra>"))
    figure.update_layout(
        height=CHART_HEIGHT, margin=MARGIN, title={"text": html.escape(title), "font": {"size": 14}},
        legend={"orientation": "h", "y": -0.18},
        yaxis={"title": "phase", "range": [-0.2, 3.3], "tickmode": "array", "tickvals": list(PHASE_TICKS),
               "ticktext": list(PHASE_TICKS.values()), "automargin": True},
        yaxis2={"title": "ML Test Score (of 7)", "overlaying": "y", "side": "right", "range": [-0.2, 7.3],
                "showgrid": False, "dtick": 1})
    return figure
