"""A proposer whose every script crashes at once must not spin the loop."""

from __future__ import annotations

import time
from pathlib import Path

from gome.agent import Proposal, SearchContext
from gome.solve import FREE_FAST_FAILURES, SolveConfig, SolveRun, failure_backoff_s
from tests.conftest import TOY_ID


class CrashingAgent:
    name = "crashing"

    def propose(self, context: SearchContext) -> Proposal:
        return Proposal(code="raise SystemExit(1)\n", operator="draft", hypothesis="crash")


def test_backoff_grows_after_the_free_failures_and_is_capped() -> None:
    waits = [failure_backoff_s(n) for n in range(1, 12)]
    assert waits[:FREE_FAST_FAILURES] == [0.0] * FREE_FAST_FAILURES
    growing = waits[FREE_FAST_FAILURES:]
    assert growing[:3] == [1.0, 2.0, 4.0]
    assert growing == sorted(growing) and max(growing) == 30.0


def test_crashing_proposer_backs_off(toy_competition, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    run = SolveRun(run_dir, SolveConfig(competition_id=TOY_ID, budget_s=30.0))
    run.agent = CrashingAgent()
    started = time.monotonic()
    run.search()
    assert time.monotonic() - started < 40
    trials = run.journal.trials
    assert trials and all(t.label == "crash" for t in trials)
    # 3 free failures, then pauses of 1, 2, 4, 8 s ... fill the remaining budget (~15 s
    # before the loop's minimum trial time): a handful of trials, not hundreds
    assert len(trials) <= FREE_FAST_FAILURES + 5
    assert "backoff: 4 quick failures in a row, pausing 1s" in (run_dir / "run.log").read_text()
