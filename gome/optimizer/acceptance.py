"""Acceptance ("replace best"), staged: validity -> integrity -> clearly better -> tie-break
-> guard.

A candidate replaces a trace's current best script only when it ran cleanly with a valid
submission, carries no integrity flag (the audit's, or the guard's `validation-gap`: a
validation score no held-out row supports, from train/validation overlap or leakage), and
beats the best by more than the noise tolerance;
within the tolerance it wins only by being simpler and faster (fewer lines, no slower, and
one of the two by a real margin). A winner is still rejected when its generalisation-guard
score (held-out train rows, scored by the harness) is worse than the incumbent's by more
than the guard's noise (`gome.guard.guard_regressed`): its gain did not carry over. The
reason names the check but never the guard's numbers, since reasons reach prompts. Staging
off is the plain greedy rule: any strict gain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gome.direction import Direction
from gome.guard import GUARD_REGRESSION, guard_regressed
from gome.journal import Trial

Stage = Literal["validity", "integrity", "improvement", "tie-break", "guard"]
RUNTIME_MARGIN = 0.9  # "faster" means at most 90 % of the incumbent's runtime


@dataclass(frozen=True)
class Candidate:
    """What acceptance looks at: a trial's outcome plus the size of its code."""

    trial: Trial
    code_lines: int

    @property
    def score(self) -> float | None:
        return self.trial.validation_score


@dataclass(frozen=True)
class Decision:
    accepted: bool
    stage: Stage
    reason: str
    improved: bool = False  # clearly better (a tie-break win is accepted but not improved)


def count_code_lines(code: str) -> int:
    """Non-blank, non-comment lines: the 'simpler' measure of the tie-break."""
    return sum(1 for line in code.splitlines() if line.strip() and not line.strip().startswith("#"))


def tolerance(incumbent_score: float, relative: float, absolute: float) -> float:
    return max(absolute, relative * abs(incumbent_score))


def decide(
    candidate: Candidate,
    incumbent: Candidate | None,
    *,
    higher_is_better: bool,
    staged: bool = True,
    relative_tolerance: float = 1e-3,
    absolute_tolerance: float = 1e-4,
    guard: bool = True,
) -> Decision:
    """Whether `candidate` replaces `incumbent` (None: the trace has no valid script yet).

    `guard` (staged only) adds the guard stage after a win.
    """
    trial = candidate.trial
    if trial.label != "ok" or candidate.score is None:
        detail = trial.validity_message or "no validation score printed"
        return Decision(False, "validity", f"{trial.label}: {detail}")
    if trial.flags:
        return Decision(False, "integrity", "flagged: " + "; ".join(trial.flags))
    if incumbent is None or incumbent.score is None:
        return Decision(True, "improvement", "first valid script of the trace", improved=True)
    new, old = candidate.score, incumbent.score
    if not staged:
        better = Direction.of(higher_is_better).is_better(new, old)
        return Decision(better, "improvement", f"{new:.6g} vs {old:.6g}", improved=better)
    direction = Direction.of(higher_is_better)
    decision = _staged(candidate, incumbent, direction, relative_tolerance, absolute_tolerance)
    previous = incumbent.trial
    if (
        guard
        and decision.accepted
        and guard_regressed(
            trial.guard_score, trial.guard_se, previous.guard_score, previous.guard_se, direction
        )
    ):
        return Decision(False, "guard", GUARD_REGRESSION)
    return decision


def _staged(
    candidate: Candidate,
    incumbent: Candidate,
    direction: Direction,
    relative_tolerance: float,
    absolute_tolerance: float,
) -> Decision:
    """Clearly better, else the tie-break."""
    trial = candidate.trial
    new, old = candidate.score, incumbent.score
    assert new is not None and old is not None
    tol = tolerance(old, relative_tolerance, absolute_tolerance)
    if abs(new - old) > tol:
        better = direction.is_better(new, old)
        verdict = "better" if better else "worse"
        return Decision(better, "improvement", f"{verdict}: {new:.6g} vs {old:.6g}", better)
    simpler = candidate.code_lines <= incumbent.code_lines
    no_slower = trial.runtime_s <= incumbent.trial.runtime_s
    clearly = (
        candidate.code_lines < incumbent.code_lines
        or trial.runtime_s <= RUNTIME_MARGIN * incumbent.trial.runtime_s
    )
    won = simpler and no_slower and clearly
    reason = (
        f"tie within {tol:.3g} ({new:.6g} vs {old:.6g}); "
        f"{candidate.code_lines} vs {incumbent.code_lines} lines, "
        f"{trial.runtime_s:.0f}s vs {incumbent.trial.runtime_s:.0f}s"
    )
    return Decision(won, "tie-break", reason)
