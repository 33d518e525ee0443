"""A headless Chromium page for layout tests, and a page that looks like a JupyterLab output area.

The browser is the system's Chromium (`/usr/bin/chromium`, or MLOPS_CHROMIUM), driven by playwright
(a dev dependency); playwright never downloads one here. Without either the tests fail and say what
to install: .ci/run installs Chromium with apt.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("MLOPS_CHROMIUM", "/usr/bin/chromium")
# The rules JupyterLab 4 applies to HTML outputs (packages/rendermime/style/base.css,
# `.jp-RenderedHTMLCommon`), the ones that decide how a table wraps and how tall it is.
JUPYTERLAB_CSS = """
body { margin: 0; font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; font-size: 14px; }
.jp-RenderedHTMLCommon { line-height: 1.5; }
.jp-RenderedHTMLCommon table { border-collapse: collapse; border-spacing: 0; border: none; font-size: 12px;
  table-layout: fixed; margin-left: auto; margin-right: auto; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon tr { text-align: right;
  vertical-align: middle; padding: 0.5em; line-height: normal; white-space: normal; max-width: none; border: none; }
.jp-RenderedHTMLCommon th { font-weight: bold; }
"""


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set MLOPS_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    """A new 1000 x 900 page; `show(page, html)` puts an output in it."""
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    yield context.new_page()
    context.close()


def show(page, body: str, width: int | None = None) -> None:
    """`body` as a JupyterLab HTML output, in a column `width` px wide (the viewport's when None)."""
    style = f"width:{width}px" if width else ""
    page.set_content(f"<html><head><style>{JUPYTERLAB_CSS}</style></head><body>"
                     f"<div id='output' class='jp-RenderedHTMLCommon' style='{style}'>{body}</div></body></html>")


def wrapped_cells(page, selector: str) -> list[str]:
    """The text of each `selector` cell whose text takes more than one line."""
    return page.evaluate("""(selector) => [...document.querySelectorAll(selector)].filter((cell) => {
        const range = document.createRange(); range.selectNodeContents(cell);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        return tops.size > 1;
    }).map(cell => cell.textContent)""", selector)
