"""Staged acceptance: validity -> integrity -> clearly better -> tie-break."""

from __future__ import annotations

import dataclasses

from gome.guard import GUARD_REGRESSION
from gome.journal import Trial
from gome.optimizer.acceptance import Candidate, count_code_lines, decide


def _candidate(
    score: float | None,
    *,
    label: str = "ok",
    flags: tuple[str, ...] = (),
    runtime: float = 100.0,
    lines: int = 50,
    tid: str = "t0002",
) -> Candidate:
    trial = Trial(
        id=tid,
        parent_ids=(),
        agent="gome",
        operator="improve",
        hypothesis="h",
        code_path="c",
        code_hash="h",
        label=label,
        validation_score=score,
        flags=flags,
        runtime_s=runtime,
        validity_message="",
    )
    return Candidate(trial, lines)


INCUMBENT = _candidate(0.800, tid="t0001")


def test_invalid_run_is_rejected_at_validity() -> None:
    decision = decide(_candidate(0.9, label="crash"), INCUMBENT, higher_is_better=True)
    assert (decision.accepted, decision.stage) == (False, "validity")
    decision = decide(_candidate(None), INCUMBENT, higher_is_better=True)
    assert (decision.accepted, decision.stage) == (False, "validity")


def test_flagged_run_is_rejected_at_integrity_even_if_better() -> None:
    decision = decide(_candidate(0.99, flags=("known-leak",)), INCUMBENT, higher_is_better=True)
    assert (decision.accepted, decision.stage) == (False, "integrity")
    assert "known-leak" in decision.reason


def test_first_valid_script_is_accepted() -> None:
    decision = decide(_candidate(0.5), None, higher_is_better=True)
    assert decision.accepted and decision.improved


def test_clear_gain_accepted_in_either_direction() -> None:
    assert decide(_candidate(0.81), INCUMBENT, higher_is_better=True).improved
    assert not decide(_candidate(0.79), INCUMBENT, higher_is_better=True).accepted
    lower = decide(_candidate(0.79), INCUMBENT, higher_is_better=False)
    assert lower.accepted and lower.improved


def test_gain_within_tolerance_is_a_tie_not_an_improvement() -> None:
    same_size = decide(_candidate(0.8005), INCUMBENT, higher_is_better=True)
    assert (same_size.accepted, same_size.stage) == (False, "tie-break")
    greedy = decide(_candidate(0.8005), INCUMBENT, higher_is_better=True, staged=False)
    assert greedy.accepted and greedy.stage == "improvement"


def test_tie_goes_to_the_simpler_and_faster_script() -> None:
    simpler = decide(_candidate(0.7998, lines=40, runtime=100), INCUMBENT, higher_is_better=True)
    assert (simpler.accepted, simpler.stage, simpler.improved) == (True, "tie-break", False)
    faster = decide(_candidate(0.8, lines=50, runtime=60), INCUMBENT, higher_is_better=True)
    assert faster.accepted
    simpler_but_slower = decide(
        _candidate(0.8, lines=30, runtime=150), INCUMBENT, higher_is_better=True
    )
    assert not simpler_but_slower.accepted
    barely_faster = decide(_candidate(0.8, lines=50, runtime=95), INCUMBENT, higher_is_better=True)
    assert not barely_faster.accepted


def test_code_lines_ignore_blanks_and_comments() -> None:
    assert count_code_lines("import os\n\n# note\n  # indented note\nx = 1  # tail\n") == 2


def _guarded(candidate: Candidate, score: float | None, se: float = 0.01) -> Candidate:
    trial = dataclasses.replace(candidate.trial, guard_score=score, guard_se=se)
    return Candidate(trial, candidate.code_lines)


GUARDED_INCUMBENT = _guarded(INCUMBENT, 0.80)


def test_win_whose_guard_score_regresses_is_rejected_at_the_guard_stage() -> None:
    regressed = _guarded(_candidate(0.85), 0.70)  # validation up, guard down by 7 se
    decision = decide(regressed, GUARDED_INCUMBENT, higher_is_better=True)
    assert (decision.accepted, decision.stage, decision.improved) == (False, "guard", False)
    assert decision.reason == GUARD_REGRESSION
    assert "0.7" not in decision.reason  # reasons reach prompts: no guard numbers
    tie_break = _guarded(_candidate(0.8, lines=40), 0.70)
    assert decide(tie_break, GUARDED_INCUMBENT, higher_is_better=True).stage == "guard"
    # ablations: the guard stage off, or staging off, leave validation alone to decide
    assert decide(regressed, GUARDED_INCUMBENT, higher_is_better=True, guard=False).accepted
    assert decide(regressed, GUARDED_INCUMBENT, higher_is_better=True, staged=False).accepted


def test_guard_within_its_noise_or_missing_does_not_veto() -> None:
    noisy = _guarded(_candidate(0.85), 0.78)  # 0.02 drop < 2 * sqrt(2) * 0.01
    assert decide(noisy, GUARDED_INCUMBENT, higher_is_better=True).improved
    assert decide(_candidate(0.85), GUARDED_INCUMBENT, higher_is_better=True).improved
    lower = _guarded(_candidate(0.75), 0.90)  # lower is better: the guard went up, i.e. worse
    decision = decide(lower, GUARDED_INCUMBENT, higher_is_better=False)
    assert (decision.accepted, decision.stage) == (False, "guard")
