"""The project's head-to-head: `gome bench --split offline` of GoME, AIDE and the built-in agent.

Runs the real `gome bench` (every competition that can be prepared with no credentials, each
agent and seed a full `gome solve` run, the LLM agents on one shared managed llama.cpp server)
in a bench folder that survives the script, so re-running the same command resumes it. When the
bench is done, its report (markdown, CSV, MLE-bench-shaped JSON, grading reports and plots) is
copied into benchmarks/results/bench_offline/ with the settings, wall-clock and load average,
and `model_steps.json` counts, per LLM agent and competition, the steps the model wrote (the
trials that spent tokens: not the built-in seed, not the harness's re-runs) and how many of
them ran and left a valid submission.

    python benchmarks/bench_offline.py [--minutes 4] [--seeds 3] [--max-parallel 2]
        [--cpus-per-run 0.5] [--agents gome,aide,builtin]
        [--model local] [--bench-dir runs/bench-offline-local]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import gome
from gome.journal import Journal
from gome.models.server import cpu_count

RESULTS = Path(__file__).parent / "results" / "bench_offline"
REPORT_FILES = ("report.md", "report.csv", "report.json", "any_medal.png")
REPORT_DIRS = ("grading_reports", "progress")


def copy_report(bench_dir: Path) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in REPORT_FILES:
        shutil.copy2(bench_dir / name, RESULTS / name)
    for name in REPORT_DIRS:
        shutil.copytree(bench_dir / name, RESULTS / name, dirs_exist_ok=True)


def model_steps(runs: Iterable[tuple[str, str, Path]]) -> dict[str, dict]:
    """Per `<agent>/<group>` (and `<agent>/all`) of `runs` (agent, group, run folder): the
    model-written steps of every run, how many were valid, and their labels."""
    steps: dict[str, list] = {}
    for agent, group, run_dir in runs:
        written = [t for t in Journal(run_dir) if t.tokens > 0]
        for key in (f"{agent}/{group}", f"{agent}/all"):
            steps.setdefault(key, []).extend(written)
    return {
        key: {
            "steps": len(trials),
            "valid": sum(t.is_valid for t in trials),
            "valid_rate": round(sum(t.is_valid for t in trials) / len(trials), 3),
            "labels": dict(Counter(t.label for t in trials)),
            "operators": dict(Counter(t.operator for t in trials)),
        }
        for key, trials in sorted(steps.items())
        if trials
    }


def code_commit() -> str:
    """The commit of the gome package in use (a benchmark may run another checkout's, put on
    PYTHONPATH), marked when its gome/ has uncommitted changes."""
    root = Path(gome.__file__).parent.parent
    git = ["git", "-C", str(root)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "gome"], capture_output=True, text=True)
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def run_timed(command: list[str]) -> dict:
    """Run a `python -m gome ...` command; its settings, return code, wall-clock and load."""
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    proc = subprocess.run(command)
    meta = {
        "command": ["gome", *command[3:]],
        "commit": code_commit(),
        "returncode": proc.returncode,
        "wall_s_this_invocation": round(time.monotonic() - started, 1),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "machine": f"{platform.machine()}, {cpu_count()} CPUs, no GPU",
    }
    print(json.dumps(meta))
    return meta


def append_invocation(results: Path, meta: dict) -> None:
    """Add `meta` to results/meta.json: a resumed benchmark is several invocations, each kept
    (the first ran most of the runs)."""
    meta_path = results / "meta.json"
    history = json.loads(meta_path.read_text())["invocations"] if meta_path.is_file() else []
    meta_path.write_text(json.dumps({"invocations": [*history, meta]}, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-parallel", type=int, default=2)
    # the shared server takes a CPU slot of this 2-core machine's two: half a slot a run lets two
    # runs go at once
    parser.add_argument("--cpus-per-run", type=float, default=0.5)
    parser.add_argument("--agents", default="gome,aide,builtin")
    parser.add_argument("--model", default="local")
    parser.add_argument("--bench-dir", type=Path, default=Path("runs/bench-offline-local"))
    args = parser.parse_args()
    command = [sys.executable, "-m", "gome", "bench", "--split", "offline"]
    command += ["--agents", args.agents, "--seeds", str(args.seeds), "--model", args.model]
    command += ["--minutes", str(args.minutes), "--max-parallel", str(args.max_parallel)]
    command += ["--cpus-per-run", str(args.cpus_per_run)]
    command += ["--output-dir", str(args.bench_dir)]
    meta = run_timed(command)
    if meta["returncode"] != 0:
        raise SystemExit(meta["returncode"])
    copy_report(args.bench_dir)
    runs = []
    for journal_path in sorted(args.bench_dir.glob("*/journal.jsonl")):
        competition, agent, _seed = journal_path.parent.name.rsplit("_", 2)
        runs.append((agent, competition, journal_path.parent))
    steps = json.dumps(model_steps(runs), indent=2)
    (RESULTS / "model_steps.json").write_text(steps + "\n")
    append_invocation(RESULTS, meta)


if __name__ == "__main__":
    main()
