"""`AideAgent`: AIDE's tree search over solution scripts (the Agent protocol).

Each `propose` call rebuilds the tree from the journal (this agent's trials), lets the policy
(`policy.choose_step`) pick an operator and a node, and asks the model for a plan and a
script (`prompts`). Recipe keys mirror GoME's (`step`, `planned_step`, `llm_calls`, the config
under the agent's name), so the two agents' journals compare line by line.

Review (`review.py`, on by default, `--no-aide-review` to skip): before choosing its next step
the agent has the model judge every execution of its tree not judged yet, as AIDE does after
each run: a function call for models that take tools, a JSON reply otherwise. A node is buggy
when the review says so or when the harness's facts do (`not Trial.is_valid`: it raised,
printed no metric line, left no valid submission or raised an integrity flag); the printed
metric wins over the review's. The review's summary joins the node's plan and score in the
memory. Each step's recipe keeps the reviews it made (`reviews`, by trial id), so a resumed run
has the same tree and reviews nothing twice.

A reply with no usable code block is retried once with the problem stated; if the retry fails
too, the step becomes a `malformed-reply` trial whose script exits at once with the reason
(as in GoME), and the policy never picks such a node for debugging.

Scaffolding (`AideConfig` shares GoME's `Scaffolding` fields and flags): `initialisation=
"builtin"` seeds the first draft with the built-in proposer's script; `edit_mode` "slot" or
"patch" makes improve and debug rewrite one slot function of a built-in parent or patch the
parent; `static_checks` runs every script through GoME's checks and bounded repairs
(`gome.optimizer.coding.write_script`). With the defaults (LLM drafts, whole scripts, no
checks) this is plain AIDE, which runs whatever the model wrote.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from baselines.aide.policy import AideConfig, Decision, choose_step, is_buggy
from baselines.aide.prompts import (
    debug_messages,
    describe_outcome,
    draft_messages,
    improve_messages,
    memory_variants,
    parse_reply,
)
from baselines.aide.review import review_execution, review_messages, takes_tools
from gome.agent import Agent, Proposal, SearchContext
from gome.journal import Trial
from gome.optimizer.agent import failure_script
from gome.optimizer.budget import PromptBudget
from gome.optimizer.coding import (
    Caller,
    CompletionClient,
    Spend,
    StepFailedError,
    write_script,
)
from gome.optimizer.data_preview import DataPreview
from gome.optimizer.evidence import CodeStore
from gome.optimizer.prompts import Briefing, EditTarget, Messages, ScriptReply
from gome.optimizer.slots import SLOTS
from gome.optimizer.trace import MALFORMED_STEP

AGENT_NAME = "aide"
REVIEWS_KEY = "reviews"  # a step's recipe: the reviews it made, by trial id
MAX_HYPOTHESIS_CHARS = 500


def recorded_reviews(steps: Sequence[Trial | Proposal]) -> dict[str, dict[str, Any]]:
    """The reviews the steps' recipes hold, by reviewed trial id (proposals in flight
    included, so parallel workers do not review a node twice)."""
    reviews: dict[str, dict[str, Any]] = {}
    for step in steps:
        reviews |= step.recipe.get(REVIEWS_KEY, {})
    return reviews


class AideAgent:
    """AIDE's draft / debug / improve search. `client` is an `LLMClient` (or anything with its
    `complete`); `run_dir` lets the agent read trial code and output of a resumed run;
    `seed_proposer` (the built-in proposer) is required for `initialisation="builtin"`."""

    name = AGENT_NAME

    def __init__(
        self,
        client: CompletionClient,
        config: AideConfig | None = None,
        *,
        run_dir: Path | None = None,
        seed_proposer: Agent | None = None,
    ) -> None:
        self.client = client
        self.config = config or AideConfig()
        if self.config.initialisation == "builtin" and seed_proposer is None:
            raise ValueError("initialisation='builtin' needs a seed_proposer")
        self.seed_proposer = seed_proposer
        self.store = CodeStore(run_dir)
        self.prompt_budget = PromptBudget.for_client(client, self.config.max_prompt_tokens)
        self.review_tools = takes_tools(client)
        self._previews: dict[Path, DataPreview] = {}

    def propose(self, context: SearchContext) -> Proposal:
        tree = [t for t in context.history if t.agent == self.name]
        pending = [p.parent_ids for p in context.in_flight]
        caller = Caller(self.client, AGENT_NAME)
        briefing = Briefing.from_context(context, self._previews, self.prompt_budget)
        reviews = recorded_reviews([*tree, *context.in_flight])
        new_reviews = self._review(tree, reviews, caller, briefing) if self.config.review else {}
        reviews |= new_reviews
        judged_buggy = {i for i, review in reviews.items() if review.get("is_bug")}
        decision = choose_step(
            tree,
            self.config,
            context.competition.direction,
            context.rng,
            pending=pending,
            judged_buggy=judged_buggy,
        )
        first_root = not any(not t.parent_ids for t in tree) and all(pending)
        if decision.operator == "draft" and first_root and self.seed_proposer is not None:
            proposal = self._seed(decision, context, caller)
        else:
            summaries = {i: str(r["summary"]) for i, r in reviews.items() if r.get("summary")}
            good = [t for t in tree if not is_buggy(t, judged_buggy)]
            memory = memory_variants(good, summaries)
            proposal = self._coding_step(decision, tree, briefing, caller, memory)
        if new_reviews:
            proposal.recipe[REVIEWS_KEY] = new_reviews
        self.store.remember(proposal.code)
        return proposal

    def _review(
        self,
        tree: list[Trial],
        reviewed: dict[str, dict[str, Any]],
        caller: Caller,
        briefing: Briefing,
    ) -> dict[str, dict[str, Any]]:
        """Review every execution of the tree not reviewed yet (a `malformed-reply` node ran
        no code of the model's); a reply unusable twice is recorded as `{"failed": true}`."""
        made: dict[str, dict[str, Any]] = {}
        for trial in tree:
            if trial.id in reviewed or trial.operator == MALFORMED_STEP:
                continue
            code, output = self.store.code_of(trial), self.store.output_of(trial)
            messages = review_messages(briefing, code, trial, output, tools=self.review_tools)
            review = review_execution(caller, messages, tools=self.review_tools)
            made[trial.id] = review.as_recipe() if review else {"failed": True}
        return made

    def _seed(self, decision: Decision, context: SearchContext, caller: Caller) -> Proposal:
        """The first draft is the built-in proposer's script (no model call)."""
        assert self.seed_proposer is not None
        seeded = self.seed_proposer.propose(context)
        seed = {"agent": self.seed_proposer.name, "recipe": seeded.recipe}
        notes = {"plan": seeded.hypothesis, "seed": seed, "step": "init-builtin"}
        return self._proposal(decision, seeded.code, seeded.hypothesis, caller.spend, notes=notes)

    def _coding_step(
        self,
        decision: Decision,
        tree: list[Trial],
        briefing: Briefing,
        caller: Caller,
        memory: tuple[str, ...],
    ) -> Proposal:
        """`memory`: the good nodes' memory, as `memory_variants` renders it."""
        target = self._target(decision, tree)
        messages = self._messages(decision, target, briefing, memory)
        notes: dict[str, Any] = {}
        try:
            reply = self._write(caller, decision.operator, messages, target, briefing, notes)
        except StepFailedError as failure:
            notes.update(failed_stage=failure.stage, failure=failure.reason)
            return self._proposal(
                decision,
                failure_script(failure.stage, failure.reason),
                f"{decision.operator} step",
                caller.spend,
                operator=MALFORMED_STEP,
                notes=notes,
            )
        notes["plan"] = reply.sketch
        return self._proposal(decision, reply.code, reply.sketch, caller.spend, notes=notes)

    # -- prompts -----------------------------------------------------------------------------------
    def _target(self, decision: Decision, tree: list[Trial]) -> EditTarget:
        """What the step edits. In slot mode an improve step rewrites the slot its tree has
        edited least (features first), a debug step the slot the failed node changed."""
        if decision.parent is None:
            return EditTarget("full")
        code = self.store.code_of(decision.parent)
        if decision.operator == "debug":
            about = str(decision.parent.recipe.get("slot", ""))
        else:
            edited = Counter(t.recipe.get("slot") for t in tree)
            about = min(SLOTS, key=lambda name: edited[name])
        return EditTarget.resolve(self.config.edit_mode, code, about)

    def _messages(
        self,
        decision: Decision,
        target: EditTarget,
        briefing: Briefing,
        memory: tuple[str, ...],
    ) -> Messages:
        parent = decision.parent
        if decision.operator == "draft":
            return draft_messages(briefing, memory)
        assert parent is not None
        if decision.operator == "debug":
            outcome = describe_outcome(parent)
            return debug_messages(briefing, target, outcome, self.store.output_of(parent))
        summary = f"{parent.id}, validation score {parent.validation_score:.6g}"
        return improve_messages(briefing, target, summary, memory)

    # -- the model call ----------------------------------------------------------------------------
    def _write(
        self,
        caller: Caller,
        operator: str,
        messages: Messages,
        target: EditTarget,
        briefing: Briefing,
        notes: dict[str, Any],
    ) -> ScriptReply:
        """The step's script. Plain AIDE (whole scripts, no static checks) runs whatever the
        model wrote; otherwise the script goes through the shared checks and repairs."""
        if target.mode == "full" and not self.config.static_checks:
            return caller.parsed(operator, messages, parse_reply)
        return write_script(caller, operator, messages, target, briefing, self.config, notes)

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
