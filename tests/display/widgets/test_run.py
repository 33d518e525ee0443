"""The run panel: what it shows, that it escapes user text, and that Refresh reloads from the store."""
from __future__ import annotations

import pytest

import mlops_nb as mlops
from mlops_nb.display.widgets import run_panel
from tests.factories import finished_run, without_styles


@pytest.fixture()
def store(sqlite_url, tmp_path):
    return mlops.init(project="panel", db_url=sqlite_url, user="dana", artifact_root=str(tmp_path / "artifacts"))


def curves_html(panel) -> str:
    return "".join(output["data"]["text/html"] for output in panel.curves.outputs)


def test_panel_shows_params_metrics_and_curves_of_a_run(store):
    run = finished_run("baseline", "lr-1", params={"C": 0.5, "penalty": "l2"}, metrics={"auc": 0.78})
    panel = run_panel(run.id)
    assert "lr-1" in panel.header.value and run.id in panel.header.value and "finished" in panel.header.value
    assert "<td>C</td><td>0.5</td>" in without_styles(panel.tables.value)
    assert "<td>penalty</td><td>l2</td>" in without_styles(panel.tables.value)
    assert "<td>auc</td><td>0.78</td>" in without_styles(panel.tables.value)
    html = curves_html(panel)
    assert "plotly" in html.lower() and "auc" in html
    assert panel.refresh_button.description == "Refresh"
    assert "refreshed" in panel.status.value


def test_panel_escapes_user_text(store):
    run = finished_run("baseline", "<b>run</b>", params={"<script>": "alert('x')"},
                       metrics={"<img src=x onerror=alert(1)>": 1.0})
    panel = run_panel(run.id)
    assert "&lt;script&gt;" in without_styles(panel.tables.value) and "<script>" not in panel.tables.value
    assert "alert(&#x27;x&#x27;)" in without_styles(panel.tables.value)
    assert "&lt;b&gt;run&lt;/b&gt;" in panel.header.value and "<b>run</b>" not in panel.header.value
    assert "<img" not in without_styles(panel.tables.value) and "<img" not in curves_html(panel)


def test_panel_without_a_run_id_shows_the_active_run_and_refresh_reloads_it(store):
    with mlops.start_run(experiment="live", name="training") as run:
        mlops.log_metric("loss", 0.9)
        panel = run_panel()
        assert "training" in panel.header.value and "running" in panel.header.value
        assert "<td>loss</td><td>0.9</td>" in without_styles(panel.tables.value)
        mlops.log_metric("loss", 0.4)
        panel.refresh_button.click()
        assert "<td>loss</td><td>0.4</td>" in without_styles(panel.tables.value)
    panel.refresh()
    assert "finished" in panel.header.value and panel.run_id == run.id


def test_panel_without_an_active_run_or_run_id_says_what_to_do(store):
    with pytest.raises(mlops.InvalidInput, match="no active run"):
        run_panel()


def test_panel_of_an_unknown_run_is_not_found(store):
    with pytest.raises(mlops.NotFound):
        run_panel("no-such-run")


def test_refresh_error_shows_in_the_panel_instead_of_raising(store, monkeypatch):
    run = finished_run("baseline", "lr-1", params={"C": 1})
    panel = run_panel(run.id)

    def gone(run_id):
        raise mlops.NotFound(f"run {run_id!r} <gone>")

    monkeypatch.setattr("mlops_nb.display.widgets.run._load", gone)
    panel.refresh()
    assert "&lt;gone&gt;" in panel.status.value
    assert "<td>C</td><td>1</td>" in without_styles(panel.tables.value)  # the last good view stays


def test_panel_magic_returns_the_panel(store):
    from IPython.core.interactiveshell import InteractiveShell

    run = finished_run("baseline", "lr-1", params={"C": 1})
    shell = InteractiveShell.instance()
    shell.extension_manager.load_extension("mlops_nb")
    try:
        panel = shell.run_line_magic("mlops", f"panel {run.id}")
        assert panel.run_id == run.id and "<td>C</td><td>1</td>" in without_styles(panel.tables.value)
        from IPython.core.error import UsageError

        with pytest.raises(UsageError, match="no active run"):
            shell.run_line_magic("mlops", "panel")
    finally:
        shell.extension_manager.unload_extension("mlops_nb")


def test_curves_load_plotly_from_its_cdn_by_default_and_say_so_when_it_cannot(store):
    import html as html_module

    run = finished_run("baseline", "cdn", metrics={"auc": 0.7})
    page = html_module.unescape(curves_html(run_panel(run.id)))
    assert "cdn.plot.ly" in page
    assert "typeof Plotly === 'undefined'" in page and "did not load from its CDN" in page


def test_curves_embed_plotly_for_offline_machines(store):
    import html as html_module

    run = finished_run("baseline", "offline", metrics={"auc": 0.7})
    page = html_module.unescape(curves_html(run_panel(run.id, plotlyjs="embed")))
    assert "cdn.plot.ly/plotly" not in page and len(page) > 1_000_000  # plotly.js itself is in the page


def test_an_unknown_plotly_mode_is_refused(store):
    run = finished_run("baseline", "bad", metrics={"auc": 0.7})
    with pytest.raises(mlops.InvalidInput, match="plotlyjs must be 'cdn' or 'embed', got 'local'"):
        run_panel(run.id, plotlyjs="local")
