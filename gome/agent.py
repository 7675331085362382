"""The contract between the search loop and an agent (built-in proposer, GoME, AIDE).

The loop owns the harness (runner, grading, journal, budget); an agent only turns what has
happened so far into the next script to try. Agents never see private scores: `history`
holds validation scores the scripts printed themselves and the grader's validity message.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gome.competitions import Competition
from gome.journal import Trial


@dataclass(frozen=True)
class Proposal:
    """The next script to run and why."""

    code: str
    operator: str
    hypothesis: str
    parent_ids: tuple[str, ...] = ()
    recipe: dict[str, Any] = field(default_factory=dict)
    tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class SearchContext:
    """What an agent may look at when proposing."""

    competition: Competition
    public_dir: Path
    history: Sequence[Trial]
    trial_timeout_s: float
    time_left_s: float
    environment: str
    rng: random.Random
    in_flight: Sequence[Proposal] = ()


class Agent(Protocol):
    """Anything that proposes scripts. `name` is recorded on every trial.

    The loop may call `propose` from several workers at once, outside its own lock, so an
    agent keeps its state thread-safe. An agent may also ask for trial slots beyond
    `--workers` with an `extra_workers` attribute (GoME's co-worker)."""

    name: str

    def propose(self, context: SearchContext) -> Proposal: ...
