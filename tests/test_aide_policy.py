"""AIDE's search policy, branch by branch, with a seeded rng over hand-built trees."""

from __future__ import annotations

import random

import pytest

from baselines.aide.policy import AideConfig, choose_step, debug_depth
from gome.direction import Direction
from gome.journal import Trial

HIGHER = Direction.HIGHER


def node(
    tid: str,
    operator: str = "draft",
    parent: str | None = None,
    score: float | None = None,
    label: str = "ok",
    flags: tuple[str, ...] = (),
) -> Trial:
    return Trial(
        id=tid,
        parent_ids=(parent,) if parent else (),
        agent="aide",
        operator=operator,
        hypothesis=f"plan {tid}",
        code_path=f"trials/{tid}/solution.py",
        code_hash=tid,
        label=label,
        validation_score=score,
        flags=flags,
    )


def good(tid: str, score: float, operator: str = "draft", parent: str | None = None) -> Trial:
    return node(tid, operator, parent, score=score)


def buggy(tid: str, operator: str = "draft", parent: str | None = None) -> Trial:
    return node(tid, operator, parent, label="crash")


def five_drafts() -> list[Trial]:
    """Two good drafts (0.7, 0.8) and three buggy ones."""
    return [good("d1", 0.7), buggy("d2"), good("d3", 0.8), buggy("d4"), buggy("d5")]


def step(trials: list[Trial], seed: int = 0, direction: Direction = HIGHER, **config: object):
    return choose_step(trials, AideConfig(**config), direction, random.Random(seed))


def test_drafts_come_first_without_touching_the_rng() -> None:
    trials: list[Trial] = []
    for i in range(5):
        rng = random.Random(7)
        decision = choose_step(trials, AideConfig(debug_prob=1.0), HIGHER, rng)
        assert (decision.operator, decision.parent, decision.rule) == (
            "draft",
            None,
            "drafts-first",
        )
        assert rng.random() == random.Random(7).random()
        trials.append(buggy(f"d{i}"))
    assert step(trials, debug_prob=1.0).operator == "debug"


def test_children_do_not_count_as_drafts_but_pending_drafts_do() -> None:
    trials = [good("d1", 0.7), good("i1", 0.9, "improve", "d1")]
    assert step(trials, num_drafts=2, debug_prob=0.0).rule == "drafts-first"
    decision = choose_step(
        trials, AideConfig(num_drafts=2, debug_prob=0.0), HIGHER, random.Random(0), pending=[()]
    )
    assert (decision.operator, decision.parent) == ("improve", trials[1])


def test_debug_probability_sets_the_share_of_debug_steps() -> None:
    trials = five_drafts()
    assert all(step(trials, seed, debug_prob=1.0).operator == "debug" for seed in range(20))
    assert all(step(trials, seed, debug_prob=0.0).operator == "improve" for seed in range(20))
    decisions = [step(trials, seed) for seed in range(400)]
    debug_share = sum(d.operator == "debug" for d in decisions) / len(decisions)
    assert 0.4 < debug_share < 0.6
    assert {d.parent.id for d in decisions if d.operator == "debug" and d.parent} == {
        "d2",
        "d4",
        "d5",
    }


def test_only_buggy_leaves_are_debugged() -> None:
    trials = five_drafts() + [buggy("x1", "debug", "d2"), good("x2", 0.75, "debug", "d4")]
    picked = {step(trials, seed, debug_prob=1.0).parent.id for seed in range(60)}
    assert picked == {"x1", "d5"}  # d2 and d4 have children; x2 is good
    decision = choose_step(
        trials, AideConfig(debug_prob=1.0), HIGHER, random.Random(0), pending=[("d5",), ("x1",)]
    )
    assert decision.rule == "greedy"  # every buggy leaf has a child in flight


def test_depth_cap_bounds_consecutive_debug_steps() -> None:
    chain = [buggy("d1")] + [
        buggy(f"g{i}", "debug", "d1" if i == 1 else f"g{i - 1}") for i in (1, 2, 3)
    ]
    trials = [*chain, good("d2", 0.5)]
    by_id = {t.id: t for t in trials}
    assert [debug_depth(t, by_id) for t in chain] == [0, 1, 2, 3]
    decision = step(trials, num_drafts=2, debug_prob=1.0, max_debug_depth=3)
    assert (decision.operator, decision.parent.id) == ("debug", "g3")  # depth 3 <= 3
    capped = step(trials, num_drafts=2, debug_prob=1.0, max_debug_depth=2)
    assert (capped.operator, capped.parent.id) == ("improve", "d2")
    # an improvement starts a new chain: its debug child has depth 1 again
    fresh = [*trials, buggy("i1", "improve", "d2"), buggy("h1", "debug", "i1")]
    assert debug_depth(fresh[-1], {t.id: t for t in fresh}) == 1
    assert step(fresh, num_drafts=2, debug_prob=1.0, max_debug_depth=1).parent.id == "h1"


def test_no_good_node_means_draft() -> None:
    trials = [buggy(f"d{i}") for i in range(5)]
    decision = step(trials, debug_prob=0.0)
    assert (decision.operator, decision.parent, decision.rule) == ("draft", None, "no-good-node")
    # a coin that says debug but finds no debuggable leaf falls through to the same rule
    malformed = [node(f"m{i}", "malformed-reply", label="crash") for i in range(5)]
    assert step(malformed, debug_prob=1.0).rule == "no-good-node"
    flagged = [node(f"f{i}", score=0.9, flags=("leak",)) for i in range(5)]
    assert step(flagged, debug_prob=0.0).rule == "no-good-node"


def test_greedy_improves_the_best_good_node_in_the_competition_direction() -> None:
    trials = [
        *five_drafts(),
        good("i1", 0.6, "improve", "d1"),
        node("i2", "improve", "d3", score=0.99, flags=("leak",)),
        good("i3", 0.8, "improve", "d3"),  # ties d3: the earlier one wins
    ]
    higher = step(trials, debug_prob=0.0)
    assert (higher.operator, higher.parent.id, higher.rule) == ("improve", "d3", "greedy")
    lower = step(trials, debug_prob=0.0, direction=Direction.LOWER)
    assert lower.parent.id == "i1"


def test_config_validates_and_records_itself() -> None:
    assert AideConfig().as_recipe() == {
        "num_drafts": 5,
        "debug_prob": 0.5,
        "max_debug_depth": 3,
        "review": True,  # a model call judges each execution
        # no scaffolding by default: plain AIDE
        "initialisation": "draft",
        "edit_mode": "full",
        "static_checks": False,
        "static_repairs": 2,
        "prune": True,  # acts in slot mode only
        "max_prompt_tokens": None,
        "max_reply_tokens": None,  # the endpoint's
    }
    for bad in (
        {"num_drafts": 0},
        {"debug_prob": 1.5},
        {"max_debug_depth": -1},
        {"edit_mode": "diff"},
        {"static_repairs": -1},
        {"max_reply_tokens": 0},
    ):
        with pytest.raises(ValueError):
            AideConfig(**bad)


def test_a_node_the_review_judged_buggy_is_neither_improved_nor_left_undebugged() -> None:
    trials = five_drafts()  # d3 (0.8) is the best good node by the harness's facts
    judged = {"d3"}
    rng = random.Random(0)
    improve = choose_step(trials, AideConfig(debug_prob=0.0), HIGHER, rng, judged_buggy=judged)
    assert (improve.operator, improve.parent.id) == ("improve", "d1")
    debugged = {
        choose_step(
            trials, AideConfig(debug_prob=1.0), HIGHER, random.Random(s), judged_buggy=judged
        ).parent.id
        for s in range(30)
    }
    assert debugged == {"d2", "d3", "d4", "d5"}
