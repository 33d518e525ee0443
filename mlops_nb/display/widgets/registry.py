"""The registry panel: pick a model version, see its lineage and gates, request its promotion.

    %mlops registry credit-risk          # registry_panel("credit-risk")

The decision comes first: the pickers, then the version's stage, its latest request and the gates it
would face (`decision_html`), then the request form and its outcome; the lineage follows, with the
long lists (params, input columns, packages) folded into `<details>` sections whose titles count their
rows, so a 36-param pipeline's panel stays within a screen until a section is opened.

The panel's state and click handler are plain attributes and methods, so tests (and scripts) drive
it without a browser. Every user string (names, params, metrics, reasons, error messages) is
HTML-escaped. ipywidgets is imported on first use.
"""
from __future__ import annotations

import html
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from mlops_nb.display.format import FLEX_CELL, NOWRAP, ShortId, format_time, html_cell, html_header, html_table
from mlops_nb.display.registry import code_file, code_words
from mlops_nb.services.errors import InvalidInput, MlopsError
from mlops_nb.services.governance import TARGET_STAGES, PromotionRequestPublic
from mlops_nb.services.registry import ModelVersionPublic

MAX_PARAMS = 100  # params listed in the folded Params section; the rest are counted
HASH_SHOWN = 16  # characters of a hash shown in the lineage; the full hash is the cell's tooltip
T = TypeVar("T")


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

    class RegistryPanel(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type hints
        """Model and version pickers, the version's lineage and gates, and a promotion request form."""

        def __init__(self, model: str | None = None) -> None:
            """Build the panel showing `model` (else the first model); NotFound for an unknown one."""
            self.version: ModelVersionPublic | None = None  # the version shown
            self.run_name: str | None = None
            self.latest_request: PromotionRequestPublic | None = None  # the version's newest request
            self.preview: list[dict[str, Any]] = []
            self.preview_error: str | None = None
            self.result: PromotionRequestPublic | None = None  # what the last click returned
            self.error: str | None = None
            self._quiet = False          # True while the panel itself changes the pickers
            self.model_picker = widgets.Dropdown(description="Model")
            self.version_picker = widgets.Dropdown(description="Version")
            self.lineage = widgets.HTML()
            self.gates = widgets.HTML()
            self.target = widgets.Dropdown(options=list(TARGET_STAGES), value="staging", description="To")
            self.reason = widgets.Textarea(description="Reason", placeholder="why this version should be promoted",
                                           layout=widgets.Layout(width="50%", height="4em"))
            self.request_button = widgets.Button(description="Request promotion", icon="arrow-up",
                                                 button_style="primary",
                                                 layout=widgets.Layout(width="max-content", flex="0 0 auto"),
                                                 tooltip="ask for this version to enter the chosen stage")
            self.status = widgets.HTML()
            self.model_picker.observe(self._on_model, names="value")
            self.version_picker.observe(self._on_version, names="value")
            self.target.observe(lambda _change: self._show_gates(), names="value")
            self.request_button.on_click(lambda _button: self.request_promotion())
            # the decision first (stage, request, gates, the form), the lineage and long lists below it
            super().__init__([widgets.HBox([self.model_picker, self.version_picker]), self.gates,
                              widgets.HBox([self.target, self.reason, self.request_button],
                                           layout=widgets.Layout(align_items="flex-start", gap="0.5em")),
                              self.status, self.lineage])
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
        def model(self) -> str:
            """The name of the model shown ("" before there is one)."""
            return str(self.model_picker.value or "")

        def _on_model(self, change: dict[str, Any]) -> None:
            if not self._quiet and change["new"] is not None:
                self.select_model(change["new"])

        def _on_version(self, change: dict[str, Any]) -> None:
            if not self._quiet and change["new"] is not None:
                self.select_version(change["new"])

        def _attempt(self, read: Callable[[], T], raise_errors: bool) -> T | None:
            """`read()`, or None after showing its refusal in the panel (raised instead when `raise_errors`)."""
            try:
                return read()
            except MlopsError as err:
                if raise_errors:
                    raise
                self._fail(err)
                return None

        def select_model(self, name: str, raise_errors: bool = False, version: int | None = None) -> None:
            """Show model `name`: its versions in the picker, the newest (or `version`) selected."""
            choices = self._attempt(lambda: _version_choices(name), raise_errors)
            if choices is None:
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
            loaded = self._attempt(lambda: _load_version(self.model, number), raise_errors)
            if loaded is None:
                return
            version, self.run_name, self.latest_request = loaded
            self.version = version
            self._quiet = True
            self.target.value = "production" if version.stage == "staging" else "staging"
            self._quiet = False
            self.lineage.value = lineage_html(version, self.run_name)
            self._show_gates()

        def _show_gates(self) -> None:
            if self._quiet or self.version is None:
                return
            import mlops_nb as mlops

            try:
                self.preview = mlops.preview_gates(self.model, version=self.version.version, to=self.target.value)
                self.preview_error = None
            except MlopsError as err:
                self.preview, self.preview_error = [], str(err)
            self.gates.value = decision_html(self.version, self.latest_request, self.preview, self.target.value,
                                             self.preview_error)

        def request_promotion(self) -> PromotionRequestPublic | None:
            """The click: request the shown version for the chosen stage; the request (None when refused)
            and its outcome show in the panel."""
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
            """Show the refusal, escaped, and keep its text as `error`."""
            self.error = str(err)
            self.status.value = f"<span style='color:#b00'>{html.escape(self.error)}</span>"

    return RegistryPanel


def _model_names() -> list[str]:
    """The project's registered model names, as the model picker offers them."""
    import mlops_nb as mlops

    return [row["name"] for row in mlops.models()]


def _version_choices(name: str) -> list[tuple[str, int]]:
    """Dropdown options, newest first: ("v3 · staging", 3)."""
    import mlops_nb as mlops

    return [(f"v{row['version']} · {row['stage']}", row["version"]) for row in mlops.models(name)]


def _load_version(name: str, number: int) -> tuple[ModelVersionPublic, str | None, PromotionRequestPublic | None]:
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


def lineage_html(version: ModelVersionPublic, run_name: str | None) -> str:
    """Where the version comes from (run, training data, code, environment) beside its metrics, then
    its params, input columns and packages as folded sections titled with their counts."""
    dataset = version.dataset
    code = version.code or {}
    env = version.env or {}
    pairs: list[tuple[str, Any]] = [
        ("run name", run_name), ("run id", ShortId(version.run_id) if version.run_id else None),
        ("dataset", f"{dataset.name} v{dataset.version} · {dataset.rows} rows" if dataset else "(none)"),
        ("dataset fingerprint", ShortId(dataset.fingerprint, HASH_SHOWN) if dataset else None),
        ("target", version.target), ("code", code_words(code)), ("code file", code_file(code)),
        ("git commit", code.get("git_commit")),
        ("code hash", ShortId(code["code_hash"], HASH_SHOWN) if code.get("code_hash") else None),
        ("python", env.get("python")), ("sha256", ShortId(version.sha256, HASH_SHOWN)),
        ("registered", f"{version.created_by} · {format_time(version.created_at)}")]
    title = f"Model {version.name} v{version.version} · {version.stage}"
    metrics = sorted(version.metrics.items())
    cell = f"<div style='{FLEX_CELL}'>{{}}</div>"
    top = ("<div style='display:flex;gap:2em;flex-wrap:wrap'>"
           + cell.format(html_table(["lineage", "value"], pairs, title))
           + cell.format(html_table(["metric", "value"], metrics, f"Metrics ({len(metrics)})"))
           + "</div>")
    params = sorted(version.params.items())
    shown = params[:MAX_PARAMS]
    more = f", first {MAX_PARAMS} shown" if len(params) > MAX_PARAMS else ""
    inputs = ((version.signature or {}).get("inputs") or {}).get("columns") or []
    packages = sorted((env.get("packages") or {}).items())
    return (top
            + folded(f"Params ({len(params)}{more})", html_table(["param", "value"], shown))
            + folded(f"Input columns ({len(inputs)})",
                     html_table(["column", "dtype"], [(c["name"], c.get("dtype")) for c in inputs]))
            + folded(f"Packages ({len(packages)})", html_table(["package", "version"], packages)))


def folded(title: str, body: str) -> str:
    """A closed `<details>` section: `title` (escaped) shows, `body` (HTML) opens on a click."""
    return (f"<details style='margin:0.3em 0'><summary style='cursor:pointer'>{html.escape(title)}</summary>"
            f"{body}</details>")


def _gates_table(results: list[dict[str, Any]], title: str) -> str:
    """Gate results in full (html_table would shorten the details, which say what to do)."""
    esc = html.escape
    rows = "".join(f"<tr>{html_cell(str(g['name']))}<td style='{NOWRAP}'>{'PASS' if g['passed'] else '<b>FAIL</b>'}"
                   f"</td><td>{esc(str(g['detail']))}</td></tr>" for g in results)
    rows = rows or "<tr><td colspan='3'>(no gates)</td></tr>"
    return (f"<table class='mlops-table'><caption>{esc(title)}</caption><thead><tr>"
            f"{html_header(['gate', 'result', 'detail'])}</tr></thead><tbody>{rows}</tbody></table>")


def decision_html(version: ModelVersionPublic, latest: PromotionRequestPublic | None, preview: list[dict[str, Any]],
                  target: str, preview_error: str | None = None) -> str:
    """What a reviewer or requester decides on, first in the panel: the version's stage, how many gates
    it passes for `target` now, and the gates of its latest request and of a request now (`gates_html`)."""
    esc = html.escape
    if preview_error is not None:
        verdict = "gate preview unavailable"
    else:
        passed = sum(1 for g in preview if g["passed"])
        verdict = f"{passed}/{len(preview)} gates pass for {target} now"
    head = (f"<div style='font-size:1.1em;margin:0.3em 0'><b>{esc(version.name)} v{version.version}</b> · stage "
            f"<b>{esc(version.stage)}</b> · {esc(verdict)}</div>")
    return head + gates_html(latest, preview, target, preview_error)


def gates_html(latest: PromotionRequestPublic | None, preview: list[dict[str, Any]], target: str,
               preview_error: str | None = None) -> str:
    """The gates of the version's latest request (as stored) and those it would face now for `target`."""
    parts = []
    lead = ""
    if latest is not None:
        title = (f"Gates of request {latest.id} (to {latest.target_stage}, {latest.status}, "
                 f"by {latest.requester})")
        parts.append(_gates_table(latest.gates, title))
    else:
        lead = "<div><i>No promotion request for this version yet.</i></div>"
    if preview_error is not None:
        parts.append(f"<p style='color:#b00'>Gate preview unavailable: {html.escape(preview_error)}</p>")
    else:
        parts.append(_gates_table(preview, f"Gates for {target} now"))
    cell = f"<div style='{FLEX_CELL}'>{{}}</div>"
    return lead + "<div style='display:flex;gap:2em;flex-wrap:wrap'>" + "".join(cell.format(p) for p in parts) + "</div>"


def request_status_html(request: PromotionRequestPublic) -> str:
    """One line after a request: its id, status, gates and who it waits for."""
    esc = html.escape
    failed = [g["name"] for g in request.gates if not g["passed"]]
    gates = f"gates failing: {', '.join(failed)}" if failed else "all gates pass"
    waiting = ", ".join(f"{n} {role}" for role, n in request.waiting_for.items())
    tail = f" · waiting for {waiting}" if request.status == "pending" and waiting else ""
    return (f"<span style='color:#060'>Promotion request <b>{request.id}</b> · {esc(request.status)} · "
            f"{esc(request.model)} v{request.version} → {esc(request.target_stage)} · {esc(gates)}"
            f"{esc(tail)}</span>")
