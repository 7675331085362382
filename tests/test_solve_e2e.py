"""`gome solve` end to end: real sandboxed trials, grading, and resume after kill -9."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gome.journal import FINAL_SEED, HARNESS_OPERATORS
from tests.conftest import TOY_ID

GOME = [sys.executable, "-m", "gome"]


def solve(run_dir: Path, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*GOME, "solve", *extra, "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def journal_lines(run_dir: Path) -> list[dict]:
    path = run_dir / "journal.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_solve_grades_the_best_valid_submission(toy_competition, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    done = solve(run_dir, TOY_ID, "--agent", "builtin", "--minutes", "1", "--trial-timeout", "40")
    assert done.returncode == 0, done.stdout + done.stderr
    grade = json.loads((run_dir / "grade.json").read_text())
    trials = journal_lines(run_dir)
    assert trials, "no trial was journaled"
    assert grade["valid_submission"] is True
    assert grade["agent"] == "builtin"
    best = json.loads((run_dir / "best.json").read_text())
    assert best["label"] == "ok" and not best["flags"]
    # the kept submission is the best trial's own file
    kept = (run_dir / "submission.csv").read_bytes()
    assert kept == (run_dir / "trials" / best["id"] / "submission.csv").read_bytes()
    assert "built-in proposer" in done.stdout


@pytest.mark.slow
def test_kill_9_then_resume_loses_and_reruns_nothing(toy_competition, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [*GOME, "solve", TOY_ID, "--agent", "builtin", "--minutes", "5", "--trial-timeout", "40"]
        + ["--run-dir", str(run_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 240
    while len(journal_lines(run_dir)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(random.Random().uniform(0, 3))  # a random moment, likely mid-trial
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    before = journal_lines(run_dir)
    assert len(before) >= 2

    resumed = solve(run_dir, "--resume", str(run_dir), "--minutes", "1")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    after = journal_lines(run_dir)
    assert after[: len(before)] == before, "finished trials were changed or lost"
    new = after[len(before) :]
    assert new, "the resumed run did no work"
    ids = [t["id"] for t in after]
    assert len(ids) == len(set(ids)), "a trial id was reused"
    old_code = {t["code_hash"] for t in before}
    proposed = [t for t in new if t["operator"] != "final-seed"]  # seed re-runs are by design
    assert not [t for t in proposed if t["code_hash"] in old_code], "a finished trial was rerun"
    seeds = [
        (t["parent_ids"][0], t["recipe"]["seed"]) for t in after if t["operator"] == "final-seed"
    ]
    assert len(seeds) == len(set(seeds)), "a final-seed re-run was done twice"
    assert (run_dir / "grade.json").is_file()


@pytest.mark.slow
def test_max_steps_ends_the_search_and_the_final_reruns_still_go(
    toy_competition, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    flags = ["--minutes", "10", "--max-steps", "2", "--final-top-k", "1", "--trial-timeout", "40"]
    done = solve(run_dir, TOY_ID, "--agent", "builtin", *flags)
    assert done.returncode == 0, done.stdout + done.stderr
    trials = journal_lines(run_dir)
    steps = [t for t in trials if t["operator"] not in HARNESS_OPERATORS]
    assert len(steps) == 2
    assert [t["operator"] for t in trials if t["operator"] == FINAL_SEED], "no final re-run"
    assert "search over: 2 steps taken" in (run_dir / "run.log").read_text()
    run = json.loads((run_dir / "run.json").read_text())
    assert run["config"]["max_steps"] == 2
    assert run["elapsed_s"] < 300, "the run waited for its 10-minute budget"
    assert json.loads((run_dir / "grade.json").read_text())["valid_submission"] is True
