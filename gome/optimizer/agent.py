"""`GomeAgent`: reasoning as gradient descent over a solution script (the Agent protocol).

Each `propose` call picks a trace, replays it from the journal (`trace.replay_trace`), and
plans one step:

1. a fresh segment starts with an initialisation: an LLM draft (task + data preview +
   hardware) or the built-in proposer's script; drafts continue until `num_drafts` are done
   and one is valid, and the best valid one is θ₀;
2. a failed last trial gets up to `max_debug_attempts` debug steps (code + output only);
3. in the last `merge_fraction` of the budget, with several traces, one merge step (once per
   run) combines the traces' best scripts;
4. a trace stalled for `restart_patience` steps restarts from a fresh initialisation, keeping
   its success memory but none of its failed transcripts;
5. otherwise an improve step: diagnosis (problems -> scored hypotheses) -> top k -> one drawn
   with the context's rng -> sketch and new script (whole, or patches to θ).

A reply that cannot be parsed is retried once with the parse error. If the retry fails too,
the step is journaled as operator `malformed-reply` with a script that exits at once with the
reason, so the loop never crashes, the failure is visible in the journal, and almost no trial
time is spent on it. (Re-running the parent instead would cost a whole trial.) With static
checks on, every script passes them (or their bounded repairs, `coding.write_script`) before
it runs; a script still failing them is such a labelled failure too (stage `static-check`).
In slot mode (`edit_mode="slot"`) coding steps on a built-in parent rewrite one slot function.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from gome.agent import Agent, Proposal, SearchContext
from gome.journal import Trial, code_hash
from gome.llm import extract_json
from gome.optimizer.acceptance import count_code_lines
from gome.optimizer.budget import PromptBudget
from gome.optimizer.coding import (
    STATIC_CHECK_STAGE,
    Caller,
    CompletionClient,
    Spend,
    StepFailedError,
    write_script,
)
from gome.optimizer.config import GomeConfig
from gome.optimizer.data_preview import DataPreview
from gome.optimizer.diagnosis import (
    Diagnosis,
    draw_hypothesis,
    parse_diagnosis,
    top_hypotheses,
    unanswered_problems,
)
from gome.optimizer.evidence import CodeStore, gather_evidence
from gome.optimizer.momentum import StepRecord, build_momentum
from gome.optimizer.prompts import (
    MAX_SKETCH_CHARS,
    Briefing,
    EditTarget,
    Messages,
    ScriptReply,
    debug_messages,
    diagnosis_messages,
    draft_messages,
    history_variants,
    implement_messages,
    merge_messages,
)
from gome.optimizer.schedule import StepSize, choose_step_size, should_restart
from gome.optimizer.trace import (
    AGENT_NAME,
    COWORKER_STEP,
    MALFORMED_STEP,
    TraceState,
    replay_trace,
    trace_of,
)
from gome.proposers.recipes import task_config

T = TypeVar("T")
SIBLING_HYPOTHESES = 2  # latest hypotheses shown per other trace
__all__ = ["CompletionClient", "GomeAgent", "Spend", "StepFailedError", "failure_script"]


@dataclass
class Step:
    """One planned step and what it records in the recipe."""

    kind: str  # draft | init-builtin | restart | debug | merge | improve | coworker
    trace: int
    segment: int
    parent: Trial | None = None
    step_size: StepSize | None = None
    spend: Spend = field(default_factory=Spend)
    notes: dict[str, Any] = field(default_factory=dict)


def _summary(trial: Trial) -> str:
    score = "none" if trial.validation_score is None else f"{trial.validation_score:.6g}"
    return f"{trial.id}, validation score {score}, runtime {trial.runtime_s:.0f}s"


def failure_script(stage: str, reason: str) -> str:
    """A script that fails at once, carrying the reason into the trial's output."""
    if stage == STATIC_CHECK_STAGE:
        message = f"gome: the script failed its static checks: {reason}"
    else:
        message = f"gome: the {stage} reply was unusable after one retry: {reason}"
    return f"import sys\n\nsys.exit({message!r})\n"


def _check_unseen(code: str, context: SearchContext) -> None:
    """Raise `StepFailedError` when `code` is a script that already ran or is running: two
    replies can prune or repair down to the same function, and a second run of it would only
    repeat its score."""
    seen = {t.code_hash: t.id for t in context.history}
    seen |= {code_hash(p.code): "a step in progress" for p in context.in_flight}
    twin = seen.get(code_hash(code))
    if twin is not None:
        raise StepFailedError("implement", f"the edit gives the same script as {twin}")


def seed_view(context: SearchContext) -> SearchContext:
    """The context as the seed proposer sees it: the trials and proposals it made (θ₀,
    restarts, co-worker steps) carry its own recipe, so it continues its own search instead
    of proposing its first recipe again."""

    def own(recipe: dict[str, Any]) -> dict[str, Any]:
        seed = recipe.get("seed")
        return seed["recipe"] if isinstance(seed, dict) and "recipe" in seed else recipe

    return replace(
        context,
        history=[replace(t, recipe=own(t.recipe)) for t in context.history],
        in_flight=[replace(p, recipe=own(p.recipe)) for p in context.in_flight],
    )


class GomeAgent:
    """The GoME optimizer. `client` is an `LLMClient` (or anything with its `complete`).

    `run_dir` lets the agent read trial code and output of a resumed run (code it proposed
    itself is remembered in memory); `seed_proposer` (the built-in proposer) is required for
    `initialisation="builtin"`; `budget_s` is the run's total budget, used for the step-size
    schedule and merge timing (default: the time left at the first call).
    """

    name = AGENT_NAME

    def __init__(
        self,
        client: CompletionClient,
        config: GomeConfig | None = None,
        *,
        run_dir: Path | None = None,
        seed_proposer: Agent | None = None,
        budget_s: float | None = None,
    ) -> None:
        self.client = client
        self.config = config or GomeConfig()
        if self.config.initialisation == "builtin" and seed_proposer is None:
            raise ValueError("initialisation='builtin' needs a seed_proposer")
        self.seed_proposer = seed_proposer
        self.store = CodeStore(run_dir)
        self.budget_s = budget_s
        self.prompt_budget = PromptBudget.for_client(client, self.config.max_prompt_tokens)
        self._previews: dict[Path, DataPreview] = {}
        self._extra_models: tuple[str, str] | None = None
        # the loop may ask for proposals from several workers at once: the traces of the
        # steps being planned (an LLM step takes minutes) are held here, under the lock
        self._lock = threading.Lock()
        self._planning: list[int] = []

    @property
    def extra_workers(self) -> int:
        """Trial slots the loop adds for this agent: one for the co-worker."""
        return 1 if self.config.coworker and self.seed_proposer is not None else 0

    # -- the protocol -----------------------------------------------------------------------------
    def propose(self, context: SearchContext) -> Proposal:
        with self._lock:
            if self.budget_s is None:
                self.budget_s = max(context.time_left_s, 1.0)
            coworker = bool(self.extra_workers) and (
                self._own_steps_in_progress(context) >= self.config.traces
            )
            index = self._pick_trace(context)
            if not coworker:
                self._planning.append(index)
        if coworker:
            return self._coworker_step(context, index)
        try:
            state = self._trace_state(context, index)
            step = self._plan(state, context)
            try:
                proposal = self._execute(step, state, context)
            except StepFailedError as failure:
                proposal = self._labelled_failure(step, failure)
        finally:
            with self._lock:
                self._planning.remove(index)
        self.store.remember(proposal.code)
        return proposal

    def _own_steps_in_progress(self, context: SearchContext) -> int:
        """The model's steps being planned or running (co-worker steps left out): each trace
        takes one step at a time, since the next step reads the last one's outcome."""
        running = sum(1 for p in context.in_flight if p.recipe.get("step") != COWORKER_STEP)
        return len(self._planning) + running

    def _coworker_step(self, context: SearchContext, trace: int) -> Proposal:
        """While every trace's step is being written or run, the seed proposer's next recipe
        runs in `trace`: the CPU does useful work instead of idling through an LLM step, and a
        better script it finds becomes the trace's θ for the next gradient step."""
        state = self._trace_state(context, trace)
        step = Step(COWORKER_STEP, trace, state.segment)
        proposal = self._seed(step, context)
        self.store.remember(proposal.code)
        return proposal

    # -- planning ----------------------------------------------------------------------------------
    def _pick_trace(self, context: SearchContext) -> int:
        """The trace with the fewest trials (finished, in flight and being planned); lowest
        index on ties."""
        counts = [0] * self.config.traces
        for trace in (
            [trace_of(t) for t in context.history]
            + [p.recipe.get("trace") for p in context.in_flight]
            + self._planning
        ):
            if isinstance(trace, int) and 0 <= trace < len(counts):
                counts[trace] += 1
        return counts.index(min(counts))

    def _trace_state(self, context: SearchContext, index: int) -> TraceState:
        return replay_trace(
            index,
            context.history,
            self._code_lines,
            self.config,
            context.competition.higher_is_better,
        )

    def _omega_models(self, context: SearchContext) -> tuple[str, str]:
        """The OMEGA registry's best algorithms for this task, with and without their code;
        read once per run, so every prompt of the run offers the same ones."""
        if self._extra_models is None:
            from omega.registry import prompt_snippet  # scipy & co: only when prompts need it

            competition = context.competition
            wanted = self.config.omega_models if competition.modality == "tabular" else 0
            problem = task_config(competition)["problem"]
            self._extra_models = (
                (
                    prompt_snippet(problem, limit=wanted),
                    prompt_snippet(problem, limit=wanted, with_code=False),
                )
                if wanted
                else ("", "")
            )
        return self._extra_models

    def _code_lines(self, trial: Trial) -> int:
        return count_code_lines(self.store.code_of(trial))

    def elapsed_fraction(self, context: SearchContext) -> float:
        budget = self.budget_s or context.time_left_s or 1.0
        return min(1.0, max(0.0, 1.0 - context.time_left_s / budget))

    def _plan(self, state: TraceState, context: SearchContext) -> Step:
        cfg = self.config
        init_kind = "init-builtin" if cfg.initialisation == "builtin" else "draft"
        step = Step(init_kind, state.index, state.segment)
        if state.last is None:
            return step
        if cfg.debug and state.last_is_debuggable and state.debug_depth < cfg.max_debug_attempts:
            return Step("debug", state.index, state.segment, parent=state.last)
        wants_drafts = cfg.initialisation == "draft" and state.init_steps < cfg.num_drafts
        if state.incumbent is None or wants_drafts:
            return step
        if self._merge_due(state, context):
            return Step("merge", state.index, state.segment, parent=state.incumbent)
        if cfg.restart and should_restart(
            state.steps_since_improvement,
            cfg.restart_patience,
            time_left_s=context.time_left_s,
            trial_timeout_s=context.trial_timeout_s,
        ):
            return Step("restart", state.index, state.segment + 1)
        size = (
            choose_step_size(
                self.elapsed_fraction(context), state.steps_since_improvement, cfg.escalate_after
            )
            if cfg.schedule
            else None
        )
        return Step("improve", state.index, state.segment, parent=state.incumbent, step_size=size)

    def _merge_due(self, state: TraceState, context: SearchContext) -> bool:
        cfg = self.config
        if cfg.traces < 2 or cfg.merge_fraction <= 0:
            return False
        if self.elapsed_fraction(context) < 1 - cfg.merge_fraction:
            return False
        steps = [t.recipe.get("step") for t in context.history if trace_of(t) is not None]
        steps += [p.recipe.get("step") for p in context.in_flight]
        return "merge" not in steps and len(self._trace_bests(context)) >= 2

    def _trace_bests(self, context: SearchContext) -> list[Trial]:
        """Each trace's current best script, best first."""
        bests = []
        for index in range(self.config.traces):
            incumbent = self._trace_state(context, index).incumbent
            if incumbent is not None:
                bests.append(incumbent)
        sign = 1 if context.competition.higher_is_better else -1
        return sorted(bests, key=lambda t: -sign * (t.validation_score or 0.0))

    # -- executing a step --------------------------------------------------------------------------
    def _execute(self, step: Step, state: TraceState, context: SearchContext) -> Proposal:
        if step.kind == "init-builtin" or (
            step.kind == "restart" and self.config.initialisation == "builtin"
        ):
            return self._seed(step, context)
        briefing = Briefing.from_context(
            context, self._previews, self.prompt_budget, self._omega_models(context)
        )
        if step.kind in ("draft", "restart"):
            return self._draft(step, state, context, briefing)
        if step.kind == "debug":
            return self._debug(step, briefing)
        if step.kind == "merge":
            return self._merge(step, context, briefing)
        return self._improve(step, state, context, briefing)

    def _seed(self, step: Step, context: SearchContext) -> Proposal:
        assert self.seed_proposer is not None
        seeded = self.seed_proposer.propose(seed_view(context))
        step.notes["seed"] = {"agent": self.seed_proposer.name, "recipe": seeded.recipe}
        return self._proposal(step, seeded.code, seeded.hypothesis, operator=step.kind)

    def _draft(
        self, step: Step, state: TraceState, context: SearchContext, briefing: Briefing
    ) -> Proposal:
        # a restart keeps the success memory but none of the failed transcripts
        failures = () if step.kind == "restart" else state.failures
        memory = self._memory(state, failures, context)
        messages = draft_messages(briefing, memory, self._siblings(state, context))
        reply = self._write(step, "draft", messages, EditTarget("full"), briefing)
        return self._script_proposal(step, reply, reply.sketch or "first draft")

    def _debug(self, step: Step, briefing: Briefing) -> Proposal:
        failed = step.parent
        assert failed is not None
        code = self.store.code_of(failed)
        outcome = failed.label
        if failed.validity_message:
            outcome += f": {failed.validity_message}"
        if failed.label == "ok":
            outcome = "it ran but printed no validation score line"
        # a failed slot edit is debugged in the slot it changed
        target = EditTarget.resolve(self.config.edit_mode, code, str(failed.recipe.get("slot", "")))
        messages = debug_messages(briefing, target, outcome, self.store.output_of(failed))
        reply = self._write(step, "debug", messages, target, briefing)
        return self._script_proposal(step, reply, f"fix {failed.id} ({failed.label})")

    def _merge(self, step: Step, context: SearchContext, briefing: Briefing) -> Proposal:
        bests = self._trace_bests(context)
        base, others = bests[0], bests[1:]
        step.parent = base
        base_code = self.store.code_of(base)
        target = EditTarget.resolve(self.config.edit_mode, base_code)
        messages = merge_messages(
            briefing, target, [(_summary(t), self.store.code_of(t)) for t in others]
        )
        reply = self._write(step, "merge", messages, target, briefing)
        step.notes["merged"] = [t.id for t in bests]
        return self._script_proposal(
            step, reply, "merge " + ", ".join(t.id for t in bests), parent_ids=[t.id for t in bests]
        )

    def _improve(
        self, step: Step, state: TraceState, context: SearchContext, briefing: Briefing
    ) -> Proposal:
        parent = step.parent
        assert parent is not None
        parent_code = self.store.code_of(parent)
        last = state.last
        evidence: tuple[str, ...] = ("",)
        if last is not None:
            last_parent = self._find(context.history, last.parent_ids)
            evidence = gather_evidence(last, last_parent, self.store).variants(
                context.trial_timeout_s
            )
        messages = diagnosis_messages(
            briefing,
            parent_code,
            _summary(parent),
            evidence,
            self._memory(state, state.failures, context),
            self._siblings(state, context),
            step.step_size,
            self.config.edit_mode,
        )
        diagnosis: Diagnosis = self._ask(
            step, "diagnosis", messages, lambda text: parse_diagnosis(extract_json(text))
        )
        step.notes["diagnosis"] = diagnosis.to_recipe()
        top = top_hypotheses(diagnosis.hypotheses, self.config.top_k)
        untried, unanswered = list(top), unanswered_problems(diagnosis)
        for attempt in range(1, self.config.hypothesis_attempts + 1):
            if untried:
                chosen = draw_hypothesis(untried, context.rng, weighted=self.config.weighted_draw)
                untried.remove(chosen)
            else:
                chosen = unanswered.pop(0)
            step.notes["drawn"] = {
                "hypothesis": chosen.statement,
                "weighted_score": round(chosen.weighted_score, 3),
                "top_k": [round(h.weighted_score, 3) for h in top],
                **({} if chosen in top else {"unanswered_problem": True}),
            }
            target = EditTarget.resolve(self.config.edit_mode, parent_code, chosen.statement)
            messages = implement_messages(briefing, target, chosen, step.step_size)
            try:
                reply = self._write(step, "implement", messages, target, briefing)
                _check_unseen(reply.code, context)
            except StepFailedError as failure:
                if not (untried or unanswered) or attempt == self.config.hypothesis_attempts:
                    raise
                self._abandon(step, chosen.statement, failure)
                continue
            return self._script_proposal(step, reply, chosen.statement)
        raise AssertionError("unreachable: the last attempt returns or raises")

    @staticmethod
    def _abandon(step: Step, hypothesis: str, failure: StepFailedError) -> None:
        """Record a hypothesis whose code failed every check and repair, with its check
        rounds, before the step tries the next one (`GomeConfig.hypothesis_attempts`)."""
        abandoned = {"hypothesis": hypothesis, "stage": failure.stage, "reason": failure.reason}
        for key in ("static_checks", "auto_imports"):
            if key in step.notes:
                abandoned[key] = step.notes.pop(key)
        step.notes.setdefault("abandoned", []).append(abandoned)

    # -- LLM calls ---------------------------------------------------------------------------------
    def _ask(self, step: Step, stage: str, messages: Messages, parse: Callable[[str], T]) -> T:
        """One stage: call, parse; on a malformed reply retry once with the problem stated."""
        return Caller(self.client, AGENT_NAME, step.spend).parsed(stage, messages, parse)

    def _write(
        self, step: Step, stage: str, messages: Messages, target: EditTarget, briefing: Briefing
    ) -> ScriptReply:
        """A coding stage: the reply's script, through the static checks and their repairs."""
        caller = Caller(self.client, AGENT_NAME, step.spend)
        return write_script(caller, stage, messages, target, briefing, self.config, step.notes)

    # -- prompt parts ------------------------------------------------------------------------------
    def _memory(
        self, state: TraceState, failures: Sequence[StepRecord], context: SearchContext
    ) -> tuple[str, ...]:
        cfg = self.config
        best = self._best_record(context)
        return history_variants(
            build_momentum(
                state.successes,
                failures,
                best,
                enabled=cfg.momentum,
                size=cfg.momentum_size,
                decay=cfg.momentum_decay,
                failure_size=cfg.failure_memory_size,
            ).render()
        )

    @staticmethod
    def _best_record(context: SearchContext) -> StepRecord | None:
        valid = [t for t in context.history if t.is_valid and t.validation_score is not None]
        if not valid:
            return None
        sign = 1 if context.competition.higher_is_better else -1
        best = max(valid, key=lambda t: sign * (t.validation_score or 0.0))
        return StepRecord(best.id, best.hypothesis, f"validation score {best.validation_score:.6g}")

    def _siblings(self, state: TraceState, context: SearchContext) -> str:
        """What other traces (and proposals in flight) are trying, so this one diverges."""
        if not self.config.diversify:
            return ""
        lines = [f"- in flight: {p.hypothesis}" for p in context.in_flight if p.hypothesis]
        for index in range(self.config.traces):
            if index == state.index:
                continue
            tried = [t for t in context.history if trace_of(t) == index and t.hypothesis]
            lines += [f"- trace {index}: {t.hypothesis}" for t in tried[-SIBLING_HYPOTHESES:]]
        return "\n".join(lines)

    @staticmethod
    def _find(history: Sequence[Trial], ids: Sequence[str]) -> Trial | None:
        wanted = ids[0] if ids else None
        return next((t for t in history if t.id == wanted), None)

    # -- proposals ---------------------------------------------------------------------------------
    def _script_proposal(
        self,
        step: Step,
        reply: ScriptReply,
        hypothesis: str,
        parent_ids: Sequence[str] | None = None,
    ) -> Proposal:
        step.notes["sketch"] = reply.sketch[:MAX_SKETCH_CHARS]
        return self._proposal(step, reply.code, hypothesis, step.kind, parent_ids)

    def _labelled_failure(self, step: Step, failure: StepFailedError) -> Proposal:
        step.notes["failed_stage"] = failure.stage
        step.notes["failure"] = failure.reason
        hypothesis = step.notes.get("drawn", {}).get("hypothesis", "")
        code = failure_script(failure.stage, failure.reason)
        return self._proposal(
            step, code, hypothesis or f"{step.kind} step", MALFORMED_STEP, step_kind=MALFORMED_STEP
        )

    def _proposal(
        self,
        step: Step,
        code: str,
        hypothesis: str,
        operator: str,
        parent_ids: Sequence[str] | None = None,
        step_kind: str | None = None,
    ) -> Proposal:
        if parent_ids is None:
            parent_ids = [step.parent.id] if step.parent is not None else []
        recipe: dict[str, Any] = {
            "trace": step.trace,
            "segment": step.segment,
            "step": step_kind or step.kind,
            "planned_step": step.kind,
            "llm_calls": step.spend.calls,
            "gome": self.config.as_recipe(),
        }
        if step.step_size is not None:
            recipe["step_size"] = str(step.step_size)
        recipe.update(step.notes)
        return Proposal(
            code=code,
            operator=operator,
            hypothesis=" ".join(hypothesis.split())[:500],
            parent_ids=tuple(parent_ids),
            recipe=recipe,
            tokens=step.spend.tokens,
            cost_usd=step.spend.cost_usd,
        )
