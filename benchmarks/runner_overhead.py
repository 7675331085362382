"""Runner overhead: wall time of `run_script` for a script that does nothing.

Goal: median < 0.2 s per run with the sandbox in force. The script prints the metric line and
writes a one-line submission, so each run goes the whole way to an `ok` label. For scale, the
same script is also timed as a bare `python script.py` (interpreter start-up alone).

    python benchmarks/runner_overhead.py [--runs 30]

Writes benchmarks/results/runner_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gome.runner import FailureLabel, Limits, isolation_mode, run_script

RESULTS = Path(__file__).parent / "results" / "runner_overhead.json"
GOAL_MEDIAN_S = 0.2
SCRIPT = "open('submission.csv', 'w').write('id,y\\n1,0\\n')\nprint('validation_score: 1.0')\n"


def summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "median_s": round(statistics.median(ordered), 4),
        "p90_s": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 4),
        "min_s": round(ordered[0], 4),
        "max_s": round(ordered[-1], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    mode = isolation_mode()  # detection (one probe run) is not part of the per-run figure
    limits = Limits(timeout_s=60)
    with tempfile.TemporaryDirectory(prefix="gome-overhead-") as tmp:
        root = Path(tmp)
        public = root / "public"
        public.mkdir()
        (public / "train.csv").write_text("id,y\n1,0\n")
        script = root / "solution.py"
        script.write_text(SCRIPT)

        sandboxed: list[float] = []
        for index in range(args.runs):
            started = time.perf_counter()
            result = run_script(script, root / f"trial-{index}", public, limits)
            sandboxed.append(time.perf_counter() - started)
            if result.label is not FailureLabel.OK:
                raise SystemExit(f"run {index} ended {result.label}: {result.output_excerpt}")

        bare: list[float] = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, str(script)], cwd=root, check=True, capture_output=True)
            bare.append(time.perf_counter() - started)

    report = {
        "benchmark": "runner_overhead",
        "runs": args.runs,
        "isolation": mode,
        "goal_median_s": GOAL_MEDIAN_S,
        "run_script": summary(sandboxed),
        "bare_python": summary(bare),
        "goal_met": statistics.median(sandboxed) < GOAL_MEDIAN_S,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
