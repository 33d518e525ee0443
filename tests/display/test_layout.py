"""What a person sees: the notebook output rendered in headless Chromium with JupyterLab's table rules.

Headers and short values never wrap, a run id takes a short column, the metric chart's step axis has
whole-number ticks, and the registry panel of a 36-param pipeline shows its decision (stage, gates,
request button) in the first screen and fits in about one. tests/display/screenshots.py takes the
same views in a real JupyterLab for a person to look at (docs/img/).
"""
from __future__ import annotations

import html

import pytest

import mlops_nb as mlops
from mlops_nb.display.widgets import registry_panel
from mlops_nb.display.widgets.run import curves_html, tables_html
from tests.display.conftest import show, wrapped_cells
from tests.factories import fit_credit_model

FIRST_SCREEN_PX = 600   # the request button's top must be above this
PANEL_MAX_PX = 900      # the whole panel, with its long lists folded


@pytest.fixture()
def store(sqlite_url, tmp_path):
    return mlops.init(project="view", db_url=sqlite_url, user="dana", artifact_root=str(tmp_path / "artifacts"))


@pytest.fixture()
def two_runs(store):
    runs = []
    for C in (1.0, 0.1):
        with mlops.start_run(experiment="baseline-experiment", name=f"logreg-C{C}") as run:
            mlops.log_params({"C": C, "max_iter": 1000, "class_weight": "balanced"})
            for step, loss in enumerate([0.61, 0.55, 0.52, 0.51, 0.505]):
                mlops.log_metric("loss", loss, step=step)
            mlops.log_metrics({"roc_auc": 0.79, "val-loss": 0.5})  # a hyphen: a break opportunity
        runs.append(run)
    return runs


def test_run_table_headers_and_short_values_never_wrap_in_a_narrow_output(page, two_runs):
    table = mlops.runs("baseline-experiment")
    show(page, table._repr_html_(), width=360)
    assert wrapped_cells(page, "th") == []
    short = [text for text in wrapped_cells(page, "td") if len(text) <= 32]
    assert short == []  # e.g. "logreg-C0.1" or "2026-11-29 21:44:12" broken at a hyphen


def test_run_panel_tables_keep_their_headers_whole_in_a_narrow_column(page, two_runs):
    show(page, tables_html(mlops.get_run(two_runs[0].id)), width=200)
    assert wrapped_cells(page, "th") == []  # the panel's columns break words anywhere; headers must not


def test_run_id_takes_a_short_column_with_the_full_id_as_its_tooltip(page, two_runs):
    table = mlops.runs("baseline-experiment")
    show(page, table._repr_html_())
    first = two_runs[1].id  # newest first
    cell = page.locator("tbody tr").first.locator("td").first
    assert cell.inner_text() == first[:8] and cell.get_attribute("title") == first
    widths = page.evaluate("[...document.querySelectorAll('th')].map(th => [th.textContent, "
                           "th.getBoundingClientRect().width])")
    widths = dict(widths)
    assert widths["run_id"] < widths["start_time"]
    assert first in repr(table)  # text (and to_frame) keep the whole id to copy


def test_metric_chart_step_axis_shows_whole_steps(page, two_runs):
    run_id = two_runs[0].id
    chart = curves_html({"loss": mlops.get_metric_history(run_id, "loss")}, plotlyjs="embed")
    show(page, chart)
    frame = page.frame_locator("iframe[title='metric curves']")
    frame.locator(".xtick text").first.wait_for()
    labels = frame.locator(".xtick text").evaluate_all("texts => texts.map(t => t.textContent)")
    assert labels == ["0", "1", "2", "3", "4"]


def widget_html(widget) -> str:
    """A static stand-in for an ipywidgets tree as JupyterLab lays it out: boxes as flex rows and
    columns, HTML widgets as their HTML, controls at their default sizes (28 px rows)."""
    import ipywidgets as widgets

    layout = widget.layout
    if isinstance(widget, widgets.Box):
        direction = "column" if isinstance(widget, widgets.VBox) else "row"
        inner = "".join(widget_html(child) for child in widget.children)
        return f"<div style='display:flex;flex-direction:{direction};gap:4px'>{inner}</div>"
    if isinstance(widget, widgets.HTML):
        return f"<div style='margin:2px 0'>{widget.value}</div>"
    label = f"<label style='width:80px;text-align:right;padding-right:6px'>{html.escape(widget.description)}</label>"
    if isinstance(widget, widgets.Dropdown):
        return f"<div style='display:flex'>{label}<select style='width:220px;height:28px'></select></div>"
    if isinstance(widget, widgets.Textarea):
        width = layout.width or "300px"
        height = layout.height or "3.5em"
        return f"<div style='display:flex;width:{width}'>{label}<textarea style='flex:1;height:{height}'></textarea></div>"
    if isinstance(widget, widgets.Button):
        return (f"<button class='widget-button' style='height:28px;flex:0 0 auto;white-space:nowrap'>"
                f"{html.escape(widget.description)}</button>")
    raise AssertionError(f"no stand-in for {type(widget).__name__}")


def test_registry_panel_of_a_36_param_pipeline_decides_in_the_first_screen(page, store, credit):
    with mlops.start_run(experiment="credit", name="pipeline"):
        mlops.log_dataset(credit, name="german-credit", role="train")
        mlops.log_params({"C": 1.0, "solver": "lbfgs"})
        mlops.log_metric("roc_auc", 0.79)
        mlops.register_model(fit_credit_model(credit)[0], name="credit-risk", target="creditability")
    panel = registry_panel("credit-risk")
    assert len(panel.version.params) == 36
    show(page, widget_html(panel))
    button = page.locator("button.widget-button", has_text="Request promotion").bounding_box()
    height = page.locator("#output").bounding_box()["height"]
    assert button["y"] < FIRST_SCREEN_PX, f"the request button is {button['y']:.0f} px down"
    assert height < PANEL_MAX_PX, f"the panel is {height:.0f} px tall"
    summaries = page.locator("details summary").all_inner_texts()
    packages = len(panel.version.env["packages"])
    assert summaries == ["Params (36)", "Input columns (20)", f"Packages ({packages})"]
    assert page.locator("details[open]").count() == 0
    stage = page.get_by_text("1/1 gates pass for staging now").bounding_box()
    assert stage["y"] < button["y"]  # the stage and gates lead, the form follows


def test_model_versions_and_audit_trail_show_short_ids_and_hashes_with_the_full_one_as_tooltip(page, store, credit):
    with mlops.start_run(experiment="credit", name="pipeline") as run:
        mlops.log_dataset(credit, name="german-credit", role="train")
        version = mlops.register_model(fit_credit_model(credit)[0], name="credit-risk", target="creditability")
    versions = mlops.models("credit-risk")
    show(page, versions._repr_html_())
    cells = page.locator("tbody tr").first.locator("td")
    columns = page.locator("th").all_inner_texts()
    run_cell, sha_cell = cells.nth(columns.index("run_id")), cells.nth(columns.index("sha256"))
    assert (run_cell.inner_text(), run_cell.get_attribute("title")) == (run.id[:8], run.id)
    assert (sha_cell.inner_text(), sha_cell.get_attribute("title")) == (version.sha256[:12], version.sha256)
    assert run.id in repr(versions) and version.sha256[:12] in repr(versions)

    trail = mlops.audit_trail()
    show(page, trail._repr_html_())
    newest = trail.events[0]
    hash_cell = page.locator("tbody tr").first.locator("td").last
    assert (hash_cell.inner_text(), hash_cell.get_attribute("title")) == (newest["hash"][:12], newest["hash"])
