"""The issue's head-to-head on spaceship-titanic: `gome compare` of GoME, AIDE and the built-in
agent on the embedded local model, twice: with the same scaffolding for both LLM agents, and
plain.

- `scaffolded`: no scaffolding flag, so both agents get the local model's defaults (`--init
  builtin --edit-mode slot --static-checks --max-prompt-tokens 3000`, see
  `gome.optimizer.config.scaffolding_defaults`);
- `plain`: `--init draft --edit-mode full --no-static-checks` for both: each writes whole
  scripts from its own drafts, as with an API model (AIDE as aideml ships).

Runs the real `gome compare` (each agent and seed a full `gome solve` run, one after another)
in a work folder. A run takes 30 minutes of a 2-core machine and a whole comparison 3 hours, so
it is built to span sessions whose machines do not last: the records of every finished run
(run.json, journal, grade, LLM ledger) and the plan are kept in
benchmarks/results/compare_spaceship/<variant>/ (committed), and a new work folder is seeded
from them, so `gome compare --resume` skips what is done. After each invocation (and with
`--collect-only`, from a work folder a killed invocation left) the table and plot are written
there from the finished runs: summary.md, summary.csv, progress.png, `model_steps.json` (per
LLM agent, the steps the model wrote and how many were valid) and `meta.json` (each
invocation's command, wall-clock and load).

The built-in agent takes no model and no scaffolding flag (its run.json is the same in both
variants), so its runs are made once: a variant borrows the built-in runs the other variant
finished, with the same plan but for the scaffolding, instead of running them again.

    python benchmarks/compare_spaceship.py --variant scaffolded|plain [--minutes 30]
        [--seeds 2 (more than the kept plan's: adds seeds)] [--model local]
        [--dir runs/compare-spaceship-<variant>] [--collect-only]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from bench_offline import append_invocation, model_steps, run_timed

from gome.compare import COMPARE_FILE, load_compare, run_name, summarise, write_manifest
from gome.journal import JOURNAL_FILE
from gome.llm import LEDGER_FILE
from gome.solve import RUN_CONFIG_FILE

RESULTS = Path(__file__).parent / "results" / "compare_spaceship"
COMPETITION = "spaceship-titanic"
AGENTS = "gome,aide,builtin"
# what the table, the plot and the model-step counts read of a finished run (its trial folders,
# scripts and outputs stay in the work folder)
RECORD_FILES = (RUN_CONFIG_FILE, JOURNAL_FILE, "grade.json", LEDGER_FILE)
VARIANT_FLAGS: dict[str, list[str]] = {
    "scaffolded": [],
    "plain": ["--init", "draft", "--edit-mode", "full", "--no-static-checks"],
}


def keep_records(folder: Path, results: Path) -> None:
    """Copy the plan and the records of every finished run of `folder` into `results`
    (nothing when `folder` holds no comparison)."""
    if not (folder / COMPARE_FILE).is_file():
        return
    _, finished = load_compare(folder)
    results.mkdir(parents=True, exist_ok=True)
    shutil.copy2(folder / COMPARE_FILE, results / COMPARE_FILE)
    for name in finished:
        (results / name).mkdir(exist_ok=True)
        for file in RECORD_FILES:
            if (folder / name / file).is_file():
                shutil.copy2(folder / name / file, results / name / file)


def borrow_builtin_runs(results: Path) -> list[str]:
    """Mark the built-in runs another variant finished as finished here, records copied: they
    are the same runs (see the module docstring). Returns the names borrowed."""
    if not (results / COMPARE_FILE).is_file():
        return []
    plan, finished = load_compare(results)
    borrowed = []
    for other in (RESULTS / variant for variant in VARIANT_FLAGS):
        if other == results or not (other / COMPARE_FILE).is_file():
            continue
        other_plan, other_finished = load_compare(other)
        if replace(other_plan, scaffolding=plan.scaffolding) != plan:
            continue
        for name in other_finished:
            if name.startswith("builtin-") and name not in finished:
                shutil.copytree(other / name, results / name, dirs_exist_ok=True)
                finished.append(name)
                borrowed.append(name)
    if borrowed:
        write_manifest(results, plan, finished)
    return borrowed


def seed_folder(folder: Path, results: Path) -> None:
    """A new work folder starts from the kept records, so their runs are skipped."""
    if (folder / COMPARE_FILE).is_file() or not (results / COMPARE_FILE).is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(results / COMPARE_FILE, folder / COMPARE_FILE)
    _, finished = load_compare(results)
    for name in finished:
        shutil.copytree(results / name, folder / name)


def write_results(results: Path) -> None:
    """Table, plot and model steps of the finished runs kept in `results`."""
    plan, finished = load_compare(results)
    summarise(plan, results)
    runs = [
        (agent, COMPETITION, results / run_name(agent, seed))
        for agent, seed in plan.runs()
        if agent != "builtin" and run_name(agent, seed) in finished
    ]
    steps = json.dumps(model_steps(runs), indent=2)
    (results / "model_steps.json").write_text(steps + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=sorted(VARIANT_FLAGS), required=True)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument(
        "--seeds", type=int, help="Seeds (default 2); on a kept comparison, more add seeds."
    )
    parser.add_argument("--model", default="local")
    parser.add_argument("--dir", type=Path, help="Work folder (default: runs/compare-...).")
    parser.add_argument(
        "--collect-only", action="store_true", help="Keep the work folder's finished runs; no run."
    )
    args = parser.parse_args()
    folder = args.dir or Path(f"runs/compare-spaceship-{args.variant}")
    results = RESULTS / args.variant
    keep_records(folder, results)  # what a killed invocation finished
    borrowed = borrow_builtin_runs(results)
    if borrowed:
        print(f"borrowed from the other variant: {', '.join(borrowed)}")
    if not args.collect_only:
        seed_folder(folder, results)
        command = [sys.executable, "-m", "gome", "compare"]
        if (folder / COMPARE_FILE).is_file():
            command += ["--resume", str(folder)]
            command += ["--seeds", str(args.seeds)] if args.seeds else []
        else:
            command += [COMPETITION, "--agents", AGENTS, "--model", args.model]
            command += ["--minutes", str(args.minutes), "--seeds", str(args.seeds or 2)]
            command += ["--dir", str(folder), *VARIANT_FLAGS[args.variant]]
        meta = run_timed(command)
        keep_records(folder, results)
        append_invocation(results, meta)
        if meta["returncode"] != 0:
            raise SystemExit(meta["returncode"])
    if (results / COMPARE_FILE).is_file():
        write_results(results)


if __name__ == "__main__":
    main()
