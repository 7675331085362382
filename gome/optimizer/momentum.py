"""Momentum = success memory: what worked steers the next gradient; what failed is listed.

Accepted steps are kept most recent first with a weight that decays geometrically with age;
steps whose weight falls under `MIN_WEIGHT`, or beyond `size`, are forgotten. Failed directions
are kept (most recent `failure_size`) so the model does not retry them blindly. With momentum
off only the failures remain: the GoME paper's "without history" ablation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MIN_WEIGHT = 0.2


@dataclass(frozen=True)
class StepRecord:
    """One finished step as memory holds it."""

    trial_id: str
    hypothesis: str
    outcome: str  # e.g. "0.801 -> 0.812", "crash: KeyError 'Cabin'", "worse: 0.79 vs 0.80"


@dataclass(frozen=True)
class WeightedStep:
    step: StepRecord
    weight: float


@dataclass(frozen=True)
class Momentum:
    successes: tuple[WeightedStep, ...]
    failures: tuple[StepRecord, ...]
    best: StepRecord | None

    def render(self) -> str:
        """The memory section of a gradient prompt; empty when there is nothing to say."""
        parts = []
        if self.best is not None:
            parts.append(f"Best script so far: {self.best.trial_id} ({self.best.outcome}).")
        if self.successes:
            parts.append("Accepted steps (most recent first; weight = how much it still counts):")
            parts += [
                f"- [{w.weight:.2f}] {w.step.trial_id}: {w.step.hypothesis} -> {w.step.outcome}"
                for w in self.successes
            ]
        if self.failures:
            parts.append("Failed directions (do not retry them unchanged):")
            parts += [f"- {f.trial_id}: {f.hypothesis} -> {f.outcome}" for f in self.failures]
        return "\n".join(parts)


def build_momentum(
    successes: Sequence[StepRecord],
    failures: Sequence[StepRecord],
    best: StepRecord | None,
    *,
    enabled: bool = True,
    size: int = 6,
    decay: float = 0.8,
    failure_size: int = 6,
) -> Momentum:
    """The bounded, decayed memory from steps in chronological order."""
    recent_failures = tuple(reversed(failures[-failure_size:])) if failure_size > 0 else ()
    if not enabled:
        return Momentum((), recent_failures, None)
    kept = []
    for age, step in enumerate(reversed(successes)):
        weight = decay**age
        if age >= size or weight < MIN_WEIGHT:
            break
        kept.append(WeightedStep(step, round(weight, 4)))
    return Momentum(tuple(kept), recent_failures, best)
