"""Render every console page in AppTest on a store: log in once through the form, switch to each
page, time `at.run()`.

    MLOPS_DB_URL=... MLOPS_HOME=... .venv/bin/python benchmarks/console_apptest.py USER PASSWORD [REPEAT] [TITLE ...]

prints one JSON line: {"pages": {title: {"first_s", "median_s", "all_s", "elements", "error"}}, "login_s"}.
`first_s` is the run that switched to the page (its cached reads empty, as a user's first visit);
`median_s` the median of the REPEAT runs including that first one. A page the user's role does not
see, or that raises, gets "error" and no times. Runs in its own process (run_all and bench_console
start it) so the Streamlit caches start empty.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# the console to render: this checkout's, or another's (bench_console --app; its checkout then
# comes first on PYTHONPATH, so nav.PAGES and the app's page paths agree)
APP = Path(os.environ.get("MLOPS_BENCH_CONSOLE_APP") or ROOT / "mlops_nb" / "console" / "app.py")
TITLES = ("Overview", "Experiments", "Registry", "Approvals", "Audit", "Admin")


def _field(widgets: Any, label: str) -> Any:
    found = [w for w in widgets if w.label == label]
    if not found:
        raise RuntimeError(f"the login form has no {label!r}")
    return found[0]


def render_pages(user: str, password: str, repeat: int = 5, titles: tuple[str, ...] = TITLES) -> dict[str, Any]:
    """Times of each page in `titles` (see the module docstring)."""
    from streamlit.testing.v1 import AppTest

    from mlops_nb.console import nav

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    t0 = time.perf_counter()
    _field(at.text_input, "Username").input(user)
    _field(at.text_input, "Password").input(password)
    _field(at.button, "Log in").click()
    at.run()
    login_s = time.perf_counter() - t0
    if at.exception or not any(t.value == "Overview" for t in at.title):
        raise RuntimeError(f"logging in as {user!r} failed: {[e.value for e in at.exception] or [e.value for e in at.error]}")
    specs = {spec.title: spec for spec in nav.PAGES}
    role = at.session_state["_mlops_login"].identity.role if "_mlops_login" in at.session_state else None
    pages: dict[str, Any] = {}
    for title in titles:
        spec = specs.get(title)
        if spec is None or spec not in nav.visible(role):
            pages[title] = {"error": f"no page {title!r} for role {role}" if spec else f"no page {title!r} in nav.PAGES"}
            continue
        at.switch_page(f"views/{spec.file}")
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t)
        error = [e.value for e in at.exception][:1]
        if not error and not any(title in t.value for t in at.title):
            error = [f"the page's title is not {title!r}: {[t.value for t in at.title]}"]
        pages[title] = {"first_s": round(times[0], 4), "median_s": round(statistics.median(times), 4),
                        "all_s": [round(t, 4) for t in times], "elements": len(list(at.main)),
                        **({"error": str(error[0])[:300]} if error else {})}
    return {"login_s": round(login_s, 3), "user": user, "role": role, "repeat": repeat, "pages": pages}


def main() -> None:
    user, password = sys.argv[1], sys.argv[2]
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    titles = tuple(sys.argv[4:]) or TITLES
    print(json.dumps(render_pages(user, password, repeat, titles)), flush=True)


if __name__ == "__main__":
    main()
