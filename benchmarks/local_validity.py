"""How often the embedded local model's GoME edit steps run and leave a valid submission.

Each variant is a real `gome solve --agent gome --model local:<name>` run (the managed llama.cpp
server, the sandboxed runner, the grader); the journal is then read back. An *edit step* is a
trial the model wrote: the built-in seed trial (`init-builtin`), the co-worker's built-in
recipes (`coworker`) and the harness's final re-runs and refit are not counted. A step is valid when
its script ran, printed a validation score and left a valid submission with no integrity
flag.

    python benchmarks/local_validity.py [--model qwen2.5-coder-0.5b] [--minutes 12]
        [--competition spaceship-titanic] [--variants default,no-static-checks]
        [--runs-dir DIR]

Variants (each with `--no-coworker`): default (the local model's scaffolding as shipped),
no-static-checks, no-prune, full-edit (no slots), init-draft (θ₀ drafted by the model).

Writes benchmarks/results/local_validity.json: one entry per model x competition x variant x
code commit (`<model>/<competition>/<variant>@<commit>`; entries from before commits were
recorded have no `@`), replaced only when the same code is measured again.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench_offline import code_commit

from gome.journal import HARNESS_OPERATORS, Journal
from gome.optimizer.trace import COWORKER_STEP

RESULTS = Path(__file__).parent / "results" / "local_validity.json"
NOT_EDIT_STEPS = ("init-builtin", COWORKER_STEP, *HARNESS_OPERATORS)
# extra `gome solve` flags per variant; "default" is the local model's scaffolding as shipped
VARIANTS: dict[str, list[str]] = {
    "default": [],
    "no-static-checks": ["--no-static-checks"],
    "no-prune": ["--no-prune"],
    "full-edit": ["--edit-mode", "full"],
    "init-draft": ["--init", "draft"],
}
# every variant: the co-worker's built-in trials are not edit steps, and they take the CPU the
# model's steps need on a small machine
COMMON_FLAGS = ["--no-coworker"]


def summarise(run_dir: Path) -> dict:
    """The edit steps of one run, read from its journal, run.json and grade.json."""
    journal = Journal(run_dir)
    steps = [t for t in journal if t.operator not in NOT_EDIT_STEPS]
    seed = next((t for t in journal if t.operator == "init-builtin"), None)
    grade_path = run_dir / "grade.json"
    grade = json.loads(grade_path.read_text()) if grade_path.is_file() else {}
    run = json.loads((run_dir / "run.json").read_text())
    valid = [t for t in steps if t.is_valid]
    elapsed = float(run.get("elapsed_s", 0.0))
    return {
        "edit_steps": len(steps),
        "valid_steps": len(valid),
        "valid_rate": round(len(valid) / len(steps), 3) if steps else None,
        "labels": dict(Counter(t.label for t in steps)),
        "flagged": sum(bool(t.flags) for t in steps),
        "operators": dict(Counter(t.operator for t in steps)),
        "auto_imported_steps": sum(bool(t.recipe.get("auto_imports")) for t in steps),
        "coworker_trials": sum(t.operator == COWORKER_STEP for t in journal),
        "seed_validation_score": seed.validation_score if seed else None,
        "best_trial": grade.get("best_trial"),
        "best_is_edit_step": grade.get("best_trial") in {t.id for t in steps},
        "graded_score": grade.get("score"),
        "tokens": sum(t.tokens for t in journal),
        "llm_share": round(sum(t.llm_s for t in journal) / elapsed, 3) if elapsed else None,
        "scaffolding": run["config"].get("gome", {}),
    }


def run_variant(competition: str, model: str, minutes: float, extra: list[str], runs: Path) -> dict:
    run_dir = runs / f"{competition}-{model}-{len(list(runs.iterdir()))}"
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    command = [sys.executable, "-m", "gome", "solve", competition, "--agent", "gome"]
    command += ["--model", f"local:{model}", "--minutes", str(minutes), "--run-dir", str(run_dir)]
    proc = subprocess.run(command + COMMON_FLAGS + extra, capture_output=True, text=True)
    entry = {
        "competition_id": competition,
        "model": model,
        "minutes": minutes,
        "commit": code_commit(),
        "flags": COMMON_FLAGS + extra,
        "run_dir": str(run_dir),
        "wall_s": round(time.monotonic() - started, 1),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }
    if proc.returncode != 0 or not (run_dir / "run.json").is_file():
        return entry | {"error": (proc.stdout + proc.stderr)[-2000:]}
    return entry | summarise(run_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument("--competition", default="spaceship-titanic")
    parser.add_argument("--variants", default="default,no-static-checks")
    parser.add_argument(
        "--runs-dir",
        type=Path,
        help="Keep the run folders here (for `reply_replay.py --collect`); default: a temp dir.",
    )
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    with tempfile.TemporaryDirectory(prefix="gome-validity-") as tmp:
        runs = args.runs_dir or Path(tmp)
        runs.mkdir(parents=True, exist_ok=True)
        for variant in args.variants.split(","):
            entry = run_variant(args.competition, args.model, args.minutes, VARIANTS[variant], runs)
            # one entry per code commit, so measurements of successive fixes sit side by side
            results[f"{args.model}/{args.competition}/{variant}@{entry['commit']}"] = entry
            print(json.dumps(entry), flush=True)
            RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
