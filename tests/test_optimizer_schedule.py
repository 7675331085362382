"""Step-size schedule and the warm-restart trigger."""

from __future__ import annotations

import pytest

from gome.optimizer.schedule import StepSize, choose_step_size, should_restart


@pytest.mark.parametrize(
    ("elapsed", "stalled", "expected"),
    [
        (0.1, 0, StepSize.REWRITE),
        (0.5, 0, StepSize.COMPONENT_SWAP),
        (0.9, 0, StepSize.HYPERPARAMETER),
        (0.9, 1, StepSize.HYPERPARAMETER),
        (0.9, 2, StepSize.COMPONENT_SWAP),  # stalled: grow back one size
        (0.9, 4, StepSize.REWRITE),
        (0.9, 40, StepSize.REWRITE),
    ],
)
def test_step_size_follows_budget_and_stall(
    elapsed: float, stalled: int, expected: StepSize
) -> None:
    assert choose_step_size(elapsed, stalled, escalate_after=2) == expected


def test_restart_needs_a_stall_and_time_to_catch_up() -> None:
    assert should_restart(6, 6, time_left_s=3000, trial_timeout_s=600)
    assert not should_restart(5, 6, time_left_s=3000, trial_timeout_s=600)
    assert not should_restart(9, 6, time_left_s=1000, trial_timeout_s=600)
