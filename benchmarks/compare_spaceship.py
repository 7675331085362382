"""The issue's head-to-head on spaceship-titanic: `gome compare` of GoME, AIDE and the built-in
agent on the embedded local model, twice: with the same scaffolding for both LLM agents, and
plain.

- `scaffolded`: no scaffolding flag, so both agents get the local model's defaults (`--init
  builtin --edit-mode slot --static-checks --max-prompt-tokens 3000`, see
  `gome.optimizer.config.scaffolding_defaults`);
- `plain`: `--init draft --edit-mode full --no-static-checks` for both: each writes whole
  scripts from its own drafts, as with an API model (AIDE as aideml ships).

Runs the real `gome compare` (each agent and seed a full `gome solve` run, one after another)
in a folder that survives the script: re-running the same command resumes it. When it is
done, summary.md, summary.csv and progress.png are copied into
benchmarks/results/compare_spaceship/<variant>/ with `model_steps.json` (per LLM agent, the
steps the model wrote and how many were valid) and `meta.json` (each invocation's command,
wall-clock and load).

    python benchmarks/compare_spaceship.py --variant scaffolded|plain [--minutes 30]
        [--seeds 2] [--model local] [--dir runs/compare-spaceship-<variant>]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from bench_offline import append_invocation, model_steps, run_timed

from gome.compare import PROGRESS_PNG, SUMMARY_CSV, SUMMARY_MD, load_compare, run_name

RESULTS = Path(__file__).parent / "results" / "compare_spaceship"
COMPETITION = "spaceship-titanic"
AGENTS = "gome,aide,builtin"
VARIANT_FLAGS: dict[str, list[str]] = {
    "scaffolded": [],
    "plain": ["--init", "draft", "--edit-mode", "full", "--no-static-checks"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=sorted(VARIANT_FLAGS), required=True)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--model", default="local")
    parser.add_argument("--dir", type=Path, help="Compare folder (default: runs/compare-...).")
    args = parser.parse_args()
    folder = args.dir or Path(f"runs/compare-spaceship-{args.variant}")
    command = [sys.executable, "-m", "gome", "compare"]
    if (folder / "compare.json").is_file():
        command += ["--resume", str(folder)]
    else:
        command += [COMPETITION, "--agents", AGENTS, "--model", args.model]
        command += ["--minutes", str(args.minutes), "--seeds", str(args.seeds)]
        command += ["--dir", str(folder), *VARIANT_FLAGS[args.variant]]
    meta = run_timed(command)
    if meta["returncode"] != 0:
        raise SystemExit(meta["returncode"])
    results = RESULTS / args.variant
    results.mkdir(parents=True, exist_ok=True)
    for name in (SUMMARY_MD, SUMMARY_CSV, PROGRESS_PNG):
        shutil.copy2(folder / name, results / name)
    plan, _ = load_compare(folder)
    runs = [
        (agent, COMPETITION, folder / run_name(agent, seed))
        for agent, seed in plan.runs()
        if agent != "builtin"
    ]
    steps = json.dumps(model_steps(runs), indent=2)
    (results / "model_steps.json").write_text(steps + "\n")
    append_invocation(results, meta)


if __name__ == "__main__":
    main()
