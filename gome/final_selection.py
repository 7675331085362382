"""Multi-seed final selection: the run's last share of budget re-runs its best trials.

One validation score is one draw: the same script with another seed scores differently, and
the best single draw of a search is biased upwards. When the budget is nearly spent
(`--final-share`), the loop stops proposing and re-runs the top `--final-top-k` valid,
unflagged trials with each seed of `FINAL_SEEDS` (`GOME_SEED` in the sandbox; first runs get
0), journaled as operator `final-seed` with the trial as parent, best trial first. A trial's
re-runs start only if all of them fit in the time left, judged by its parent's runtime: a
half re-run trial cannot be weighed, and when the best one cannot be finished no other's
re-runs could change the pick, so the phase ends there.

The final submission is then the trial with the best mean validation score over its seeds,
ties going to the better mean guard score; a trial with a failed re-run is dropped, and a
trial whose mean guard score regresses against the single-seed best's is passed over
(`gome.guard.guard_regressed`). Only trials with every re-run finished compete, and only when
the single-seed best is among them: without its re-runs there is nothing to weigh it against,
so it stays. Everything here reads the journal alone, so a resumed run neither repeats a
finished re-run nor chooses differently.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from gome.direction import Direction
from gome.guard import guard_regressed
from gome.journal import FINAL_SEED, Trial, first_runs, ranked

FINAL_SEEDS = (1, 2)  # GOME_SEED of the re-runs
RUNTIME_MARGIN = 1.5  # a re-run must fit 1.5 x its parent's runtime ...
OVERHEAD_S = 5.0  # ... plus the sandbox's start and the audit
SELECTION_FILE = "final_selection.json"

RerunKey = tuple[str, int]  # (parent trial id, seed)


def reruns(trials: Sequence[Trial]) -> dict[RerunKey, Trial]:
    """Finished re-runs by (parent id, seed)."""
    return {
        (t.parent_ids[0], int(t.recipe.get("seed", -1))): t
        for t in trials
        if t.operator == FINAL_SEED and t.parent_ids
    }


def top_trials(trials: Sequence[Trial], direction: Direction, top_k: int) -> list[Trial]:
    """The `top_k` best first runs by validation score, best first (journal order on ties)."""
    return ranked(trials, direction)[:top_k]


def next_rerun(
    trials: Sequence[Trial],
    direction: Direction,
    top_k: int,
    time_left_s: float,
    claimed: Collection[RerunKey] = (),
) -> tuple[Trial, int] | None:
    """The next (trial, seed) to re-run, best trial first; None when there is none, or when
    the best trial still missing re-runs cannot have them all in the time left.

    `claimed` holds re-runs in flight. A trial with a failed re-run is dropped: no more.
    """
    done = reruns(trials)
    for parent in top_trials(trials, direction, top_k):
        keys = [(parent.id, seed) for seed in FINAL_SEEDS]
        if any(key in done and not done[key].is_valid for key in keys):
            continue
        todo = [key for key in keys if key not in done and key not in claimed]
        if not todo:
            continue  # finished, or in flight
        if len(todo) * RUNTIME_MARGIN * parent.runtime_s + OVERHEAD_S > time_left_s:
            return None
        return parent, todo[0][1]
    return None


def _mean(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else fmean(v for v in values if v is not None)


@dataclass(frozen=True)
class SeedRecord:
    """A first run and its finished re-runs."""

    trial: Trial
    reruns: tuple[Trial, ...]

    @property
    def runs(self) -> tuple[Trial, ...]:
        return (self.trial, *self.reruns)

    @property
    def dropped(self) -> bool:
        return any(not r.is_valid for r in self.reruns)

    @property
    def complete(self) -> bool:
        return not self.dropped and len(self.reruns) == len(FINAL_SEEDS)

    @property
    def mean_validation(self) -> float:
        return fmean(r.validation_score or 0.0 for r in self.runs)

    @property
    def mean_guard(self) -> float | None:
        return _mean([r.guard_score for r in self.runs])

    @property
    def mean_guard_se(self) -> float | None:
        return _mean([r.guard_se for r in self.runs])

    def beats(self, other: SeedRecord, direction: Direction) -> bool:
        """Better mean validation score; on a tie, better mean guard score."""
        if self.mean_validation != other.mean_validation:
            return direction.is_better(self.mean_validation, other.mean_validation)
        mine, theirs = self.mean_guard, other.mean_guard
        return mine is not None and (theirs is None or direction.is_better(mine, theirs))

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial": self.trial.id,
            "runs": [r.id for r in self.runs],
            "validation_scores": [r.validation_score for r in self.runs],
            "mean_validation": self.mean_validation,
            "guard_scores": [r.guard_score for r in self.runs],
            "mean_guard": self.mean_guard,
            "complete": self.complete,
            "dropped": self.dropped,
        }


@dataclass(frozen=True)
class FinalChoice:
    chosen: Trial | None  # None: every candidate was dropped
    records: tuple[SeedRecord, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen.id if self.chosen else None,
            "reason": self.reason,
            "seeds": [0, *FINAL_SEEDS],
            "candidates": [r.to_dict() for r in self.records],
        }


def choose_final(trials: Sequence[Trial], direction: Direction) -> FinalChoice | None:
    """The final pick from the journal; None when no re-run has finished (nothing to weigh)."""
    done = reruns(trials)
    if not done:
        return None
    records = [
        SeedRecord(t, tuple(done[(t.id, s)] for s in FINAL_SEEDS if (t.id, s) in done))
        for t in first_runs(trials)
    ]
    weighed = tuple(r for r in records if r.reruns)
    kept = [r for r in records if not r.dropped]
    if not kept:
        return FinalChoice(None, weighed, "every candidate had a failed re-run")
    incumbent = kept[0]
    for record in kept[1:]:
        if direction.is_better(
            record.trial.validation_score or 0.0, incumbent.trial.validation_score or 0.0
        ):
            incumbent = record
    if not incumbent.complete:
        return FinalChoice(
            incumbent.trial, weighed, f"{incumbent.trial.id} is the best single run; no re-runs"
        )
    chosen = incumbent
    for record in kept:
        if not record.complete or record is incumbent:
            continue
        if guard_regressed(
            record.mean_guard,
            record.mean_guard_se,
            incumbent.mean_guard,
            incumbent.mean_guard_se,
            direction,
        ):
            continue
        if record.beats(chosen, direction):
            chosen = record
    return FinalChoice(
        chosen.trial,
        weighed,
        f"{chosen.trial.id}: best mean validation score over {len(chosen.runs)} seeds "
        f"({chosen.mean_validation:.6g})",
    )
