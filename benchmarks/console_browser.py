"""Time the first visible run row in headless Chromium: MLflow's runs page and the console's Experiments page.

MLflow's side is measured as ../shared/anchors/mlflow-ui/bench.py measures it: a new page, `goto`
the runs page's URL, wait for a visible `.ag-row` link to a run (ag-grid rows are DOM), cold in a
new browser context (empty HTTP cache) each time, warm in one context after a warm-up load.

The console's Experiments page draws its runs table with `st.dataframe`, a glide-data-grid: the
cells are painted on a canvas, so there is no row element to wait for. The grid keeps an
accessibility table beside the canvas (`tr[role=row]` with `aria-rowindex`, one per drawn row, the
cells' text as the canvas shows it), built from the same data in the same render as the canvas.
"First row visible" is the first animation frame (`wait_for_function(polling="raf")`) at which
- the page's `h1` names the page (`Experiments`) and is not stale (Streamlit marks the elements of
  a previous script run `data-stale="true"` until the new run replaces them), and
- a non-stale `st.dataframe` with a non-zero box holds a data row (`aria-rowindex` > 1) whose text
  contains a run name of the store (`sweep-`; none of the store's other names contain it).
This needs nothing from the page but the title and a run name in the table; a caption with the
count would need the page to write one, and would appear before or after the grid depending on
the page. The login is a browser session: the console keeps it in the Streamlit session, so a
fresh `goto` of /experiments is logged out. The console's figures are therefore from a click on
`Experiments` in the navigation of a logged-in session (cold: in a new browser context, the first
visit of the page after logging in; warm: the same session, back from Overview); `cold_from_open`
also counts opening the console and logging in.
"""
from __future__ import annotations

import json
import re
import time
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
VIEWPORT = {"width": 1600, "height": 1000}

MLFLOW_INIT = """
(() => {
  window.__firstRow = null;
  const sel = %s;
  let obs = null;
  const check = () => { if (window.__firstRow === null && document.querySelector(sel)) {
    window.__firstRow = performance.now(); obs && obs.disconnect(); } };
  const start = () => { obs = new MutationObserver(check);
    obs.observe(document.documentElement, {childList: true, subtree: true}); check(); };
  if (document.documentElement) start(); else document.addEventListener('readystatechange', start, {once: true});
})();
"""

FIRST_ROW = """
([title, text, graceMs]) => {
  const fresh = '[data-testid="stElementContainer"]:not([data-stale="true"])';
  if (![...document.querySelectorAll(fresh + ' h1')].some(h => h.textContent.includes(title))) return false;
  for (const grid of document.querySelectorAll(fresh + ' [data-testid="stDataFrame"]')) {
    const box = grid.getBoundingClientRect();
    if (box.width < 1 || box.height < 1) continue;
    for (const row of grid.querySelectorAll('tr[role="row"]')) {
      if (row.getAttribute('aria-rowindex') !== '1' && row.textContent.includes(text)) return performance.now();
    }
  }
  // a page whose script finished without drawing a run row: give up after graceMs (-1), not the timeout
  const settled = !document.querySelector('[data-stale="true"]') && !document.querySelector('[data-testid="stStatusWidget"]');
  if (!settled) { window.__settledAt = null; return false; }
  window.__settledAt = window.__settledAt || performance.now();
  return performance.now() - window.__settledAt > graceMs ? -1 : false;
}
"""
NO_ROW_GRACE_S = 30  # s a settled page may take to draw its table before the harness says it has none

SETTLED = """
([title]) => {
  const fresh = '[data-testid="stElementContainer"]:not([data-stale="true"])';
  const titled = [...document.querySelectorAll(fresh + ' h1')].some(h => h.textContent.includes(title));
  return titled && !document.querySelector('[data-stale="true"]') && !document.querySelector('[data-testid="stStatusWidget"]');
}
"""


def launch(p: Any) -> Any:
    """Debian's headless Chromium (never a downloaded browser)."""
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def mlflow_load(ctx: Any, url: str, row_sel: str, timeout_s: float, shot: str | None = None) -> dict[str, Any]:
    """One load of MLflow's runs page in a new page of `ctx`: wall s from `goto` to a visible run row,
    or {"error"} when none shows within `timeout_s`."""
    try:
        return _mlflow_load(ctx, url, row_sel, timeout_s, shot)
    except Exception as err:  # a load that never shows a row is reported, and the others still run
        return {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"}


def _mlflow_load(ctx: Any, url: str, row_sel: str, timeout_s: float, shot: str | None) -> dict[str, Any]:
    pg = ctx.new_page()
    pg.add_init_script(MLFLOW_INIT % json.dumps(row_sel))
    t0 = time.perf_counter()
    pg.goto(url, wait_until="commit")
    pg.wait_for_selector(row_sel, state="visible", timeout=timeout_s * 1000)
    wall = time.perf_counter() - t0
    inpage = pg.evaluate("window.__firstRow")
    text = pg.locator(".ag-row").first.inner_text()
    if shot:
        pg.wait_for_timeout(500)
        pg.screenshot(path=shot)
    pg.close()
    return {"wall_s": round(wall, 3), "inpage_ms": round(inpage, 1) if inpage else None, "first_row": text[:80]}


def mlflow_first_rows(base: str, experiment_id: str, cold: int, warm: int, timeout_s: float,
                      shot: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """MLflow's runs page: `cold` loads each in a new context, then `warm` loads in one context after a warm-up."""
    from playwright.sync_api import sync_playwright

    url = f"{base}/#/experiments/{experiment_id}/runs"
    row_sel = f".ag-row a[href*='#/experiments/{experiment_id}/runs/']"
    out: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
    with sync_playwright() as p:
        browser = launch(p)
        for i in range(cold):
            ctx = browser.new_context(viewport=VIEWPORT)
            out["cold"].append(mlflow_load(ctx, url, row_sel, timeout_s, shot if i == cold - 1 else None))
            ctx.close()
        ctx = browser.new_context(viewport=VIEWPORT)
        mlflow_load(ctx, url, row_sel, timeout_s)
        out["warm"] = [mlflow_load(ctx, url, row_sel, timeout_s) for _ in range(warm)]
        ctx.close()
        browser.close()
    return out


def nav_link(pg: Any, title: str) -> Any:
    """The navigation's link to the page titled `title` (its text also holds the icon's name)."""
    return pg.locator('[data-testid="stSidebarNavLink"]', has_text=re.compile(rf"{re.escape(title)}$")).first


def log_in(pg: Any, base: str, user: str, password: str, timeout_s: float, landing: str = "Overview") -> float:
    """Open the console and log in through its form; s until the navigation shows `landing`."""
    t0 = time.perf_counter()
    pg.goto(base, wait_until="commit")
    pg.get_by_role("textbox", name="Username", exact=True).fill(user, timeout=timeout_s * 1000)
    pg.get_by_role("textbox", name="Password", exact=True).fill(password)
    pg.get_by_role("button", name="Log in").click()
    nav_link(pg, landing).wait_for(state="visible", timeout=timeout_s * 1000)
    return time.perf_counter() - t0


def go(pg: Any, title: str, timeout_s: float, row_text: str | None) -> dict[str, Any]:
    """Click `title` in the navigation; wall s (and in-page ms) until its first run row is visible
    (`row_text`), or until the page is settled when `row_text` is None."""
    t_click = pg.evaluate("window.__settledAt = null, performance.now()")
    t0 = time.perf_counter()
    nav_link(pg, title).click()
    if row_text is None:
        pg.wait_for_function(SETTLED, arg=[title], polling=100, timeout=timeout_s * 1000)
        return {"wall_s": round(time.perf_counter() - t0, 3)}
    handle = pg.wait_for_function(FIRST_ROW, arg=[title, row_text, NO_ROW_GRACE_S * 1000], polling="raf",
                                  timeout=timeout_s * 1000)
    wall = time.perf_counter() - t0
    if handle.json_value() == -1:
        raise RuntimeError(f"the {title} page finished without a row showing {row_text!r} "
                           f"(waited {NO_ROW_GRACE_S} s after it settled)")
    return {"wall_s": round(wall, 3), "inpage_ms": round(handle.json_value() - t_click, 1)}


def console_first_rows(base: str, user: str, password: str, cold: int, warm: int, timeout_s: float,
                       row_text: str, page: str = "Experiments", shot: str | None = None) -> dict[str, Any]:
    """The console's `page`: `cold` first visits, each in a new context logged in anew (`cold_from_open`
    adds the time to open the console and log in), then `warm` visits in one session, back from Overview."""
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {"cold": [], "warm": [], "login_s": []}
    with sync_playwright() as p:
        browser = launch(p)
        for i in range(cold):
            ctx = browser.new_context(viewport=VIEWPORT)
            pg = ctx.new_page()
            login_s = log_in(pg, base, user, password, timeout_s)
            pg.wait_for_function(SETTLED, arg=["Overview"], polling=100, timeout=timeout_s * 1000)
            one = go(pg, page, timeout_s, row_text)
            one["cold_from_open_s"] = round(login_s + one["wall_s"], 3)
            out["cold"].append(one)
            out["login_s"].append(round(login_s, 3))
            if shot and i == cold - 1:
                pg.wait_for_timeout(1000)
                pg.screenshot(path=shot, full_page=True)
            ctx.close()
        ctx = browser.new_context(viewport=VIEWPORT)
        pg = ctx.new_page()
        log_in(pg, base, user, password, timeout_s)
        for i in range(warm + 1):
            go(pg, "Overview", timeout_s, None)
            one = go(pg, page, timeout_s, row_text)
            if i:  # the first is the warm-up
                out["warm"].append(one)
        ctx.close()
        browser.close()
    return out


def visit_pages(base: str, user: str, password: str, titles: list[str], timeout_s: float,
                shots: str | None = None) -> list[dict[str, Any]]:
    """Log in and open each page once (what the memory figure is taken after); s until each settled,
    or the error. With `shots`, a full-page PNG of each page goes to that folder."""
    from playwright.sync_api import sync_playwright

    seen = []
    with sync_playwright() as p:
        browser = launch(p)
        ctx = browser.new_context(viewport=VIEWPORT)
        pg = ctx.new_page()
        log_in(pg, base, user, password, timeout_s)
        for title in titles:
            try:
                one = {"page": title, **go(pg, title, timeout_s, None)}
                if shots:
                    pg.screenshot(path=f"{shots}/{title.lower()}.png", full_page=True)
            except Exception as err:  # a page that is missing or never settles is reported, not fatal
                one = {"page": title, "error": f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"}
            seen.append(one)
        ctx.close()
        browser.close()
    return seen
