"""GoME's loop end to end with instant scripted replies: iterations per minute, the harness's
own time per iteration, tokens per iteration, with `--workers 1` and `--workers 2`.

A scripted OpenAI-compatible server on 127.0.0.1 (the tests' `ScriptedLLM`: a diagnosis JSON
for diagnosis prompts, the toy solution otherwise) answers at once, and `gome solve` runs the
toy competition through the real path: litellm over HTTP, static checks, the sandboxed runner,
the guard, validation, the journal. So what is not script run time is the harness's own.

Per iteration, from the journal: `propose` (the agent's step, HTTP round trips included:
`llm_s`), `script` (the sandboxed script's own run, `runtime_s`), and `harness after`
(sandbox set-up and tear-down, submission validation, guard scoring, the fsynced journal
line: `finished_at - started_at - runtime_s`). The harness's share is (propose + harness
after) / script, and of a notional 60 s trial.

    .venv/bin/python benchmarks/optimizer_throughput.py [--minutes 3]

Writes benchmarks/results/optimizer_throughput.json.
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
import threading
import time
from datetime import datetime
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import TOY_ID, ScriptedLLM, write_toy_competition  # noqa: E402

RESULT = ROOT / "benchmarks" / "results" / "optimizer_throughput.json"
NOTIONAL_TRIAL_S = 60.0


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 4) if values else float("nan")


def measure(workers: int, minutes: float, server: str, env: dict[str, str], root: Path) -> dict:
    """One `gome solve` run; the figures of its journal."""
    run_dir = root / f"workers-{workers}"
    command = [sys.executable, "-m", "gome", "solve", TOY_ID, "--agent", "gome"]
    command += ["--model", "openai/scripted", "--api-base", server, "--minutes", str(minutes)]
    command += ["--workers", str(workers), "--traces", str(workers), "--final-top-k", "0"]
    command += ["--trial-timeout", "60", "--run-dir", str(run_dir)]
    load_before = os.getloadavg()[0]
    begun = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=minutes * 120)
    wall_s = time.monotonic() - begun
    if done.returncode != 0:
        raise SystemExit(f"gome solve failed:\n{done.stdout}\n{done.stderr}")
    lines = (run_dir / "journal.jsonl").read_text().splitlines()
    trials = [json.loads(line) for line in lines]
    span_s = max(_seconds(t["finished_at"]) for t in trials) - min(
        _seconds(t["started_at"]) - t["llm_s"] for t in trials
    )
    propose = [t["llm_s"] for t in trials]
    script = [t["runtime_s"] for t in trials]
    after = [
        _seconds(t["finished_at"]) - _seconds(t["started_at"]) - t["runtime_s"] for t in trials
    ]
    harness = [p + a for p, a in zip(propose, after, strict=True)]
    llm_steps = [t for t in trials if t["tokens"] > 0]
    operators: dict[str, int] = {}
    for trial in trials:
        operators[trial["operator"]] = operators.get(trial["operator"], 0) + 1
    return {
        "workers": workers,
        "traces": workers,
        "budget_minutes": minutes,
        "wall_s": round(wall_s, 1),
        "iterations": len(trials),
        "search_span_s": round(span_s, 1),
        "iterations_per_minute": round(len(trials) / (span_s / 60), 2),
        "valid_iterations": sum(t["label"] == "ok" and not t["flags"] for t in trials),
        "median_s": {
            "propose": _median(propose),
            "script": _median(script),
            "harness_after": _median(after),
            "harness_total": _median(harness),
        },
        "harness_share_of_script_pct": round(100 * sum(harness) / sum(script), 2),
        "harness_share_of_60s_trial_pct": round(100 * statistics.median(harness) / 60, 2),
        "tokens_per_llm_iteration_mean": round(statistics.mean(t["tokens"] for t in llm_steps), 1)
        if llm_steps
        else 0,
        "llm_iterations": len(llm_steps),
        "operators": operators,
        "load_avg_1m_before": round(load_before, 2),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="budget of each run")
    parser.add_argument("--workers", default="1,2", help="comma-separated --workers values")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedLLM)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    results = []
    with tempfile.TemporaryDirectory(prefix="gome-throughput-") as tmp:
        comps, data = write_toy_competition(Path(tmp))
        env = os.environ.copy() | {
            "GOME_COMPETITIONS_DIR": str(comps),
            "GOME_DATA_DIR": str(data),
            "OPENAI_API_KEY": "sk-test",
        }
        for workers in (int(w) for w in args.workers.split(",")):
            results.append(measure(workers, args.minutes, url, env, Path(tmp)))
            print(json.dumps(results[-1], indent=2), flush=True)
    server.shutdown()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    report = {
        "what": "gome solve on the toy competition with an instant scripted LLM over HTTP",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "commit": commit,
        "results": results,
    }
    RESULT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
