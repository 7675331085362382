"""AideAgent's operators against scripted replies over a run folder: draft, improve, debug."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest

from baselines.aide import AideAgent, AideConfig
from gome.agent import Proposal
from gome.competitions import load_competition
from gome.journal import Trial
from tests.conftest import TOY_ID
from tests.test_optimizer_agent import SCRIPT, Run, ScriptedClient, script_reply

BETTER = SCRIPT.replace("C = 1.0", "C = 0.3")
BROKEN = SCRIPT.replace("C = 1.0", "C = undefined_name")
TRACEBACK = "Traceback (most recent call last):\nNameError: name 'undefined_name'"
BRIEFING = (
    "Predict `label`",  # task
    "x1: float64",  # data preview
    "pandas 3.1",  # environment
    "validation_score: <number>",  # metric line
    "50 min of the whole run remain",
    "killed after 5 min",
)


@pytest.fixture
def run(toy_competition: tuple[Path, Path], tmp_path: Path) -> Run:
    return Run(tmp_path, load_competition(TOY_ID))


def add(run: Run, code: str, operator: str, **fields: object) -> Trial:
    """A trial written as the loop writes it for the aide agent."""
    trial = dataclasses.replace(run.add(code, operator, **fields), agent="aide")
    run.trials[-1] = trial
    return trial


def agent_for(
    run: Run, replies: Sequence[str], **config: object
) -> tuple[AideAgent, ScriptedClient]:
    """An agent on scripted replies; without the review unless `review=True` (the review's
    calls have their own tests: tests/test_aide_review.py)."""
    client = ScriptedClient(replies)
    config.setdefault("review", False)
    return AideAgent(client, AideConfig(**config), run_dir=run.dir), client


def assert_briefed(prompt: str) -> None:
    for expected in BRIEFING:
        assert expected in prompt, expected


def test_first_draft_is_briefed_and_told_to_start_simple(run: Run) -> None:
    agent, client = agent_for(run, [script_reply(SCRIPT, "Plan: a logistic baseline.")])
    proposal = agent.propose(run.context())
    assert (proposal.operator, proposal.code, proposal.parent_ids) == ("draft", SCRIPT, ())
    assert proposal.hypothesis == "Plan: a logistic baseline."
    assert proposal.recipe["aide"] == AideConfig(review=False).as_recipe()
    assert proposal.recipe["policy_rule"] == "drafts-first"
    assert (proposal.recipe["step"], proposal.recipe["llm_calls"]) == ("draft", 1)
    assert (proposal.tokens, proposal.cost_usd) == (150, pytest.approx(0.001))
    assert client.calls[0][0] == "aide:draft"
    prompt = client.prompt(0)
    assert_briefed(prompt)
    assert "deliberately simple" in prompt and "Memory" not in prompt


def test_draft_memory_holds_good_nodes_plans_and_scores_only(run: Run) -> None:
    add(run, SCRIPT, "draft", score=0.8, hypothesis="logistic regression on scaled x1, x2")
    add(run, BROKEN, "draft", label="crash", hypothesis="a broken random forest")
    add(run, SCRIPT, "draft", score=0.9, hypothesis="leaky")
    run.trials[-1] = dataclasses.replace(run.trials[-1], flags=("leak",))
    run.add(BETTER, "draft", score=0.95, hypothesis="another agent's trial")
    agent, client = agent_for(run, [script_reply(BETTER)])
    proposal = agent.propose(run.context())
    assert proposal.operator == "draft"  # 3 aide roots of 5; the gome trial is not in the tree
    prompt = client.prompt(0)
    assert "- t0001 (draft): logistic regression on scaled x1, x2" in prompt
    assert "validation score: 0.8" in prompt
    for absent in ("broken random forest", "leaky", "another agent"):
        assert absent not in prompt


def test_improve_shows_the_best_node_memory_and_asks_for_one_atomic_change(run: Run) -> None:
    add(run, SCRIPT, "draft", score=0.8, hypothesis="logistic baseline")
    add(run, BROKEN, "draft", label="crash", stderr=TRACEBACK)
    agent, client = agent_for(run, [script_reply(BETTER, "Lower C.")], num_drafts=2, debug_prob=0)
    proposal = agent.propose(run.context())
    assert (proposal.operator, proposal.parent_ids, proposal.code) == (
        "improve",
        ("t0001",),
        BETTER,
    )
    assert proposal.recipe["plan"] == "Lower C." and client.calls[0][0] == "aide:improve"
    prompt = client.prompt(0)
    assert_briefed(prompt)
    assert "Previous solution (t0001, validation score 0.8)" in prompt and "C = 1.0" in prompt
    assert "exactly one atomic change" in prompt
    assert "- t0001 (draft): logistic baseline" in prompt  # memory
    assert "undefined_name" not in prompt


def test_debug_shows_the_buggy_code_and_its_output_but_no_memory(run: Run) -> None:
    add(run, SCRIPT, "draft", score=0.8, hypothesis="logistic baseline")
    add(run, BROKEN, "draft", label="crash", stderr=TRACEBACK)
    agent, client = agent_for(run, [script_reply(SCRIPT, "Define C.")], num_drafts=2, debug_prob=1)
    proposal = agent.propose(run.context())
    assert (proposal.operator, proposal.parent_ids) == ("debug", ("t0002",))
    assert proposal.recipe["policy_rule"] == "debug"
    prompt = client.prompt(0)
    assert_briefed(prompt)
    assert "C = undefined_name" in prompt and "NameError: name 'undefined_name'" in prompt
    assert "ended with `crash`" in prompt
    assert "logistic baseline" not in prompt and "Memory" not in prompt


def test_debug_of_a_silent_script_says_the_metric_line_was_missing(run: Run) -> None:
    add(run, SCRIPT, "draft")  # ran, printed no score
    agent, client = agent_for(run, [script_reply(SCRIPT)], num_drafts=1, debug_prob=1)
    assert agent.propose(run.context()).operator == "debug"
    assert "printed no validation score line" in client.prompt(0)


def test_malformed_reply_is_retried_once_with_the_problem(run: Run) -> None:
    agent, client = agent_for(run, ["I would use a random forest.", script_reply(SCRIPT)])
    proposal = agent.propose(run.context())
    assert proposal.operator == "draft" and proposal.code == SCRIPT
    assert proposal.recipe["llm_calls"] == 2 and proposal.tokens == 300
    retry = client.calls[1][1]
    assert retry[-2] == {"role": "assistant", "content": "I would use a random forest."}
    assert "could not be used" in retry[-1]["content"] and "no code block" in retry[-1]["content"]


def test_twice_malformed_step_is_labelled_and_never_debugged(run: Run) -> None:
    agent, client = agent_for(run, ["no code", "still no code"], num_drafts=1, debug_prob=1)
    proposal = agent.propose(run.context())
    assert proposal.operator == "malformed-reply" and len(client.calls) == 2
    assert proposal.recipe["planned_step"] == "draft"
    assert "no code block" in proposal.recipe["failure"]
    assert "sys.exit(" in proposal.code and "draft reply was unusable" in proposal.code
    compile(proposal.code, "labelled.py", "exec")
    add(run, proposal.code, proposal.operator, label="crash")
    agent, _ = agent_for(run, [script_reply(SCRIPT)], num_drafts=1, debug_prob=1)
    proposal = agent.propose(run.context())
    assert (proposal.operator, proposal.recipe["policy_rule"]) == ("draft", "no-good-node")


def test_proposals_in_flight_shape_the_tree(run: Run) -> None:
    add(run, BROKEN, "draft", label="crash", stderr=TRACEBACK)
    in_flight = [Proposal(code="", operator="debug", hypothesis="", parent_ids=("t0001",))]
    agent, _ = agent_for(run, [script_reply(SCRIPT)], num_drafts=1, debug_prob=1)
    proposal = agent.propose(run.context(in_flight=in_flight))
    assert proposal.operator == "draft"  # t0001 is already being debugged


def test_scaffolding_seeds_the_first_draft_and_improves_one_slot(run: Run) -> None:
    from gome.proposers.builtin import BuiltinProposer
    from tests.test_slots import slot_reply

    client = ScriptedClient([])
    config = AideConfig(
        initialisation="builtin", edit_mode="slot", static_checks=True, review=False
    )
    agent = AideAgent(client, config, run_dir=run.dir, seed_proposer=BuiltinProposer())
    seeded = agent.propose(run.context())
    assert (seeded.operator, seeded.recipe["step"], client.calls) == ("draft", "init-builtin", [])
    assert "def add_features" in seeded.code and seeded.recipe["seed"]["agent"] == "builtin"
    add(run, seeded.code, "draft", score=0.8)
    good = "    frame['x1x2'] = frame['x1'] * frame['x2']\n    return frame"
    client = ScriptedClient([slot_reply(good)])
    config = dataclasses.replace(config, num_drafts=1)
    agent = AideAgent(client, config, run_dir=run.dir, seed_proposer=BuiltinProposer())
    proposal = agent.propose(run.context())
    assert proposal.operator == "improve" and "frame['x1x2']" in proposal.code
    assert (proposal.recipe["slot"], proposal.recipe["static_checks"]) == (
        "add_features",
        [{"problems": []}],
    )
    prompt = client.prompt(0)
    assert "exactly one atomic change" in prompt and "rewriting `add_features`" in prompt
    assert "def build_features" not in prompt
    with pytest.raises(ValueError, match="seed_proposer"):
        AideAgent(client, config)
