"""The run panel: a run's params and metrics, its metric curves (plotly), and a Refresh button.

    %mlops panel                         # the active run
    from mlops_nb.display.widgets import run_panel
    run_panel("3f2a9c0d1e")              # any run of the store

The curves are a plotly figure rendered to HTML (in a sandboxed iframe) inside an ipywidgets
`Output`. plotly 5's `FigureWidget` would need the jupyterlab-plotly extension, which JupyterLab 4
does not load (`jupyter labextension list` marks it incompatible), while HTML output renders in
JupyterLab 4, Notebook 7 and VS Code alike; the Output widget's area is trusted, so the figure's
scripts run. plotly.js comes from its CDN (`plotlyjs="cdn"`); `plotlyjs="embed"` puts it in the page
for offline use (about 3.5 MB per figure), and offline with "cdn" the frame says so instead of
staying blank. Every user string is HTML-escaped; ipywidgets and plotly are imported on first use.
"""
from __future__ import annotations

import html
import time
from functools import lru_cache
from typing import Any

from mlops_nb.display.format import FLEX_CELL, format_time, html_table
from mlops_nb.services.errors import InvalidInput, MlopsError
from mlops_nb.services.tracking.results import MetricPoint, RunPublic

MAX_CURVES = 12
CURVE_HEIGHT = 220
MAX_STEP_TICKS = 12  # up to this span of steps, one x tick per step
CURVE_GAP_PX = 70  # between charts: room for the next chart's title below the previous axis
# side-by-side tables: they grow, wrap under each other when narrow, and long values (hashes) break
PLOTLYJS_CHOICES = ("cdn", "embed")
# shown in place of the charts when plotly.js did not load (no internet for its CDN)
_NO_PLOTLY = ("<script>if (typeof Plotly === 'undefined') {document.body.innerHTML = '<p style=\"font-family:"
              "sans-serif;color:#555\">The curves need plotly.js, which did not load from its CDN (no "
              "internet?). Embed it: <code>%config MlopsMagics.plotlyjs = \"embed\"</code>, "
              "<code>%mlops panel --embed-plotly</code> or <code>run_panel(run_id, plotlyjs=\"embed\")</code>.</p>';}"
              "</script>")


def run_panel(run_id: str | None = None, *, plotlyjs: str | bool = "cdn") -> Any:
    """A widget showing the run `run_id` (default: the active run); its Refresh button reloads it.

    >>> panel = run_panel()          # in a notebook cell, the panel displays itself
    >>> panel.refresh()              # the same as clicking Refresh

    Raises:
        InvalidInput: no `run_id` and no active run, or a bad `plotlyjs`.
        NotFound: no such run.
    """
    if run_id is None:
        from mlops_nb.api.connect import get_context

        active = get_context().active_run
        if active is None:
            raise InvalidInput("no active run: start one with %mlops start, or give a run id: %mlops panel RUN_ID")
        run_id = active.id
    return _panel_class()(run_id, plotlyjs=plotlyjs)


@lru_cache(maxsize=1)
def _panel_class() -> type:
    """The widget class, defined on first use so that importing this module does not import ipywidgets."""
    import ipywidgets as widgets

    class RunPanel(widgets.VBox):  # type: ignore[misc]  # ipywidgets has no type hints: VBox is Any
        """Header, params and metrics tables, curves and a Refresh button for one run."""

        def __init__(self, run_id: str, *, plotlyjs: str | bool = "cdn") -> None:
            self.run_id = run_id
            self.plotlyjs = plotlyjs
            self.header = widgets.HTML()
            self.tables = widgets.HTML()
            self.curves = widgets.Output()
            self.refresh_button = widgets.Button(description="Refresh", icon="refresh",
                                                 tooltip="reload params and metrics from the store")
            self.status = widgets.HTML()
            self.refresh_button.on_click(lambda _button: self.refresh())
            super().__init__([self.header, self.tables, self.curves,
                              widgets.HBox([self.refresh_button, self.status])])
            self.refresh(raise_errors=True)

        def refresh(self, raise_errors: bool = False) -> None:
            """Reload the run from the store and redraw; an error shows in the panel (or raises at build)."""
            try:
                run, histories = _load(self.run_id)
            except MlopsError as err:
                if raise_errors:
                    raise
                self.status.value = f"<span style='color:#b00'>{html.escape(str(err))}</span>"
                return
            self.header.value = header_html(run)
            self.tables.value = tables_html(run)
            self.curves.outputs = ()
            if histories:
                from IPython.display import HTML

                page: Any = HTML  # IPython's HTML() is not annotated
                self.curves.append_display_data(page(curves_html(histories, plotlyjs=self.plotlyjs)))
            more = len(run.metrics) - len(histories)
            note = f" · {more} more metrics not drawn" if more > 0 else ""
            self.status.value = f"<small>refreshed {format_time(time.time())} UTC{note}</small>"

    return RunPanel


def _load(run_id: str) -> tuple[RunPublic, dict[str, list[MetricPoint]]]:
    from mlops_nb.api.tracking import get_metric_history, get_run

    run = get_run(run_id)
    keys = sorted(run.metrics)[:MAX_CURVES]
    return run, {key: get_metric_history(run.id, key) for key in keys}


def header_html(run: RunPublic) -> str:
    """One line naming the run: name, id, status, project/experiment, user and start time (escaped)."""
    esc = html.escape
    return (f"<b>Run {esc(run.name)}</b> <code>{esc(run.id)}</code> · {esc(run.status)} · "
            f"{esc(run.project)}/{esc(run.experiment)} · {esc(run.user)} · started {format_time(run.start_time)}")


def tables_html(run: RunPublic) -> str:
    """Params and latest metrics side by side; html_table escapes every cell."""
    params = html_table(["param", "value"], sorted(run.params.items()), "Params")
    metrics = html_table(["metric", "latest"], sorted(run.metrics.items()), "Metrics")
    cell = f"<div style='{FLEX_CELL}'>{{}}</div>"
    return f"<div style='display:flex;gap:2em;flex-wrap:wrap'>{cell.format(params)}{cell.format(metrics)}</div>"


def curves_html(histories: dict[str, list[MetricPoint]], *, plotlyjs: str | bool = "cdn") -> str:
    """One small chart per metric (value against step), as an HTML fragment.

    plotlyjs: "cdn" loads plotly.js from its CDN (small, needs internet); "embed" puts it in the
    page (~3.5 MB, works offline). Offline with "cdn", the frame says how to embed it.

    Raises:
        InvalidInput: `plotlyjs` is not "cdn" or "embed".
    """
    from plotly.subplots import make_subplots

    if plotlyjs not in (*PLOTLYJS_CHOICES, True):
        raise InvalidInput(f"plotlyjs must be 'cdn' or 'embed', got {plotlyjs!r}")
    keys = list(histories)
    titles = [html.escape(key) for key in keys]
    height = CURVE_HEIGHT * len(keys) + 40
    spacing = min(CURVE_GAP_PX / height, 0.9 / max(len(keys) - 1, 1))
    figure = make_subplots(rows=len(keys), cols=1, subplot_titles=titles, vertical_spacing=spacing)
    for row, key in enumerate(keys, start=1):
        points = histories[key]
        figure.add_scatter(x=[p.step for p in points], y=[p.value for p in points], name=titles[row - 1],
                           mode="lines+markers" if len(points) < 50 else "lines", row=row, col=1)
        figure.update_xaxes(step_axis([p.step for p in points]), row=row, col=1)
    figure.update_xaxes(title_text="step", row=len(keys), col=1)  # one axis title, under the last chart
    figure.update_layout(height=height, showlegend=False, margin={"l": 50, "r": 20, "t": 40, "b": 40})
    include = True if plotlyjs in ("embed", True) else "cdn"
    page = figure.to_html(full_html=True, include_plotlyjs=include, config={"responsive": True})
    page = page.replace("</body>", _NO_PLOTLY + "</body>", 1)
    # a sandboxed iframe: plotly.js loads before the plot script runs (scripts put into a page by
    # innerHTML load asynchronously, so an inline `cdn` figure races its own library), and the
    # figure's scripts get an opaque origin
    return (f'<div class="mlops-curves"><iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts" '
            f'title="metric curves" style="width:100%;height:{height + 16}px;border:0"></iframe></div>')


def step_axis(steps: list[int]) -> dict[str, Any]:
    """Plotly x-axis settings for metric steps: whole numbers only (steps are integers; plotly's own
    ticks for steps 0-4 are 0, 0.5, 1, ...), one tick per step up to `MAX_STEP_TICKS` steps, then
    plotly's spacing (whole numbers at that span) printed as integers."""
    span = (max(steps) - min(steps)) if steps else 0
    axis: dict[str, Any] = {"tickformat": "d"}
    if span <= MAX_STEP_TICKS:
        axis.update(tickmode="linear", tick0=0, dtick=1)
    return axis
