"""AIDE's review call: one per execution, a function call where the model takes tools and a
JSON reply otherwise, kept in the journal, and a verdict that can only add bugs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from baselines.aide import AideAgent, AideConfig
from baselines.aide.review import REVIEW_TOOL, parse_review
from gome.competitions import load_competition
from gome.llm import LLMClient, LLMReply, MalformedReplyError
from tests.conftest import TOY_ID
from tests.test_aide_agent import BETTER, BROKEN, TRACEBACK, add, agent_for
from tests.test_optimizer_agent import SCRIPT, Run, ScriptedClient, script_reply


@pytest.fixture
def run(toy_competition: tuple[Path, Path], tmp_path: Path) -> Run:
    return Run(tmp_path, load_competition(TOY_ID))


def review_json(is_bug: bool, summary: str, metric: float | None = 0.8) -> str:
    data = {"is_bug": is_bug, "summary": summary, "metric": metric, "lower_is_better": False}
    return f"```json\n{json.dumps(data)}\n```"


def test_a_review_reply_is_read_and_a_reply_without_a_verdict_is_refused() -> None:
    review = parse_review(
        {"is_bug": False, "summary": " works\n well ", "metric": "0.81", "lower_is_better": False}
    )
    assert (review.is_bug, review.summary, review.metric, review.lower_is_better) == (
        False,
        "works well",
        0.81,
        False,
    )
    odd = parse_review({"is_bug": True, "metric": "n/a", "lower_is_better": "maybe"})
    assert (odd.metric, odd.lower_is_better, odd.summary) == (None, None, "")
    with pytest.raises(MalformedReplyError, match="is_bug"):
        parse_review({"is_bug": "no", "summary": "fine"})


def test_every_execution_is_reviewed_once_and_the_summary_joins_the_memory(run: Run) -> None:
    add(run, SCRIPT, "draft", score=0.8, hypothesis="logistic baseline")
    add(run, BROKEN, "draft", label="crash", stderr=TRACEBACK)
    replies = [
        review_json(False, "Logistic regression reaches 0.8 accuracy."),
        review_json(True, "NameError: undefined_name.", metric=None),
        script_reply(BETTER, "Lower C."),
    ]
    agent, client = agent_for(run, replies, num_drafts=2, debug_prob=0, review=True)
    proposal = agent.propose(run.context())
    assert [p for p, _ in client.calls] == ["aide:review", "aide:review", "aide:improve"]
    first, second = client.prompt(0), client.prompt(1)
    assert "C = 1.0" in first and "left a valid submission" in first
    assert "ended with `crash`" in second and "NameError" in second
    assert "JSON object" in first and client.kwargs[0] == {}  # no tools for this model
    reviews = proposal.recipe["reviews"]
    assert reviews["t0001"]["summary"] == "Logistic regression reaches 0.8 accuracy."
    assert reviews["t0002"]["is_bug"] is True
    assert (proposal.recipe["llm_calls"], proposal.tokens) == (3, 450)  # the reviews count
    improve = client.prompt(2)
    assert "- t0001 (draft): logistic baseline" in improve
    assert "results: Logistic regression reaches 0.8 accuracy." in improve

    # the reviews live in the journal: the next step makes none for those trials again
    add(run, BETTER, "improve", score=0.85, parents=("t0001",))
    run.trials[-1] = dataclasses.replace(run.trials[-1], recipe=proposal.recipe)
    replies = [review_json(False, "C = 0.3 gains 0.05."), script_reply(SCRIPT)]
    agent, client = agent_for(run, replies, num_drafts=2, debug_prob=0, review=True)
    agent.propose(run.context())
    assert [p for p, _ in client.calls] == ["aide:review", "aide:improve"]
    assert "C = 0.3" in client.prompt(0)


def test_a_node_the_review_calls_buggy_is_not_improved(run: Run) -> None:
    add(run, SCRIPT, "draft", score=0.8)
    replies = [review_json(True, "The score comes from the training rows."), script_reply(SCRIPT)]
    agent, client = agent_for(run, replies, num_drafts=1, debug_prob=0, review=True)
    proposal = agent.propose(run.context())
    assert (proposal.operator, proposal.recipe["policy_rule"]) == ("draft", "no-good-node")
    assert "Memory" not in client.prompt(1)  # a node judged buggy is no good node either


def test_an_unusable_review_leaves_the_harness_verdict(run: Run) -> None:
    add(run, SCRIPT, "draft", score=0.8)
    replies = ["looks fine to me", "really fine", script_reply(BETTER)]
    agent, client = agent_for(run, replies, num_drafts=1, debug_prob=0, review=True)
    proposal = agent.propose(run.context())
    assert proposal.recipe["reviews"] == {"t0001": {"failed": True}}
    assert (proposal.operator, proposal.parent_ids) == ("improve", ("t0001",))


def test_malformed_steps_are_not_reviewed_and_no_review_means_no_call(run: Run) -> None:
    add(run, "import sys\nsys.exit('draft reply was unusable')\n", "malformed-reply")
    agent, client = agent_for(run, [script_reply(SCRIPT)], num_drafts=2, review=True)
    assert "reviews" not in agent.propose(run.context()).recipe
    assert [p for p, _ in client.calls] == ["aide:draft"]


class ToolClient(ScriptedClient):
    """A scripted model that takes function calls: each reply is a call's arguments."""

    def supports_tools(self) -> bool:
        return True

    def complete(self, messages: list[dict], *, purpose: str = "", **kwargs: object) -> LLMReply:
        reply = super().complete(messages, purpose=purpose, **kwargs)
        if "tools" not in kwargs:
            return reply
        return dataclasses.replace(reply, text="", tool_arguments=reply.text)


def test_a_model_that_takes_tools_reviews_through_a_function_call(run: Run) -> None:
    add(run, SCRIPT, "draft", score=0.8)
    arguments = json.dumps({"is_bug": False, "summary": "fine", "metric": 0.8})
    client = ToolClient([arguments, script_reply(BETTER)])
    agent = AideAgent(client, AideConfig(num_drafts=1, debug_prob=0), run_dir=run.dir)
    proposal = agent.propose(run.context())
    assert client.kwargs[0]["tools"] == [REVIEW_TOOL]
    assert client.kwargs[0]["tool_choice"]["function"]["name"] == "submit_review"
    assert "submit_review" in client.prompt(0) and "JSON object" not in client.prompt(0)
    assert proposal.recipe["reviews"]["t0001"]["summary"] == "fine"
    assert proposal.operator == "improve"


def test_the_client_returns_a_tool_calls_arguments_and_caches_them(tmp_path: Path) -> None:
    arguments = json.dumps({"is_bug": True, "summary": "broken"})
    call = {"id": "call_1", "type": "function"}
    call["function"] = {"name": "submit_review", "arguments": arguments}  # type: ignore[assignment]
    client = LLMClient("gpt-4o-mini", api_key="sk-test", cache_dir=tmp_path / "cache")
    assert client.supports_tools()  # litellm's model map, no network
    messages = [{"role": "user", "content": "review"}]
    for cached in (False, True):
        reply = client.complete(
            messages, tools=[REVIEW_TOOL], mock_response="", mock_tool_calls=[call]
        )
        assert (reply.tool_arguments, reply.cached) == (arguments, cached)
    assert not LLMClient("openai/qwen2.5-coder-1.5b").supports_tools()
