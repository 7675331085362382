"""OMEGA's evaluation suite on the reference models alone: wall-clock and per-dataset scores.

Goal (issue 8): the baselines-only suite (every default dataset, 5x2-fold CV, 7 reference
models per task) runs in at most 10 minutes on 2 cores. Cached reference scores are ignored:
every fit runs. The machine may be shared, so the load average is recorded with the result.

    python benchmarks/omega_baselines.py [--datasets iris,wine,...] [--jobs N]

Writes benchmarks/results/omega_baselines.json and the report (report.md, scores/ranks CSVs,
critical-difference PNGs) to benchmarks/results/omega_baselines/; sandbox job folders go to a
temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

from omega.evaluate import default_jobs
from omega.pipeline import SuiteSettings, baseline_scores
from omega.report import summarise, write_report

RESULTS = Path(__file__).parent / "results" / "omega_baselines.json"
REPORT_DIR = RESULTS.with_suffix("")
GOAL_S = 600.0


def git_commit() -> str:
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", help="comma-separated subset (default: the whole suite)")
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    names = args.datasets.split(",") if args.datasets else None
    settings = SuiteSettings(datasets=names, n_jobs=args.jobs)

    prepare_start = time.monotonic()
    suite = settings.suite()
    prepare_s = time.monotonic() - prepare_start
    work = Path(tempfile.mkdtemp(prefix="omega-baselines-"))
    load_before = os.getloadavg()
    start = time.monotonic()
    by_task = baseline_scores(suite, work, fresh=True)
    wall = time.monotonic() - start
    load_after = os.getloadavg()
    results = summarise(by_task)
    report = write_report(results, REPORT_DIR, "Reference models only (benchmark).")

    entry = {
        "benchmark": "omega_baselines",
        "commit": git_commit(),
        "datasets": len(suite.datasets),
        "dataset_names": [d.name for d in suite.datasets],
        "subset": names is not None,
        "protocol": f"{suite.n_repeats}x{suite.n_splits}-fold CV",
        "fit_timeout_s": suite.fit_timeout_s,
        "n_jobs": suite.n_jobs,
        "cores": default_jobs(),
        "wall_clock_s": round(wall, 1),
        "prepare_s": round(prepare_s, 1),
        "goal_s": GOAL_S,
        "goal_met": wall <= GOAL_S and names is None,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "per_estimator_s": {
            f"{s.task}/{s.name}": round(s.seconds, 1) for scores in by_task.values() for s in scores
        },
        "mean_ranks": {
            r.task: {k: round(v, 3) for k, v in r.comparison.mean_ranks.items()} for r in results
        },
        "friedman_p": {
            r.task: r.comparison.friedman.p_value if r.comparison.friedman else None
            for r in results
        },
        "scores": {
            s.task + "/" + s.name: {d: round(s.mean(d), 4) for d in s.folds}
            for scores in by_task.values()
            for s in scores
        },
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    RESULTS.write_text(json.dumps(entry, indent=1) + "\n", encoding="utf-8")
    print(f"{len(suite.datasets)} datasets, wall clock {wall:.0f} s; report: {report}")


if __name__ == "__main__":
    main()
