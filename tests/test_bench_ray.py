"""`gome bench --executor ray` on a local Ray cluster started in this process: a small bench,
one of whose Ray workers is killed (-9) after its run journaled a trial; Ray retries the task
and the retry resumes the run from its journal."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from gome.bench.command import bench_command
from gome.bench.executors import ATTEMPTS_FILE
from gome.bench.state import BENCH_FILE, FINISHED
from tests.conftest import TOY_ID

ray = pytest.importorskip("ray")

BUDGET_S = 20.0


@pytest.fixture
def ray_cluster(toy_competition: tuple[Path, Path]) -> None:
    """Two CPUs, no dashboard; started after the toy competition's environment is set, so the
    workers inherit it."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def solve_pid(run_dir: Path) -> int | None:
    """The pid of the `gome solve` process working on `run_dir`, if one is running."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "gome" in args and "solve" in args and str(run_dir) in args:
            return int(entry.name)
    return None


def parent_pid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def test_ray_bench_retries_a_killed_worker_and_resumes_its_run(
    ray_cluster: None, tmp_path: Path
) -> None:
    folder = tmp_path / "bench"
    victim = folder / f"{TOY_ID}_builtin_s1"
    killed: dict = {}

    def kill_the_worker_after_one_trial() -> None:
        journal = victim / "journal.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if journal.is_file() and journal.read_text().strip():
                solve = solve_pid(victim)
                if solve is not None:
                    worker = parent_pid(solve)  # the Ray worker executing the task
                    killed.update(solve=solve, worker=worker, journal=journal.read_text())
                    os.kill(worker, signal.SIGKILL)
                    return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_worker_after_one_trial, daemon=True)
    killer.start()
    completed = bench_command(
        Console(quiet=True),
        split="practice",
        agents="builtin",
        seeds=2,
        hours=None,
        minutes=BUDGET_S / 60,
        model=None,
        api_base=None,
        max_dollars=None,
        trial_timeout=30.0,
        max_steps=None,
        executor="ray",
        ray_address=None,
        max_retries=2,
        max_parallel=None,
        cpus_per_run=1.0,
        gpus_per_run=0,
        gpus=None,
        output_dir=folder,
        data_dir=None,
    )
    killer.join(timeout=5)
    assert killed, "the victim's run never journaled a trial"
    assert completed
    # the worker died, and its run's process with it (no orphan kept writing the journal)
    assert not alive(killed["worker"]) and not alive(killed["solve"])

    state = json.loads((folder / BENCH_FILE).read_text())
    assert {name: run["status"] for name, run in state["runs"].items()} == {
        f"{TOY_ID}_builtin_s0": FINISHED,
        victim.name: FINISHED,
    }
    assert state["runs"][victim.name]["attempts"] == 2
    attempts = [json.loads(line) for line in (victim / ATTEMPTS_FILE).read_text().splitlines()]
    assert "--resume" not in attempts[0]["argv"] and "--resume" in attempts[1]["argv"]
    survivor = (folder / f"{TOY_ID}_builtin_s0" / ATTEMPTS_FILE).read_text().splitlines()
    assert len(survivor) == 1

    # no finished trial lost: the journal at the kill is the start of the final one
    before = killed["journal"].splitlines()
    after = (victim / "journal.jsonl").read_text().splitlines()
    assert after[: len(before)] == before
    ids = [json.loads(line)["id"] for line in after]
    assert len(ids) == len(set(ids))
    assert json.loads((victim / "grade.json").read_text())["valid_submission"] is True
    report = json.loads((folder / "report.json").read_text())
    assert report["agents"]["builtin"]["valid_submission_pct"] == 100.0
