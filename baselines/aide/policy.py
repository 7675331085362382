"""AIDE's search policy: which node of the solution tree to expand next, and with which operator.

The tree is the run's journal: a trial's `parent_ids` are its edges and its `operator` its stage
(`draft` roots, `improve` and `debug` children). Nothing else is stored, so a resumed run picks
up the same tree. One step, with aideml's defaults (5 drafts, debug probability 0.5, debug depth
at most 3):

1. while fewer than `num_drafts` roots exist, draft a new root;
2. with probability `debug_prob`, debug a random buggy leaf whose consecutive-debug depth is at
   most `max_debug_depth` (when there is one);
3. with no good node at all, draft;
4. otherwise improve the best good node (greedy, in the competition's direction).

A node is good when the harness judged it valid (`Trial.is_valid`: it ran, printed its
validation score, left a valid submission and raised no integrity flag) and the review
(`review.py`) did not judge it buggy; buggy otherwise. The reviews' verdicts are kept in the
journal too (each step's recipe holds the reviews it made), so the tree is the same on resume.
Proposals still running count: a draft in flight is a root, and a node with a child in flight
is no longer a leaf, so parallel workers never debug the same node twice.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from gome.direction import Direction
from gome.journal import Trial
from gome.optimizer.config import Scaffolding
from gome.optimizer.trace import MALFORMED_STEP

Operator = Literal["draft", "improve", "debug"]


@dataclass(frozen=True)
class AideConfig(Scaffolding):
    """AIDE's search settings; the defaults are aideml's, with no scaffolding (plain AIDE
    checks nothing before it runs a script)."""

    static_checks: bool = False
    review: bool = True  # the review call after each execution (`review.py`)
    num_drafts: int = 5
    debug_prob: float = 0.5
    max_debug_depth: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_drafts < 1:
            raise ValueError("num_drafts must be at least 1")
        if not 0.0 <= self.debug_prob <= 1.0:
            raise ValueError("debug_prob must be in [0, 1]")
        if self.max_debug_depth < 0:
            raise ValueError("max_debug_depth must be at least 0")

    def as_recipe(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    """The operator to apply, the node it applies to (none for a draft) and which rule chose it."""

    operator: Operator
    parent: Trial | None
    rule: str  # drafts-first | debug | no-good-node | greedy


def is_buggy(trial: Trial, judged_buggy: Collection[str] = ()) -> bool:
    """`judged_buggy`: ids of the nodes the review judged buggy."""
    return not trial.is_valid or trial.id in judged_buggy


def debug_depth(trial: Trial, by_id: dict[str, Trial]) -> int:
    """How many debug steps in a row led to this node (0 for a draft or an improvement)."""
    depth = 0
    node: Trial | None = trial
    while node is not None and node.operator == "debug":
        depth += 1
        node = by_id.get(node.parent_ids[0]) if node.parent_ids else None
    return depth


def best_good_node(
    trials: Sequence[Trial], direction: Direction, judged_buggy: Collection[str] = ()
) -> Trial | None:
    """The good node with the best validation score (the earliest one on ties)."""
    best: Trial | None = None
    best_score = 0.0
    for trial in trials:
        score = trial.validation_score
        if is_buggy(trial, judged_buggy) or score is None:
            continue
        if best is None or direction.is_better(score, best_score):
            best, best_score = trial, score
    return best


def debuggable_leaves(
    trials: Sequence[Trial],
    max_debug_depth: int,
    pending: Sequence[Sequence[str]] = (),
    judged_buggy: Collection[str] = (),
) -> list[Trial]:
    """Buggy nodes with no child (finished or pending) and a debug chain no deeper than the cap.

    A `malformed-reply` node is never debugged: its script is only a placeholder that reports
    why the model's reply could not be used, so there is nothing of the model's to fix.
    """
    by_id = {t.id: t for t in trials}
    children = Counter(p for t in trials for p in t.parent_ids)
    children.update(p for parents in pending for p in parents)
    return [
        t
        for t in trials
        if is_buggy(t, judged_buggy)
        and t.operator != MALFORMED_STEP
        and children[t.id] == 0
        and debug_depth(t, by_id) <= max_debug_depth
    ]


def choose_step(
    trials: Sequence[Trial],
    config: AideConfig,
    direction: Direction,
    rng: random.Random,
    pending: Sequence[Sequence[str]] = (),
    judged_buggy: Collection[str] = (),
) -> Decision:
    """The next step for the tree `trials` (this agent's trials, in journal order).

    `pending` holds the parent ids of proposals still running; `judged_buggy` the ids of the
    nodes the review judged buggy. The rng is drawn from only once the drafting phase is over:
    one draw for the debug coin, one more to pick the leaf.
    """
    roots = sum(1 for t in trials if not t.parent_ids) + sum(1 for p in pending if not p)
    if roots < config.num_drafts:
        return Decision("draft", None, "drafts-first")
    if rng.random() < config.debug_prob:
        leaves = debuggable_leaves(trials, config.max_debug_depth, pending, judged_buggy)
        if leaves:
            return Decision("debug", rng.choice(leaves), "debug")
    best = best_good_node(trials, direction, judged_buggy)
    if best is None:
        return Decision("draft", None, "no-good-node")
    return Decision("improve", best, "greedy")
