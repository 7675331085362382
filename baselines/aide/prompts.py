"""The text of AIDE's three operators' prompts, and the reading of their replies.

Written from the AIDE paper's description of its operators:
- draft: a new solution from the task and a data preview, told the plans and scores of earlier
  good nodes (the memory) and to start simple;
- improve: one atomic change to a working solution, with the same memory;
- debug: fix a buggy solution from its code and output (and the data preview), with no memory.

The facts every prompt restates (task, data preview, the script's rules: ./input, the
submission, the metric line, remaining time, per-trial limit, environment) come from GoME's
`Briefing`, so both agents see the same task text and only the search differs. A reply is a
plan in prose followed by one fenced python block. With the shared scaffolding (`Scaffolding`)
in slot mode, improve and debug show and ask for one slot function of a built-in parent; every
prompt fits the briefing's token budget, cut in GoME's order (`prompts.fit_conversation`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gome.journal import Trial
from gome.llm import extract_code
from gome.optimizer.prompts import (
    PATCH_REPLY,
    TRIM_HISTORY,
    Briefing,
    Cut,
    EditTarget,
    Messages,
    ScriptReply,
    Section,
    code_block,
    conversation,
    output_cut,
    slot_facts,
    slot_reply,
    slot_section,
)

MAX_PLAN_CHARS = 1500
MEMORY_NODES = 20  # most recent good nodes shown; bounds the prompt on long runs
SHORT_MEMORY_NODES = 5  # what the memory keeps when a prompt must shrink

SYSTEM = (
    "You are a Kaggle grandmaster taking part in a competition. You write complete, runnable "
    "Python solution scripts and explain each design in a short plan first."
)
REPLY_FORMAT = (
    "Reply with the plan in plain prose (3-5 sentences), then the complete script in a single "
    "```python block. Write nothing after the block."
)


def _conversation(briefing: Briefing, *sections: Section | list[Section]) -> Messages:
    return conversation(SYSTEM, briefing, *sections)


def _score(trial: Trial) -> str:
    return "none" if trial.validation_score is None else f"{trial.validation_score:.6g}"


def render_memory(
    good_nodes: Sequence[Trial], limit: int = MEMORY_NODES, summaries: Mapping[str, str] = {}
) -> str:
    """Earlier good nodes' plans, review summaries (`summaries`, by trial id) and validation
    scores, oldest first."""
    shown = list(good_nodes[-limit:]) if limit else []
    lines = []
    if len(good_nodes) > len(shown):
        lines.append(f"({len(good_nodes) - len(shown)} earlier good solutions not shown)")
    for trial in shown:
        lines.append(f"- {trial.id} ({trial.operator}): {trial.hypothesis or 'no plan recorded'}")
        if trial.id in summaries:
            lines.append(f"  results: {summaries[trial.id]}")
        lines.append(f"  validation score: {_score(trial)}")
    return "\n".join(lines)


def memory_variants(
    good_nodes: Sequence[Trial], summaries: Mapping[str, str] = {}
) -> tuple[str, ...]:
    """The memory with the latest `MEMORY_NODES` good nodes, then fewer, then none."""
    limits = (MEMORY_NODES, SHORT_MEMORY_NODES, 0)
    return tuple(render_memory(good_nodes, n, summaries) for n in limits)


def _memory_section(memory: Sequence[str]) -> Cut:
    def section(text: str) -> str:
        if not text:
            return ""
        return (
            "# Memory: earlier solutions that worked\n"
            f"{text}\n"
            "Do not repeat a design listed here; learn from what scored well."
        )

    return Cut(tuple(section(text) for text in memory), TRIM_HISTORY)


def describe_outcome(trial: Trial) -> str:
    """Why the harness judged a node buggy, in words."""
    if trial.label != "ok":
        lines = [f"The script ended with `{trial.label}`."]
    elif trial.validation_score is None:
        lines = ["The script ran but printed no validation score line."]
    else:
        lines = [f"The script ran (validation score {_score(trial)}) but was not accepted."]
    if trial.validity_message:
        lines.append(f"Submission check: {trial.validity_message}")
    if trial.flags:
        lines.append("Integrity flags: " + "; ".join(trial.flags))
    return "\n".join(lines)


def draft_messages(briefing: Briefing, memory: Sequence[str]) -> Messages:
    ask = (
        "# Your job: a new solution\n"
        "- Design a first solution that is deliberately simple: one sound model with sensible "
        "preprocessing, no ensembling and no hyper-parameter search (later steps add those).\n"
        "- If the memory lists earlier solutions, choose a different modelling approach from "
        "theirs but evaluate the same way.\n"
        "- Estimate the score on a hold-out split or cross-validation of the training data.\n"
        "- Skip exploratory analysis; the data preview above is all you need.\n" + REPLY_FORMAT
    )
    return _conversation(briefing, briefing.task(), briefing.rules(), _memory_section(memory), ask)


def _reply_format(target: EditTarget) -> str:
    """AIDE's plan-then-script format, or the slot function, or patches to the parent."""
    if target.mode == "slot" and target.slot:
        return slot_reply(target.slot).replace("a short sketch of the change", "the plan")
    if target.mode == "patch":
        return PATCH_REPLY
    return REPLY_FORMAT


IMPROVE_RULES = (
    "# Your job: improve the previous solution\n"
    "- Propose exactly one atomic change (a feature, a model or a setting, a preprocessing "
    "step), so its effect on the validation score can be measured on its own.\n"
    "- Do not repeat a change the memory shows was already made.\n"
)


def improve_messages(
    briefing: Briefing, target: EditTarget, summary: str, memory: Sequence[str]
) -> Messages:
    if target.mode == "slot":
        ask = IMPROVE_RULES + f"- Make it by rewriting `{target.slot}`.\n" + _reply_format(target)
        return _conversation(
            briefing, slot_facts(briefing), _memory_section(memory), slot_section(target), ask
        )
    ask = (
        IMPROVE_RULES
        + "- Keep the rest of the script, including how it evaluates, as it is.\n"
        + _reply_format(target)
    )
    return _conversation(
        briefing,
        briefing.task(),
        briefing.rules(),
        _memory_section(memory),
        f"# Previous solution ({summary})\n{code_block(target.parent_code)}",
        ask,
    )


def debug_messages(briefing: Briefing, target: EditTarget, outcome: str, output: str) -> Messages:
    """No memory on purpose: only the task, the buggy code and what its run showed."""
    ask = (
        "# Your job: fix the previous solution\n"
        "It has a bug or left no usable result. In the plan, say what went wrong and how you "
        "fix it; keep the approach otherwise unchanged.\n" + _reply_format(target)
    )
    if target.mode == "slot":
        return _conversation(
            briefing, slot_facts(briefing), slot_section(target), output_cut(outcome, output), ask
        )
    return _conversation(
        briefing,
        briefing.task(),
        briefing.rules(),
        f"# Previous (buggy) solution\n{code_block(target.parent_code)}",
        output_cut(outcome, output),
        ask,
    )


def parse_reply(text: str) -> ScriptReply:
    """The plan (prose before the code) and the script; raises `MalformedReplyError` when the
    reply has no complete code block.

    The script is not checked further: plain AIDE runs whatever the model wrote and lets the
    debug operator deal with it.
    """
    code = extract_code(text) + "\n"
    plan = text.split("```", 1)[0].strip()[:MAX_PLAN_CHARS]
    return ScriptReply(plan, code)
