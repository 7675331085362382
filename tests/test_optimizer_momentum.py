"""Success memory: bounded, decayed, and reduced to failures when switched off."""

from __future__ import annotations

from gome.optimizer.momentum import StepRecord, build_momentum


def _steps(prefix: str, n: int) -> list[StepRecord]:
    return [StepRecord(f"t{i:04d}", f"{prefix} {i}", f"outcome {i}") for i in range(n)]


def test_recent_successes_first_with_geometric_decay_and_bound() -> None:
    memory = build_momentum(_steps("win", 10), [], None, size=4, decay=0.5)
    assert [w.step.trial_id for w in memory.successes] == ["t0009", "t0008", "t0007"]
    assert [w.weight for w in memory.successes] == [1.0, 0.5, 0.25]  # 0.125 < MIN_WEIGHT
    memory = build_momentum(_steps("win", 10), [], None, size=4, decay=0.9)
    assert len(memory.successes) == 4


def test_failures_bounded_most_recent_first() -> None:
    memory = build_momentum([], _steps("fail", 5), None, failure_size=2)
    assert [f.trial_id for f in memory.failures] == ["t0004", "t0003"]


def test_rendered_memory_lists_best_successes_and_failures() -> None:
    best = StepRecord("t0003", "lgbm", "validation score 0.81")
    text = build_momentum(_steps("win", 2), _steps("fail", 1), best).render()
    assert "Best script so far: t0003" in text
    assert "[1.00] t0001: win 1 -> outcome 1" in text
    assert "t0000: fail 0" in text and "do not retry" in text


def test_momentum_off_keeps_only_failures() -> None:
    best = StepRecord("t0003", "lgbm", "validation score 0.81")
    memory = build_momentum(_steps("win", 3), _steps("fail", 2), best, enabled=False)
    assert memory.successes == () and memory.best is None
    text = memory.render()
    assert "win" not in text and "Best" not in text and "fail 1" in text


def test_empty_memory_renders_nothing() -> None:
    assert build_momentum([], [], None).render() == ""
