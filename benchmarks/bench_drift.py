"""Time our drift engine beside evidently's DataDriftPreset and the physical floor, on the issue's data.

Data: `../shared/anchors/drift/make_data.py` (imported from there, never copied): reference and
current frames of N rows x 30 columns (20 numeric, 10 text categorical), drift in 8 named columns.
Every side runs in its own fresh process, one at a time (the machine has 2 cores):

- evidently 0.7.23: the anchors' `evidently_drift.py N --no-html --dump F`:
  `Report([DataDriftPreset()], include_tests=True).run(cur, ref)` (`t_run_s`) and the verdicts read
  from its snapshot (`t_run_extract_s`). The ratio uses `t_run_s`, evidently's smaller figure.
- the floor: the anchors' `floor.py N` (np.sort of every numeric and value_counts of every
  categorical column, both frames; best of 5).
- ours (`--worker`): (a) from scratch, `compute_drift(reference_profile(ref), cur)`; (b) with the
  stored reference, `compute_drift(ReferenceProfile.from_bytes(blob), cur)`: each cold (the first
  call in the process) and warm (best of BENCH_REPEAT). Plus `reference_profile` alone and the
  profile's size in bytes. Our verdicts are checked against evidently's: the same test and verdict
  for every column and the same share.
- 1,000,000 rows x 50 columns (make_data's 30 plus 20 from a second draw): ours from scratch, its
  time and the RSS it adds to what the two frames take (VmHWM reset through /proc/self/clear_refs
  before the run), and the error of the Wasserstein distances computed from the bounded (quantile)
  reference against scipy's on the raw columns.

Prints one JSON line and writes benchmarks/results/drift.json; the figures go to docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_drift.py                  # 100k x 30 (all sides) and 1M x 50, ~2 min
    BENCH_SKIP="evidently big" .venv/bin/python benchmarks/bench_drift.py
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench import emit, perf, r  # noqa: E402

ANCHORS = Path(os.environ.get("DRIFT_ANCHORS", Path(__file__).resolve().parents[2] / "shared" / "anchors" / "drift"))
if not ANCHORS.exists():
    ANCHORS = Path("/work/shared/anchors/drift")
N = int(os.environ.get("BENCH_N", "100000"))
BIG = int(os.environ.get("BENCH_BIG", "1000000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
SKIP = set(os.environ.get("BENCH_SKIP", "").split())
RESULTS = Path(__file__).resolve().parent / "results" / "drift.json"


def _frames(n: int, columns: int):
    sys.path.insert(0, str(ANCHORS))
    import make_data

    reference, current = make_data.make(n)
    if columns > reference.shape[1]:  # more columns: the first ones of a second draw, renamed
        extra_ref, extra_cur = make_data.make(n, seed=1)
        names = list(extra_ref.columns[: columns - reference.shape[1]])
        for frame, extra in ((reference, extra_ref), (current, extra_cur)):
            for name in names:
                frame[f"{name}_b"] = extra[name].to_numpy()
        del extra_ref, extra_cur
    return reference, current


def _rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(n: int, columns: int, big: bool) -> dict:
    """Ours, in this (fresh) process."""
    import gc

    import numpy as np
    from scipy import stats

    from mlops_nb.services.monitoring.drift_reference import ReferenceProfile, reference_profile
    from mlops_nb.services.monitoring.drift_rules import compute_drift

    reference, current = _frames(n, columns)
    gc.collect()
    out: dict = {"n": n, "columns": columns}
    warnings.simplefilter("error")  # a warning would be a bug: fail loudly
    if big:
        rss_frames = _rss_mb()
        try:
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")  # resets VmHWM to the current RSS
            reset = True
        except OSError:
            reset = False
        t0 = perf()
        profile = reference_profile(reference, source="dataset")
        t1 = perf()
        result = compute_drift(profile, current)
        t2 = perf()
        out.update(t_profile_s=r(t1 - t0, 4), t_drift_s=r(t2 - t1, 4), t_scratch_s=r(t2 - t0, 4),
                   rss_frames_mb=round(rss_frames, 1), rss_peak_mb=round(_rss_mb("VmHWM"), 1), hwm_reset=reset,
                   rss_added_mb=round(_rss_mb("VmHWM") - rss_frames, 1) if reset else None,
                   profile_mb=round(len(profile.to_bytes()) / 1e6, 1), share=result.share, tested=result.tested,
                   inexact_columns=sum(not c.exact for c in profile.columns.values()))
        errors = []
        for column in result.columns:  # the bounded reference's Wasserstein against scipy's on raw data
            if column.test == "wasserstein" and not profile.columns[column.column].exact:
                ref = reference[column.column].to_numpy(dtype=float)
                cur = current[column.column].to_numpy(dtype=float)
                ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
                exact = stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
                errors.append((abs(column.statistic - exact) / exact, abs(column.statistic - exact),
                               (exact >= 0.1) == column.drift))
        out.update(wasserstein_rel_error_max=max(e[0] for e in errors) if errors else None,
                   wasserstein_abs_error_max=max(e[1] for e in errors) if errors else None,
                   wasserstein_same_verdict=sum(e[2] for e in errors), wasserstein_inexact_columns=len(errors))
        return out
    t0 = perf()
    profile = reference_profile(reference)
    t1 = perf()
    result = compute_drift(profile, current)
    t2 = perf()
    blob = profile.to_bytes()
    t3 = perf()
    compute_drift(ReferenceProfile.from_bytes(blob), current)
    t4 = perf()
    out.update(t_scratch_cold_s=r(t2 - t0, 4), t_profile_cold_s=r(t1 - t0, 4), t_stored_cold_s=r(t4 - t3, 4),
               profile_mb=round(len(blob) / 1e6, 1))
    scratch, stored, profiles, drift_only = [], [], [], []
    for _ in range(REPEAT):
        t0 = perf()
        profile = reference_profile(reference)
        t1 = perf()
        compute_drift(profile, current)
        t2 = perf()
        compute_drift(ReferenceProfile.from_bytes(blob), current)
        t3 = perf()
        scratch.append(t2 - t0)
        profiles.append(t1 - t0)
        drift_only.append(t2 - t1)
        stored.append(t3 - t2)
    out.update(t_scratch_warm_s=r(min(scratch), 4), t_stored_warm_s=r(min(stored), 4),
               t_profile_warm_s=r(min(profiles), 4), t_drift_only_warm_s=r(min(drift_only), 4),
               share=result.share, drifted=result.drifted, tested=result.tested,
               verdicts={c.column: [c.test, c.statistic, c.drift] for c in result.columns})
    return out


def _run(args: list[str]) -> dict:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    out: dict = {"n": N}
    here = os.path.abspath(__file__)
    floor = _run([str(ANCHORS / "floor.py"), str(N), "--repeat", "5"])
    out["floor_s"] = floor["t_floor_s"]
    ours = _run([here, "--worker", str(N), "30"])
    verdicts = ours.pop("verdicts")
    out["ours"] = ours
    if "evidently" not in SKIP:
        with tempfile.TemporaryDirectory() as tmp:
            dump = os.path.join(tmp, "evidently.json")
            theirs = _run([str(ANCHORS / "evidently_drift.py"), str(N), "--no-html", "--dump", dump])
        names = {"K-S p_value": "ks", "Wasserstein distance (normed)": "wasserstein",
                 "Jensen-Shannon distance": "jensenshannon", "chi-square p_value": "chisquare", "Z-test p_value": "z"}
        columns = theirs.pop("columns")
        differ = [c for c, v in columns.items()
                  if [names[v["method"]], v["drift"]] != [verdicts[c][0], verdicts[c][2]]]
        out["evidently"] = {k: theirs[k] for k in ("version", "t_run_s", "t_run_extract_s", "share_drifted",
                                                   "rss_peak_mb_after_data", "rss_peak_mb_after_run")}
        out["parity"] = {"columns": len(columns), "same_test_and_verdict": len(columns) - len(differ),
                         "differ": differ, "same_share": abs(theirs["share_drifted"] - ours["share"]) < 1e-12}
        t_ev = theirs["t_run_s"]
        out["ratios"] = {f"evidently_over_{k}": round(t_ev / ours[k], 1) for k in
                         ("t_scratch_cold_s", "t_scratch_warm_s", "t_stored_cold_s", "t_stored_warm_s")}
    out["floor_ratios"] = {f"{k}_over_floor": round(ours[k] / floor["t_floor_s"], 2) for k in
                           ("t_scratch_warm_s", "t_stored_warm_s")}
    if "big" not in SKIP:
        out["big"] = _run([here, "--worker", str(BIG), "50", "--big"])
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    out["finished_utc"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1) + "\n")
    emit("drift", **out)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(worker(int(sys.argv[2]), int(sys.argv[3]), "--big" in sys.argv)))
    else:
        main()
