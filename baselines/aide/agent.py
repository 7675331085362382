"""`AideAgent`: AIDE's tree search over solution scripts (the Agent protocol).

Each `propose` call rebuilds the tree from the journal (this agent's trials), lets the policy
(`policy.choose_step`) pick an operator and a node, and asks the model once for a plan and a
script (`prompts`). Recipe keys mirror GoME's (`step`, `planned_step`, `llm_calls`, the config
under the agent's name), so the two agents' journals compare line by line.

Review: AIDE judges every execution with a separate model call (is it buggy, a summary, the
metric and its direction). That call is not made here: the harness already decides what it
would, and decides it from measured facts. Every prompt requires the fixed metric line, which
the runner parses; the issue states that the printed metric wins when present, and the grader
checks the submission. So a node is buggy exactly when the harness says so: it did not end
`ok`, printed no score, left no valid submission or raised an integrity flag
(`not Trial.is_valid`). What is lost is the review's prose summary, which AIDE adds to the
memory next to each good node's plan; the memory here shows the plan and the measured score.
A review call would only add information for a script that ran cleanly, left a valid
submission, but printed no metric line; such a node is buggy here and goes to the debug
operator, which tells the model the line was missing. GoME relies on the same line, so no
review call is needed for a fair comparison.

A reply with no usable code block is retried once with the problem stated; if the retry fails
too, the step becomes a `malformed-reply` trial whose script exits at once with the reason
(as in GoME), and the policy never picks such a node for debugging.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from baselines.aide.policy import AideConfig, Decision, choose_step
from baselines.aide.prompts import (
    AideReply,
    debug_messages,
    describe_outcome,
    draft_messages,
    improve_messages,
    parse_reply,
    render_memory,
)
from gome.agent import Proposal, SearchContext
from gome.journal import Trial
from gome.llm import MalformedReplyError
from gome.optimizer.agent import CompletionClient, Spend, failure_script
from gome.optimizer.evidence import CodeStore
from gome.optimizer.prompts import Briefing, Messages, retry_message
from gome.optimizer.trace import MALFORMED_STEP

AGENT_NAME = "aide"
MAX_HYPOTHESIS_CHARS = 500


class AideAgent:
    """AIDE's draft / debug / improve search. `client` is an `LLMClient` (or anything with its
    `complete`); `run_dir` lets the agent read trial code and output of a resumed run."""

    name = AGENT_NAME

    def __init__(
        self,
        client: CompletionClient,
        config: AideConfig | None = None,
        *,
        run_dir: Path | None = None,
    ) -> None:
        self.client = client
        self.config = config or AideConfig()
        self.store = CodeStore(run_dir)
        self._previews: dict[Path, str] = {}

    def propose(self, context: SearchContext) -> Proposal:
        tree = [t for t in context.history if t.agent == self.name]
        decision = choose_step(
            tree,
            self.config,
            context.competition.direction,
            context.rng,
            pending=[p.parent_ids for p in context.in_flight],
        )
        messages = self._messages(decision, tree, context)
        spend = Spend()
        try:
            reply = self._ask(decision.operator, messages, spend)
        except MalformedReplyError as exc:
            proposal = self._proposal(
                decision,
                failure_script(decision.operator, str(exc)),
                f"{decision.operator} step",
                spend,
                operator=MALFORMED_STEP,
                notes={"failure": str(exc)},
            )
        else:
            proposal = self._proposal(
                decision, reply.code, reply.plan, spend, notes={"plan": reply.plan}
            )
        self.store.remember(proposal.code)
        return proposal

    # -- prompts -----------------------------------------------------------------------------------
    def _messages(self, decision: Decision, tree: list[Trial], context: SearchContext) -> Messages:
        briefing = Briefing.from_context(context, self._previews)
        parent = decision.parent
        if decision.operator == "draft":
            return draft_messages(briefing, self._memory(tree))
        assert parent is not None
        code = self.store.code_of(parent)
        if decision.operator == "debug":
            outcome = describe_outcome(parent)
            return debug_messages(briefing, code, outcome, self.store.output_of(parent))
        summary = f"{parent.id}, validation score {parent.validation_score:.6g}"
        return improve_messages(briefing, code, summary, self._memory(tree))

    @staticmethod
    def _memory(tree: list[Trial]) -> str:
        return render_memory([t for t in tree if t.is_valid])

    # -- the model call ----------------------------------------------------------------------------
    def _ask(self, operator: str, messages: Messages, spend: Spend) -> AideReply:
        """Call and parse; a malformed reply is retried once with the problem stated."""
        reply = self._call(operator, messages, spend)
        try:
            return parse_reply(reply)
        except MalformedReplyError as exc:
            messages = messages + retry_message(reply, str(exc))
        return parse_reply(self._call(operator, messages, spend))

    def _call(self, operator: str, messages: Messages, spend: Spend) -> str:
        reply = self.client.complete(messages, purpose=f"aide:{operator}")
        spend.add(reply)
        return reply.text

    # -- the proposal ------------------------------------------------------------------------------
    def _proposal(
        self,
        decision: Decision,
        code: str,
        hypothesis: str,
        spend: Spend,
        *,
        operator: str | None = None,
        notes: dict[str, Any],
    ) -> Proposal:
        recipe: dict[str, Any] = {
            "step": operator or decision.operator,
            "planned_step": decision.operator,
            "policy_rule": decision.rule,
            "llm_calls": spend.calls,
            "aide": self.config.as_recipe(),
            **notes,
        }
        parent_ids = (decision.parent.id,) if decision.parent is not None else ()
        return Proposal(
            code=code,
            operator=operator or decision.operator,
            hypothesis=" ".join(hypothesis.split())[:MAX_HYPOTHESIS_CHARS],
            parent_ids=parent_ids,
            recipe=recipe,
            tokens=spend.tokens,
            cost_usd=spend.cost_usd,
        )
