"""The scorecard benchmark's store (benchmarks/scorecards_store.py), tiny: its three kinds of project
reach the three phases the benchmark claims, so a change to the rules that left the bulk rows behind
(every project scoring 0, say) is caught here rather than timed as if it still did the work. That
more runs add no statement is the service's own test (tests/services/monitoring/test_scorecards_speed.py)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bench_store_holds_a_project_at_each_phase(tmp_path, monkeypatch):
    from mlops_nb.services.monitoring import scorecards
    from mlops_nb.store.db import dispose_engines, get_engine, session_scope

    store = _load("scorecards_store")
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path))  # build() points it at the store's folder
    with pytest.raises(ValueError, match="at least 3 runs"):
        store.build(projects=1, models=1, runs=2, directory=str(tmp_path / "bad"))
    built = store.build(projects=3, models=9, runs=3, directory=str(tmp_path / "store"))
    assert built["rows"]["run"] == 81 and built["models"] == 27
    with session_scope(get_engine(built["url"])) as s:
        cards = scorecards.portfolio(session=s)
    dispose_engines()
    assert [c.phase for c in cards] == [3, 2, 1]  # portfolio-00 advanced, -01 automated, -02 foundational
    advanced = cards[0]
    assert {m.phase for m in advanced.models} == {3, 1}  # models 8 and 9 were never promoted
    assert advanced.ml_test_score.final == 1.5  # data.1 and two attested data tests: data is the weakest
