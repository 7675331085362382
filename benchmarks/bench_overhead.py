"""Scheduling overhead of `gome bench`: 100 trivial runs through each executor.

A trivial run is a `RunTask` whose command is `true` (a process that exits at once): it goes
through everything a real run goes through in the executor — the run folder, the attempts log,
the console log, the fresh/resume decision, `Popen` in its own session with the parent-death
signal, the wait, the outcome — and nothing of `gome solve` itself (whose Python start-up,
about a second, is the run's, not the scheduler's). For scale, the same `true` is timed
started bare (`subprocess.run`, one after another).

Each executor runs the 100 runs one at a time (parallel 1: per-run overhead = wall / 100 less
the bare start) and two at a time (parallel 2: throughput). Ray runs on a local cluster of 2
CPUs started here (its start-up is reported apart), after a warm-up batch that starts its
workers; parallel 1 is tasks asking for both CPUs.

    python benchmarks/bench_overhead.py [--runs 100] [--no-ray]

Writes benchmarks/results/bench_overhead.json (with the load average before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from gome.bench.executors import Executor, LocalExecutor, RunTask
from gome.models.server import cpu_count

RESULTS = Path(__file__).parent / "results" / "bench_overhead.json"
TRUE = shutil.which("true") or "/bin/true"


def tasks(root: Path, runs: int, cpus: float, tag: str) -> list[RunTask]:
    return [
        RunTask(f"{tag}{i}", root / tag / f"run{i}", (TRUE,), (TRUE,), cpus=cpus)
        for i in range(runs)
    ]


def timed(executor: Executor, batch: list[RunTask]) -> dict[str, float]:
    started = time.perf_counter()
    outcomes = executor.run(batch, lambda name: None, lambda outcome: None)
    wall = time.perf_counter() - started
    assert len(outcomes) == len(batch) and all(o.ok for o in outcomes), outcomes[:3]
    return {"wall_s": round(wall, 3), "per_run_s": round(wall / len(batch), 4)}


def bare(runs: int) -> dict[str, float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([TRUE], check=True)
        seconds.append(time.perf_counter() - started)
    return {
        "median_s": round(statistics.median(seconds), 5),
        "mean_s": round(sum(seconds) / runs, 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()
    result: dict = {
        "runs": args.runs,
        "command": TRUE,
        "machine": {"cpus": cpu_count(), "python": platform.python_version()},
        "loadavg_before": [round(x, 2) for x in load_before],
        "bare_start": bare(args.runs),
    }
    base = result["bare_start"]["mean_s"]
    with tempfile.TemporaryDirectory(prefix="gome-bench-overhead-") as tmp:
        root = Path(tmp)
        local = {}
        for parallel in (1, 2):
            pool = LocalExecutor(cpus=2, max_parallel=parallel)
            local[f"parallel_{parallel}"] = timed(pool, tasks(root, args.runs, 1, f"l{parallel}"))
        local["overhead_per_run_s"] = round(local["parallel_1"]["per_run_s"] - base, 4)
        result["local"] = local
        if not args.no_ray:
            import ray

            from gome.bench.ray_executor import RayExecutor

            started = time.perf_counter()
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            remote = {"version": ray.__version__, "init_s": round(time.perf_counter() - started, 2)}
            try:
                executor = RayExecutor()
                remote["warmup"] = timed(executor, tasks(root, 4, 1, "warm"))
                remote["parallel_1"] = timed(executor, tasks(root, args.runs, 2, "r1"))
                remote["parallel_2"] = timed(executor, tasks(root, args.runs, 1, "r2"))
            finally:
                ray.shutdown()
            remote["overhead_per_run_s"] = round(remote["parallel_1"]["per_run_s"] - base, 4)
            result["ray"] = remote
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
