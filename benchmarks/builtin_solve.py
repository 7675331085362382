"""Built-in proposer through the real `gome solve` loop: graded score vs the goal per competition.

Goal (issue 4): in 10 minutes on 2 cores, spaceship-titanic (offline mirror) reaches at least
Kaggle's bronze threshold; each practice competition beats its reference model.

    python benchmarks/builtin_solve.py [--minutes 10] [ids ...]

Writes benchmarks/results/builtin_solve.json (one entry per competition, appended/replaced).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gome.competitions import list_competitions, load_competition
from gome.journal import Journal

RESULTS = Path(__file__).parent / "results" / "builtin_solve.json"
TEXT = {"capture_output": True, "text": True}


def goal_for(competition_id: str) -> tuple[str, float | None]:
    """(what the goal is, the number to reach) for one competition."""
    comp = load_competition(competition_id)
    if comp.is_practice:
        return "beat reference model", comp.reference_score
    from gome.grading import medal_thresholds

    return "bronze threshold", medal_thresholds(competition_id)["bronze"]


def git_commit() -> str:
    """The commit benchmarked (the code under `gome` as this script imports it)."""
    repo = Path(__file__).resolve().parent.parent
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], **TEXT)
    return proc.stdout.strip()


def run_one(competition_id: str, minutes: float, workdir: Path) -> dict:
    run_dir = workdir / competition_id
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "gome", "solve", competition_id, "--minutes", str(minutes)]
        + ["--agent", "builtin", "--run-dir", str(run_dir)],
        **TEXT,
    )
    wall = time.monotonic() - started
    if proc.returncode != 0:
        return {"competition_id": competition_id, "error": proc.stderr[-2000:]}
    grade = json.loads((run_dir / "grade.json").read_text())
    comp = load_competition(competition_id)
    journal = Journal(run_dir)
    best = journal.best(comp.direction)
    goal, target = goal_for(competition_id)
    score = grade["score"]
    reached = (
        score is not None and target is not None and comp.direction.ties_or_beats(score, target)
    )
    return {
        "competition_id": competition_id,
        "minutes": minutes,
        "wall_s": round(wall, 1),
        "trials": len(journal),
        "valid_trials": len(journal.valid),
        "best_trial": best.id if best else None,
        "best_hypothesis": best.hypothesis if best else None,
        "best_validation_score": best.validation_score if best else None,
        "graded_score": score,
        "goal": goal,
        "goal_value": target,
        "goal_reached": bool(reached),
        "data_source": grade.get("data_source"),
        "commit": git_commit(),
        # 1-minute load average on a 2-core machine: above ~2, other work shared the cores
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="competition ids (default: spaceship + practice)")
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    ids = args.ids or ["spaceship-titanic"] + [c.id for c in list_competitions() if c.is_practice]
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    with tempfile.TemporaryDirectory(prefix="gome-bench-") as tmp:
        for competition_id in ids:
            entry = run_one(competition_id, args.minutes, Path(tmp))
            results[competition_id] = entry
            print(json.dumps(entry), flush=True)
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
