"""Grading speed on a 1,000,000-row submission shaped like new-york-city-taxi-fare-prediction.

Goal (grading issue): grading a 1M-row submission takes under 5 s and under 1 GiB peak memory.

    python benchmarks/grade_speed.py [--rows 1000000] [--repeats 3]

Writes synthetic answers (MLE-bench's 8 answer columns) and a shuffled submission (key,
fare_amount) to a temp data dir, grades them with `gome.grading.grade_submission` against the real
competition spec in fresh subprocesses, and records the median wall time (and CPU time) of the
grading call and the peak resident memory (Linux VmHWM, which includes the interpreter and the
pandas/scikit-learn imports, measured separately as `baseline_rss_mib`). Writes
benchmarks/results/grade_speed.json.
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
from pathlib import Path

import numpy as np
import pandas as pd

COMPETITION = "new-york-city-taxi-fare-prediction"
RESULTS = Path(__file__).parent / "results" / "grade_speed.json"
GOAL_SECONDS = 5.0
GOAL_PEAK_MIB = 1024.0

# Runs in the child: imports first (baseline memory), then one timed grading call. Peak memory
# is the kernel's VmHWM of the child's own address space: ru_maxrss would carry over the parent's
# peak through fork + exec.
CHILD = """
import json, re, sys, time
from pathlib import Path
def peak_kib():
    return int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))
from gome.grading import grade_submission
baseline = peak_kib()
started, cpu = time.perf_counter(), time.process_time()
report = grade_submission(sys.argv[1], sys.argv[2], sys.argv[3])
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_kib": peak_kib(), "baseline_kib": baseline,
                  "score": report.score, "valid": report.valid_submission}))
"""


def write_data(data_dir: Path, rows: int, seed: int = 0) -> tuple[Path, float]:
    """Answers under the MLE-bench layout and a shuffled submission; returns (submission, rmse)."""
    rng = np.random.default_rng(seed)
    seconds = rng.integers(0, 6 * 365 * 86400, size=rows)
    stamps = pd.Timestamp("2009-01-01") + pd.to_timedelta(seconds, unit="s")
    when = pd.Series(stamps.strftime("%Y-%m-%d %H:%M:%S"))
    key = when + "." + pd.Series(np.arange(rows)).astype(str)  # unique, like Kaggle's keys
    fare = np.round(rng.gamma(2.0, 6.0, size=rows), 2)
    answers = pd.DataFrame(
        {
            "key": key,
            "fare_amount": fare,
            "pickup_datetime": when + " UTC",
            "pickup_longitude": rng.normal(-73.97, 0.04, rows).round(6),
            "pickup_latitude": rng.normal(40.75, 0.03, rows).round(6),
            "dropoff_longitude": rng.normal(-73.97, 0.04, rows).round(6),
            "dropoff_latitude": rng.normal(40.75, 0.03, rows).round(6),
            "passenger_count": rng.integers(1, 7, rows),
        }
    )
    private = data_dir / COMPETITION / "prepared" / "private"
    private.mkdir(parents=True)
    (data_dir / COMPETITION / "prepared" / "public").mkdir()
    answers.to_csv(private / "test.csv", index=False)
    prediction = np.round(fare + rng.normal(0, 3.0, rows), 4)
    submission = pd.DataFrame({"key": key, "fare_amount": prediction}).sample(
        frac=1.0, random_state=seed
    )
    path = data_dir / "submission.csv"
    submission.to_csv(path, index=False)
    return path, float(np.sqrt(np.mean((prediction - fare) ** 2)))


def grade_in_child(submission: Path, data_dir: Path) -> dict:
    """One grading run in a fresh interpreter: its timings, peak memory and report."""
    child = subprocess.run(
        [sys.executable, "-c", CHILD, COMPETITION, str(submission), str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(child.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes; median kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        submission, expected = write_data(data_dir, args.rows)
        size_mib = submission.stat().st_size / 2**20
        runs = [grade_in_child(submission, data_dir) for _ in range(args.repeats)]
    for run in runs:
        if not run["valid"] or abs(run["score"] - round(expected, 5)) > 1e-5:
            raise SystemExit(f"wrong grade: {run} (expected score {expected:.5f})")
    seconds = statistics.median(run["seconds"] for run in runs)
    peak_mib = max(run["peak_kib"] for run in runs) / 1024
    result = {
        "competition": COMPETITION,
        "rows": args.rows,
        "submission_mib": round(size_mib, 1),
        "repeats": args.repeats,
        "grade_seconds_median": round(seconds, 3),
        "grade_seconds_min": round(min(run["seconds"] for run in runs), 3),
        "grade_cpu_seconds_median": round(statistics.median(run["cpu"] for run in runs), 3),
        "peak_rss_mib": round(peak_mib, 1),
        "baseline_rss_mib": round(runs[0]["baseline_kib"] / 1024, 1),
        "score": runs[0]["score"],
        "goal": f"< {GOAL_SECONDS:g} s and < {GOAL_PEAK_MIB:g} MiB peak",
        "meets_goal": seconds < GOAL_SECONDS and peak_mib < GOAL_PEAK_MIB,
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f}, Python {platform.python_version()}, pandas {pd.__version__}"
        ),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
