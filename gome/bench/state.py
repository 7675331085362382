"""`bench.json`: a bench folder's plan, its skipped competitions and what became of each run.

Re-running the same `gome bench` command reads it back: finished runs are skipped, any other
run starts (or resumes from its journal). Written atomically after every run that ends, so a
bench killed at any moment loses no outcome it has seen.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gome.bench.executors import RunOutcome
from gome.bench.plan import SHARED_SETTINGS, BenchPlan, Skipped
from gome.errors import GomeError

BENCH_FILE = "bench.json"
FINISHED, FAILED, INTERRUPTED, PENDING = "finished", "failed", "interrupted", "pending"


@dataclass(frozen=True)
class RunState:
    """The last outcome of a run: finished (its `gome solve` exited 0 on its own), failed
    (it exited otherwise, or its retries ran out), or interrupted (the bench was stopped)."""

    status: str
    returncode: int | None
    wall_s: float
    attempts: int
    message: str = ""

    @classmethod
    def of(cls, outcome: RunOutcome) -> RunState:
        status = FINISHED if outcome.ok else INTERRUPTED if outcome.interrupted else FAILED
        return cls(status, outcome.returncode, outcome.wall_s, outcome.attempts, outcome.message)


@dataclass
class BenchState:
    """The contents of `bench.json`."""

    folder: Path
    plan: BenchPlan
    skipped: list[Skipped]
    runs: dict[str, RunState] = field(default_factory=dict)

    def status(self, name: str) -> str:
        state = self.runs.get(name)
        return PENDING if state is None else state.status

    def record(self, outcome: RunOutcome) -> None:
        self.runs[outcome.name] = RunState.of(outcome)
        self.save()

    def save(self) -> None:
        payload = {
            "plan": asdict(self.plan),
            "skipped": [asdict(s) for s in self.skipped],
            "runs": {name: asdict(state) for name, state in sorted(self.runs.items())},
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / (BENCH_FILE + ".tmp")
        tmp.write_text(json.dumps(payload, indent=2), encoding="utf-8")
        os.replace(tmp, self.folder / BENCH_FILE)


def load_state(folder: Path) -> BenchState | None:
    """The bench in `folder`, or None when it holds none."""
    path = folder / BENCH_FILE
    if not path.is_file():
        return None
    payload = json.loads(path.read_text(encoding="utf-8"))
    raw = payload["plan"]
    plan = BenchPlan(
        **raw | {"competitions": tuple(raw["competitions"]), "agents": tuple(raw["agents"])}
    )
    return BenchState(
        folder,
        plan,
        [Skipped(**s) for s in payload.get("skipped", [])],
        {name: RunState(**state) for name, state in payload.get("runs", {}).items()},
    )


def open_state(folder: Path, plan: BenchPlan, skipped: list[Skipped]) -> BenchState:
    """The bench state for `plan` in `folder`: a new one, or the one there (whose run outcomes
    carry over) when its shared settings match. The split, agents and seeds may change: more
    seeds or agents add runs, and finished runs are never redone."""
    state = load_state(folder)
    if state is not None:
        differ = [k for k in SHARED_SETTINGS if getattr(state.plan, k) != getattr(plan, k)]
        if differ:
            was = ", ".join(f"{k}={getattr(state.plan, k)!r}" for k in differ)
            now = ", ".join(f"{k}={getattr(plan, k)!r}" for k in differ)
            raise GomeError(
                f"{folder} holds a bench run with {was}, not {now}; rerun it with the same "
                "settings or give another --output-dir."
            )
        state.plan, state.skipped = plan, skipped
    else:
        state = BenchState(folder, plan, skipped)
    state.save()
    return state
