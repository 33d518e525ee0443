"""Notebook widgets: a run panel (params, metric curves, Refresh) and a registry panel (lineage,
gates, a promotion request form).

    %mlops panel                         # the active run
    from mlops_nb.widgets import run_panel
    run_panel("3f2a9c0d1e")              # any run of the store
    %mlops registry credit-risk          # registry_panel("credit-risk")

The curves are a plotly figure rendered to HTML (in a sandboxed iframe) inside an ipywidgets
`Output`. plotly 5's `FigureWidget` would need the jupyterlab-plotly extension, which JupyterLab 4
does not load (`jupyter labextension list` marks it incompatible), while HTML output renders in
JupyterLab 4, Notebook 7 and VS Code alike; the Output widget's area is trusted, so the figure's
scripts run. plotly.js comes from its CDN (`plotlyjs="cdn"`); `plotlyjs="embed"` puts it in the page
for offline use (about 3.5 MB per figure), and offline with "cdn" the frame says so instead of
staying blank.
The registry panel's state and click handler are plain attributes and methods, so tests (and
scripts) drive it without a browser. Every user string (names, params, metrics, reasons, error
messages) is HTML-escaped. ipywidgets and plotly are imported on first use.
"""
from __future__ import annotations

import html
import time
from functools import lru_cache
from typing import Any

from mlops_nb.services.errors import InvalidInput, MlopsError
from mlops_nb.services.rendering import format_time, html_table

MAX_CURVES = 12
CURVE_HEIGHT = 220
CURVE_GAP_PX = 70  # between charts: room for the next chart's title below the previous axis
# side-by-side tables: they grow, wrap under each other when narrow, and long values (hashes) break
FLEX_CELL = "flex:1 1 auto;min-width:16em;max-width:100%;overflow-wrap:anywhere"
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

    class RunPanel(widgets.VBox):
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

                self.curves.append_display_data(HTML(curves_html(histories, plotlyjs=self.plotlyjs)))
            more = len(run.metrics) - len(histories)
            note = f" · {more} more metrics not drawn" if more > 0 else ""
            self.status.value = f"<small>refreshed {format_time(time.time())} UTC{note}</small>"

    return RunPanel


def _load(run_id: str):
    import mlops_nb as mlops

    run = mlops.get_run(run_id)
    keys = sorted(run.metrics)[:MAX_CURVES]
    return run, {key: mlops.get_metric_history(run.id, key) for key in keys}


def header_html(run) -> str:
    esc = html.escape
    return (f"<b>Run {esc(run.name)}</b> <code>{esc(run.id)}</code> · {esc(run.status)} · "
            f"{esc(run.project)}/{esc(run.experiment)} · {esc(run.user)} · started {format_time(run.start_time)}")


def tables_html(run) -> str:
    """Params and latest metrics side by side; html_table escapes every cell."""
    params = html_table(["param", "value"], sorted(run.params.items()), "Params")
    metrics = html_table(["metric", "latest"], sorted(run.metrics.items()), "Metrics")
    cell = f"<div style='{FLEX_CELL}'>{{}}</div>"
    return f"<div style='display:flex;gap:2em;flex-wrap:wrap'>{cell.format(params)}{cell.format(metrics)}</div>"


def curves_html(histories: dict[str, list], *, plotlyjs: str | bool = "cdn") -> str:
    """One small chart per metric (value against step), as an HTML fragment.

    plotlyjs: "cdn" loads plotly.js from its CDN (small, needs internet); "embed" puts it in the
    page (~3.5 MB, works offline). Offline with "cdn", the frame says how to embed it.
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


# --- the registry panel ----------------------------------------------------------------------------

MAX_PARAMS = 100
TARGET_STAGES = ("staging", "production")


def registry_panel(model: str | None = None) -> Any:
    """A widget to pick a model version, read its lineage and gates, and request its promotion.

    >>> panel = registry_panel("credit-risk")       # %mlops registry credit-risk
    >>> panel.version_picker.value = 2               # what choosing in the dropdown does
    >>> panel.target.value, panel.reason.value = "staging", "beats v1 on AUC"
    >>> panel.request_button.click()                 # or panel.request_promotion()
    >>> panel.result.id, panel.result.status

    The panel keeps what it shows as state (`version`, `run_name`, `latest_request`, `preview`,
    `result`, `error`), so it can be driven without a browser. An unknown `model` raises NotFound.
    """
    return _registry_class()(model)


@lru_cache(maxsize=1)
def _registry_class() -> type:
    """The widget class, defined on first use (see _panel_class)."""
    import ipywidgets as widgets

    class RegistryPanel(widgets.VBox):
        """Model and version pickers, the version's lineage and gates, and a promotion request form."""

        def __init__(self, model: str | None = None) -> None:
            self.version = None          # the ModelVersionPublic shown
            self.run_name: str | None = None
            self.latest_request = None   # the newest PromotionRequestPublic of that version, if any
            self.preview: list[dict] = []
            self.preview_error: str | None = None
            self.result = None           # what the last click returned
            self.error: str | None = None
            self._quiet = False          # True while the panel itself changes the pickers
            self.model_picker = widgets.Dropdown(description="Model")
            self.version_picker = widgets.Dropdown(description="Version")
            self.lineage = widgets.HTML()
            self.gates = widgets.HTML()
            self.target = widgets.Dropdown(options=list(TARGET_STAGES), value="staging", description="To")
            self.reason = widgets.Textarea(description="Reason", placeholder="why this version should be promoted",
                                           layout=widgets.Layout(width="60%"))
            self.request_button = widgets.Button(description="Request promotion", icon="arrow-up",
                                                 button_style="primary", layout=widgets.Layout(width="max-content"),
                                                 tooltip="ask for this version to enter the chosen stage")
            self.status = widgets.HTML()
            self.model_picker.observe(self._on_model, names="value")
            self.version_picker.observe(self._on_version, names="value")
            self.target.observe(lambda _change: self._show_gates(), names="value")
            self.request_button.on_click(lambda _button: self.request_promotion())
            super().__init__([widgets.HBox([self.model_picker, self.version_picker]), self.lineage, self.gates,
                              widgets.HBox([self.target, self.reason]), self.request_button, self.status])
            names = _model_names()
            if model is not None and model not in names:
                import mlops_nb as mlops

                mlops.models(model)  # raises NotFound naming the models there are
            self._quiet = True
            self.model_picker.options = names
            self.model_picker.value = model if model is not None else (names[0] if names else None)
            self._quiet = False
            if not names:
                self.lineage.value = ("<i>No registered models yet: register one with "
                                      "<code>%mlops register VAR --name MODEL</code>.</i>")
                self.request_button.disabled = True
                return
            self.select_model(self.model_picker.value, raise_errors=True)

        @property
        def model(self) -> str | None:
            return self.model_picker.value

        def _on_model(self, change: dict) -> None:
            if not self._quiet and change["new"] is not None:
                self.select_model(change["new"])

        def _on_version(self, change: dict) -> None:
            if not self._quiet and change["new"] is not None:
                self.select_version(change["new"])

        def select_model(self, name: str, raise_errors: bool = False, version: int | None = None) -> None:
            """Show model `name`: its versions in the picker, the newest (or `version`) selected."""
            try:
                choices = _version_choices(name)
            except MlopsError as err:
                if raise_errors:
                    raise
                self._fail(err)
                return
            self._quiet = True
            self.model_picker.value = name
            self.version_picker.options = choices
            numbers = [number for _label, number in choices]
            self.version_picker.value = version if version in numbers else (numbers[0] if numbers else None)
            self._quiet = False
            if self.version_picker.value is not None:
                self.select_version(self.version_picker.value, raise_errors=raise_errors)

        def select_version(self, number: int, raise_errors: bool = False) -> None:
            """Load version `number` of the current model, its run, latest request and gate preview."""
            try:
                self.version, self.run_name, self.latest_request = _load_version(self.model, number)
            except MlopsError as err:
                if raise_errors:
                    raise
                self._fail(err)
                return
            self._quiet = True
            self.target.value = "production" if self.version.stage == "staging" else "staging"
            self._quiet = False
            self.lineage.value = lineage_html(self.version, self.run_name)
            self._show_gates()

        def _show_gates(self) -> None:
            if self._quiet or self.version is None:
                return
            try:
                self.preview, self.preview_error = preview_gates(self.model, self.version.version, self.target.value), None
            except MlopsError as err:
                self.preview, self.preview_error = [], str(err)
            self.gates.value = gates_html(self.latest_request, self.preview, self.target.value, self.preview_error)

        def request_promotion(self):
            """The click: request the shown version for the chosen stage; the outcome shows in the panel."""
            import mlops_nb as mlops

            if self.version is None:
                self._fail(InvalidInput("no model version is selected"))
                return None
            try:
                result = mlops.request_promotion(self.model, version=self.version.version, to=self.target.value,
                                                 reason=self.reason.value)
            except MlopsError as err:
                self._fail(err)
                return None
            self.result, self.error = result, None
            self.reason.value = ""
            self.select_model(self.model, version=result.version)  # the new request and stages show
            self.status.value = request_status_html(result)
            return result

        def _fail(self, err: Exception) -> None:
            self.error = str(err)
            self.status.value = f"<span style='color:#b00'>{html.escape(self.error)}</span>"

    return RegistryPanel


def _model_names() -> list[str]:
    import mlops_nb as mlops

    return [row["name"] for row in mlops.models()]


def _version_choices(name: str) -> list[tuple[str, int]]:
    """Dropdown options, newest first: ("v3 · staging", 3)."""
    import mlops_nb as mlops

    return [(f"v{row['version']} · {row['stage']}", row["version"]) for row in mlops.models(name)]


def _load_version(name: str, number: int):
    """The version, its run's name (None if the run is gone) and its newest promotion request."""
    import mlops_nb as mlops

    version = mlops.get_model_version(name, number)
    run_name = None
    if version.run_id:
        try:
            run_name = mlops.get_run(version.run_id).name
        except mlops.NotFound:
            pass
    latest = next((r for r in mlops.requests(name) if r.version == number), None)
    return version, run_name, latest


def preview_gates(name: str, version: int, to: str) -> list[dict]:
    """The gates `name` v`version` would face entering `to` now (nothing recorded)."""
    from mlops_nb.api.promotion import preview_gates as preview

    return preview(name, version=version, to=to)


def lineage_html(version, run_name: str | None) -> str:
    """Where the version comes from (run, training data, code, environment), beside its params and metrics."""
    dataset = version.dataset
    code = version.code or {}
    env = version.env or {}
    packages = env.get("packages", {})
    pairs: list[tuple[str, Any]] = [
        ("stage", version.stage), ("run id", version.run_id), ("run name", run_name),
        ("dataset", f"{dataset.name} v{dataset.version}" if dataset else "(none)"),
        ("dataset fingerprint", dataset.fingerprint if dataset else None),
        ("dataset rows", dataset.rows if dataset else None), ("target", version.target),
        ("git commit", code.get("git_commit")), ("code hash", code.get("code_hash")),
        ("python", env.get("python")),
        ("packages", ", ".join(f"{k} {v}" for k, v in sorted(packages.items()))),
        ("sha256", version.sha256), ("registered by", version.created_by),
        ("registered", format_time(version.created_at))]
    title = f"Model {version.name} v{version.version} · {version.stage}"
    params = sorted(version.params.items())
    more = f" (first {MAX_PARAMS} of {len(params)})" if len(params) > MAX_PARAMS else ""
    values = [("metric", k, v) for k, v in sorted(version.metrics.items())]
    values += [("param", k, v) for k, v in params[:MAX_PARAMS]]
    cell = f"<div style='{FLEX_CELL}'>{{}}</div>"
    return ("<div style='display:flex;gap:2em;flex-wrap:wrap'>"
            + cell.format(html_table(["lineage", "value"], pairs, title))
            + cell.format(html_table(["kind", "name", "value"], values, f"Metrics and params{more}"))
            + "</div>")


def _gates_table(results: list[dict], title: str) -> str:
    """Gate results in full (html_table would shorten the details, which say what to do)."""
    esc = html.escape
    rows = "".join(f"<tr><td>{esc(str(g['name']))}</td><td>{'PASS' if g['passed'] else '<b>FAIL</b>'}</td>"
                   f"<td>{esc(str(g['detail']))}</td></tr>" for g in results)
    rows = rows or "<tr><td colspan='3'>(no gates)</td></tr>"
    return (f"<table class='mlops-table'><caption>{esc(title)}</caption><thead><tr><th>gate</th><th>result</th>"
            f"<th>detail</th></tr></thead><tbody>{rows}</tbody></table>")


def gates_html(latest, preview: list[dict], target: str, preview_error: str | None = None) -> str:
    """The gates of the version's latest request (as stored) and those it would face now for `target`."""
    parts = []
    if latest is not None:
        title = (f"Gates of request {latest.id} (to {latest.target_stage}, {latest.status}, "
                 f"by {latest.requester})")
        parts.append(_gates_table(latest.gates, title))
    else:
        parts.append("<p><i>No promotion request for this version yet.</i></p>")
    if preview_error is not None:
        parts.append(f"<p style='color:#b00'>Gate preview unavailable: {html.escape(preview_error)}</p>")
    else:
        parts.append(_gates_table(preview, f"Gates for {target} now"))
    cell = f"<div style='{FLEX_CELL}'>{{}}</div>"
    return "<div style='display:flex;gap:2em;flex-wrap:wrap'>" + "".join(cell.format(p) for p in parts) + "</div>"


def request_status_html(request) -> str:
    """One line after a request: its id, status, gates and who it waits for."""
    esc = html.escape
    failed = [g["name"] for g in request.gates if not g["passed"]]
    gates = f"gates failing: {', '.join(failed)}" if failed else "all gates pass"
    waiting = ", ".join(f"{n} {role}" for role, n in request.waiting_for.items())
    tail = f" · waiting for {waiting}" if request.status == "pending" and waiting else ""
    return (f"<span style='color:#060'>Promotion request <b>{request.id}</b> · {esc(request.status)} · "
            f"{esc(request.model)} v{request.version} → {esc(request.target_stage)} · {esc(gates)}"
            f"{esc(tail)}</span>")
