"""The direction of a metric, in one value type, so "better" is never re-implemented with a
sign flip at a call site."""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Direction(enum.Enum):
    """Whether a higher or a lower score is better."""

    HIGHER = "higher"
    LOWER = "lower"

    @classmethod
    def of(cls, higher_is_better: bool) -> Direction:
        return cls.HIGHER if higher_is_better else cls.LOWER

    @property
    def higher_is_better(self) -> bool:
        return self is Direction.HIGHER

    def is_better(self, a: float, b: float) -> bool:
        """True when score `a` is strictly better than score `b`."""
        return a > b if self.higher_is_better else a < b

    def ties_or_beats(self, a: float, b: float) -> bool:
        """True when score `a` is at least as good as score `b` (how medals are awarded)."""
        return a == b or self.is_better(a, b)

    def as_loss(self, score: float) -> float:
        """`score` on a scale where lower is better (to sort or rank mixed metrics)."""
        return -score if self.higher_is_better else score

    def best(self, scores: Iterable[float]) -> float:
        """The best of `scores` (which must not be empty)."""
        return max(scores) if self.higher_is_better else min(scores)
