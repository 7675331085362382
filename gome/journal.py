"""The journal: an append-only record of every trial of a run, one JSON line each.

A run folder holds `journal.jsonl`. Each finished trial is appended, flushed and fsynced
before the next trial starts, so a run killed at any moment loses at most the trial in
flight, and `gome solve --resume RUN` continues from the lines on disk. Views (`valid`,
`failed`, `best`) live here so callers never re-filter trials by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gome.direction import Direction

JOURNAL_FILE = "journal.jsonl"
# operator of the harness's re-runs of a finished trial under another GOME_SEED (parent = the
# trial): evidence about their parent for the final selection, never candidates themselves
FINAL_SEED = "final-seed"
# operator of the harness's re-run of the kept trial on every public train row (the guard
# rows back in, `gome/guard.py`): its submission is the one kept; its score, on other rows,
# is not comparable, so it is never a candidate either
FINAL_REFIT = "final-refit"
HARNESS_OPERATORS = frozenset({FINAL_SEED, FINAL_REFIT})


def code_hash(code: str) -> str:
    """A trial's `code_hash`: the script's identity across a run."""
    return hashlib.sha256(code.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Trial:
    """One executed candidate script and what came of it."""

    # identity and lineage
    id: str
    parent_ids: tuple[str, ...]
    agent: str
    operator: str
    # what was tried
    hypothesis: str
    code_path: str
    code_hash: str
    recipe: dict[str, Any] = field(default_factory=dict)
    # execution
    label: str = "ok"
    runtime_s: float = 0.0
    peak_rss_bytes: int = 0
    validation_score: float | None = None
    validity_message: str = ""
    # generalisation guard (gome/guard.py): the competition metric on public train rows no
    # trial saw the labels of, and its bootstrap standard error. Harness numbers, like the
    # private score: never shown to agents.
    guard_score: float | None = None
    guard_se: float | None = None
    # integrity: reasons this trial must never be selected
    flags: tuple[str, ...] = ()
    # LLM spend of the step that produced it
    tokens: int = 0
    cost_usd: float = 0.0
    llm_s: float = 0.0  # seconds the LLM agent spent proposing it (0 for builtin)
    started_at: str = ""
    finished_at: str = ""

    @property
    def is_valid(self) -> bool:
        """Ran cleanly, printed a score, left a valid submission and raised no integrity flag."""
        return self.label == "ok" and self.validation_score is not None and not self.flags

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Trial:
        raw = dict(raw)
        raw["parent_ids"] = tuple(raw.get("parent_ids", ()))
        raw["flags"] = tuple(raw.get("flags", ()))
        return cls(**raw)


def first_runs(trials: Sequence[Trial]) -> list[Trial]:
    """Valid, unflagged trials that are not the harness's re-runs, in journal order: the
    candidates. Final-seed re-runs only vouch for their parent; a final refit only serves
    the kept trial's submission."""
    return [t for t in trials if t.is_valid and t.operator not in HARNESS_OPERATORS]


def ranked(trials: Sequence[Trial], direction: Direction) -> list[Trial]:
    """The candidates (`first_runs`), best validation score first; journal order on ties.
    The one ranking every selection uses: the run's best, the final re-runs, the built-in
    proposer's next recipe."""
    return sorted(
        first_runs(trials),
        key=lambda t: t.validation_score or 0.0,
        reverse=direction.higher_is_better,
    )


class Journal:
    """The trials of one run, backed by `<run_dir>/journal.jsonl`."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / JOURNAL_FILE
        self.trials: list[Trial] = []
        if self.path.exists():
            self.trials = list(self._read())

    def _read(self) -> Iterator[Trial]:
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield Trial.from_dict(json.loads(line))
                except (json.JSONDecodeError, TypeError):
                    # a line cut short by a kill mid-write: everything before it is intact
                    return

    def append(self, trial: Trial) -> None:
        """Write one trial durably (flush + fsync) before returning."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(trial.to_json() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.trials.append(trial)

    def __len__(self) -> int:
        return len(self.trials)

    def __iter__(self) -> Iterator[Trial]:
        return iter(self.trials)

    def get(self, trial_id: str) -> Trial:
        for trial in self.trials:
            if trial.id == trial_id:
                return trial
        raise KeyError(trial_id)

    @property
    def valid(self) -> list[Trial]:
        return [t for t in self.trials if t.is_valid]

    @property
    def failed(self) -> list[Trial]:
        return [t for t in self.trials if not t.is_valid]

    def best(self, direction: Direction) -> Trial | None:
        """The first of `ranked` (the best first run; first one on ties)."""
        ranking = ranked(self.trials, direction)
        return ranking[0] if ranking else None

    def next_id(self) -> str:
        return f"t{len(self.trials) + 1:04d}"
