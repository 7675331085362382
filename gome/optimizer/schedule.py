"""Step size and restarts: how big the next edit should be, and when a trace starts over.

Large steps early (rewrite the modelling approach), smaller later (swap one component, then
tweak hyper-parameters): the step size follows the elapsed fraction of the budget, and grows
back one size for every `escalate_after` steps without improvement, so a stuck trace explores
again instead of polishing a dead end.
"""

from __future__ import annotations

from enum import StrEnum


class StepSize(StrEnum):
    REWRITE = "rewrite"
    COMPONENT_SWAP = "component-swap"
    HYPERPARAMETER = "hyperparameter-tweak"


STEP_ORDER = (StepSize.REWRITE, StepSize.COMPONENT_SWAP, StepSize.HYPERPARAMETER)
STEP_GUIDANCE = {
    StepSize.REWRITE: (
        "Large step: you may restructure the approach (a different model family, a new "
        "feature pipeline, a different validation scheme) if the hypothesis calls for it."
    ),
    StepSize.COMPONENT_SWAP: (
        "Medium step: change one component (one feature group, the model, the encoder, the "
        "ensembling) and keep the rest of the script as it is."
    ),
    StepSize.HYPERPARAMETER: (
        "Small step: tune settings (hyper-parameters, thresholds, number of folds or rounds) "
        "without changing the pipeline's structure."
    ),
}


def choose_step_size(
    elapsed_fraction: float, steps_since_improvement: int, escalate_after: int = 2
) -> StepSize:
    """The step size for the next improve step."""
    base = 0 if elapsed_fraction < 1 / 3 else 1 if elapsed_fraction < 2 / 3 else 2
    grow = steps_since_improvement // max(1, escalate_after)
    return STEP_ORDER[max(0, base - grow)]


def should_restart(
    steps_since_improvement: int,
    patience: int,
    *,
    time_left_s: float,
    trial_timeout_s: float,
    min_trials_left: float = 3.0,
) -> bool:
    """A stalled trace restarts from a fresh initialisation, but only while enough time is left
    for the new start to catch up (`min_trials_left` trials of the per-trial limit)."""
    stalled = steps_since_improvement >= patience
    return stalled and time_left_s >= min_trials_left * trial_timeout_s
