"""Screenshots of the notebook output in JupyterLab, in headless Chromium: what a person sees.

    PYTHONPATH=. .venv/bin/python -m tests.display.screenshots docs/img

Builds a store with a tracked run (a metric over five steps) and a registered 36-param pipeline,
starts JupyterLab on a free local port in a temporary folder, runs a notebook showing a run table,
the run panel with its metric chart and the registry panel, and saves one PNG per output. Uses the
system's Chromium (`/usr/bin/chromium`, or `MLOPS_CHROMIUM`); it never downloads a browser.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM = os.environ.get("MLOPS_CHROMIUM", "/usr/bin/chromium")
CELLS = [
    "%load_ext mlops_nb\n%mlops init --project view --user dana",
    """from importlib.resources import files

import pandas as pd
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mlops_nb as mlops

credit = pd.read_csv(files("mlops_nb") / "data" / "german_credit.csv")
X, y = credit.drop(columns="creditability"), (credit["creditability"] == "bad").astype(int)
for C in (1.0, 0.1):
    with mlops.start_run(experiment="view", name=f"logreg-C{C}") as run:
        mlops.log_dataset(credit, name="german-credit", role="train")
        mlops.log_params({"C": C, "max_iter": 1000})
        for step, loss in enumerate([0.61, 0.55, 0.52, 0.51, 0.505]):
            mlops.log_metric("loss", loss * (1 + C / 10), step=step)
        features = make_column_transformer(
            (StandardScaler(), make_column_selector(dtype_include="number")),
            (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_exclude="number")))
        model = make_pipeline(features, LogisticRegression(C=C, max_iter=1000)).fit(X, y)
        mlops.log_metric("roc_auc", 0.79)
        version = mlops.register_model(model, name="credit-risk", target="creditability")
run_id = run.id
len(version.params)""",
    "%mlops runs --experiment view",
    "%mlops panel $run_id --embed-plotly",  # offline: plotly.js in the page
    "%mlops registry credit-risk",
    "%mlops models credit-risk",
    "%mlops audit",
]
SHOTS = {2: "run-table.png", 3: "run-panel.png", 4: "registry-panel.png", 5: "model-versions.png", 6: "audit.png"}


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_notebook(folder: Path) -> Path:
    """The notebook of `CELLS`, unexecuted."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "view.ipynb"
    nbformat.write(nb, path)
    return path


def start_lab(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """JupyterLab serving `folder` on 127.0.0.1:`port`, no token, no browser; waits until it answers."""
    env = {**os.environ, "MLOPS_HOME": str(folder / "home"), "JUPYTER_CONFIG_DIR": str(folder / "jupyter-config")}
    lab = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         "--IdentityProvider.token=", "--ServerApp.password=", "--allow-root",
         f"--ServerApp.root_dir={folder}", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=open(folder / "lab.log", "wb"))  # noqa: SIM115
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=2)  # noqa: S310 - our own server
            return lab
        except OSError:
            time.sleep(0.5)
    lab.terminate()
    raise RuntimeError(f"JupyterLab did not start; see {folder / 'lab.log'}")


def shoot(out: Path, width: int = 1280, height: int = 2400) -> list[Path]:
    """Run the notebook in JupyterLab and save one PNG per shown output into `out` (the window is tall
    so that an output shows whole however long it is; the PNG's height is the output's)."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_notebook(folder)
        port = free_port()
        lab = start_lab(folder, port)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(f"http://127.0.0.1:{port}/lab/tree/view.ipynb")
                page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
                page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], "
                                       ".jp-KernelStatus", timeout=120_000)
                time.sleep(3)
                no_news = page.get_by_role("button", name="No", exact=True)
                if no_news.count():
                    no_news.first.click()  # JupyterLab asks whether to fetch its news
                page.get_by_role("menuitem", name="Run", exact=True).click()
                page.get_by_text("Run All Cells", exact=True).click()
                cells = page.locator(".jp-Notebook .jp-CodeCell")
                last = cells.nth(len(CELLS) - 1)
                last.locator(".jp-OutputArea-output").first.wait_for(timeout=240_000)
                time.sleep(6)  # widgets and the chart's iframe draw
                for index, name in SHOTS.items():
                    area = cells.nth(index).locator(".jp-Cell-outputWrapper")
                    area.scroll_into_view_if_needed()
                    target = out / name
                    area.screenshot(path=str(target))
                    saved.append(target)
                browser.close()
        finally:
            lab.terminate()
            lab.wait(timeout=30)
    return saved


if __name__ == "__main__":
    for path in shoot(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")):
        print(path)
