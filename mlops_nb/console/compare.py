"""What the Experiments page draws from rows it already holds: the runs table's frame, the param diff,
the parallel coordinates and the metric curves. Plain functions of the rows (RunTable rows: `run_id`,
`name`, `experiment`, `status`, `user`, `start_time`, `end_time`, `params.K`, `metrics.K`, `tags.K`),
so they are tested without a server; no store, no Streamlit.

Users' text (run names, param values) goes into data frames and plotly labels as values, never as
markup: plotly renders trace names and tick labels as text (it interprets a few tags such as <b>
in labels, so those are escaped here).
"""
from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from mlops_nb.console.ui import when

if TYPE_CHECKING:  # plotly is imported when a chart is drawn: the table shows without it
    import plotly.graph_objects as go

CHART_HEIGHT = 350  # px: one chart fits beside the table without scrolling past it
TABLE_COLUMNS = ("Run", "Experiment", "Status", "Started", "Duration (s)", "User")


def keys_of(rows: Sequence[Mapping[str, Any]], kind: str) -> list[str]:
    """The `kind` (metrics, params, tags) keys the rows have, by name, without the prefix."""
    prefix = kind + "."
    return sorted({k[len(prefix):] for row in rows for k in row if k.startswith(prefix)})


def label(row: Mapping[str, Any]) -> str:
    """A run as one line: its name and the first 8 digits of its id (names repeat; ids do not)."""
    return f"{row['name']} ({str(row['run_id'])[:8]})"


def runs_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The runs table: Run, Experiment, Status, Started (with its zone), Duration (s), User, then one
    column per metric (`metrics.K`, floats) and per param (`params.K`, text), in the rows' order."""
    metrics, params = keys_of(rows, "metrics"), keys_of(rows, "params")
    records = []
    for row in rows:
        end = row.get("end_time")
        record: dict[str, Any] = {
            "Run": row["name"], "Experiment": row["experiment"], "Status": row["status"],
            "Started": when(row["start_time"]),
            "Duration (s)": None if end is None else round(end - row["start_time"], 1), "User": row["user"]}
        record.update({f"metrics.{k}": row.get(f"metrics.{k}") for k in metrics})
        record.update({f"params.{k}": row.get(f"params.{k}") for k in params})
        records.append(record)
    columns = [*TABLE_COLUMNS, *(f"metrics.{k}" for k in metrics), *(f"params.{k}" for k in params)]
    return pd.DataFrame.from_records(records, columns=columns)


def param_diff(rows: Sequence[Mapping[str, Any]], *, only_differences: bool) -> pd.DataFrame:
    """Params side by side: one row per param key, one column per run (`label`), the values as text
    (None where a run lacks the param). With `only_differences`, only the keys whose values are not
    all the same (a missing value differs from any value)."""
    keys = keys_of(rows, "params")
    table = {label(row): [row.get(f"params.{k}") for k in keys] for row in rows}
    frame = pd.DataFrame(table, index=pd.Index(keys, name="param"), dtype=object)
    if only_differences and not frame.empty:
        differs = [len({repr(v) for v in frame.loc[k]}) > 1 for k in keys]
        frame = frame.loc[differs]
    return frame


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def parallel_figure(rows: Sequence[Mapping[str, Any]], *, color_metric: str | None = None
                    ) -> tuple[go.Figure | None, list[str]]:
    """Parallel coordinates of the rows' params then metrics: a numeric param (every value a finite
    number) is an axis as it is; a categorical param (text such as 'rf', 'lr') is an axis with its
    values in order as ticks 0, 1, 2 ... labelled by the values. Params and metrics that every run has
    the same, or that some run lacks, are left out (an axis needs a value per line). Lines are coloured
    by `color_metric` when it is an axis. Returns (the figure, or None when fewer than two runs or no
    axis is left; the names of the categorical params mapped to numbers)."""
    import plotly.graph_objects as go

    if len(rows) < 2:
        return None, []
    dimensions: list[dict[str, Any]] = []
    mapped: list[str] = []
    color: list[float] | None = None
    for kind in ("params", "metrics"):
        for key in keys_of(rows, kind):
            raw = [row.get(f"{kind}.{key}") for row in rows]
            if any(v is None for v in raw) or len({repr(v) for v in raw}) < 2:
                continue
            numbers = [_number(v) for v in raw]
            if all(n is not None for n in numbers):
                values = [float(n) for n in numbers if n is not None]
                dimensions.append({"label": html.escape(f"{kind}.{key}"), "values": values})
                if kind == "metrics" and key == color_metric:
                    color = values
            elif kind == "params":
                levels = sorted({str(v) for v in raw})
                dimensions.append({"label": html.escape(f"params.{key}"), "values": [levels.index(str(v)) for v in raw],
                                   "tickvals": list(range(len(levels))),
                                   "ticktext": [html.escape(level[:20]) for level in levels]})
                mapped.append(key)
    if not dimensions:
        return None, mapped
    line: dict[str, Any] = {"color": color, "colorscale": "Viridis", "showscale": True} if color else {}
    figure = go.Figure(go.Parcoords(dimensions=dimensions, line=line or None))
    figure.update_layout(height=CHART_HEIGHT, margin={"l": 60, "r": 60, "t": 60, "b": 30})
    return figure, mapped


def curves_figure(histories: Mapping[str, Sequence[tuple[int, float]]], names: Mapping[str, str],
                  key: str) -> go.Figure:
    """One line per run of metric `key` against its step (`histories`: run id -> [(step, value)],
    `names`: run id -> the line's name)."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for run_id, points in histories.items():
        figure.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points],
                                    mode="lines+markers" if len(points) < 30 else "lines",
                                    name=html.escape(names.get(run_id, run_id))))
    figure.update_layout(height=CHART_HEIGHT, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         xaxis_title="step", yaxis_title=html.escape(key), legend={"orientation": "h", "y": -0.2})
    return figure
