"""The text of every GoME prompt, and the parsing of replies that carry a script.

Every prompt states the rules a script must follow: where the data is, the submission file, the
metric line the runner reads, the environment, the remaining budget and the per-trial limit.
Messages are plain chat messages; replies are plain text (a fenced block, JSON, or
search/replace patches), never tool calls, so any model can answer.

Every prompt fits its `PromptBudget`: sections that may be shortened are `Cut`s, and when the
prompt is over budget they are shortened in this order: output tails and excerpts, the data
preview's rows, history (memory), sibling lists, then the parent script's non-slot functions.
The task description and the required reply format are never cut.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gome.agent import SearchContext
from gome.llm import MalformedReplyError, extract_code
from gome.optimizer.budget import PromptBudget
from gome.optimizer.config import EditMode
from gome.optimizer.data_preview import DataPreview, describe_data
from gome.optimizer.diagnosis import (
    CRITERIA_WEIGHTS,
    MAX_FEEDBACK_PROBLEMS,
    MAX_SCENARIO_PROBLEMS,
    Hypothesis,
)
from gome.optimizer.patches import PATCH_FORMAT, apply_patches, parse_patches
from gome.optimizer.schedule import STEP_GUIDANCE, StepSize
from gome.optimizer.slots import (
    HANDLED_ALREADY,
    ONLY_THESE_MODELS,
    SLOTS,
    available_slots,
    choose_slot,
    function_source,
    recipe_block,
    script_outline,
    slot_view,
    splice_slot,
)
from gome.optimizer.static_checks import Problem
from gome.runner import METRIC_LINE_INSTRUCTION, METRIC_LINE_PREFIX

Messages = list[dict[str, str]]
MAX_DESCRIPTION_CHARS = 8000
MAX_SKETCH_CHARS = 1500
OUTPUT_TAIL_CUT_CHARS = 600  # what an output keeps when a prompt must shrink

SYSTEM = (
    "You are an expert machine-learning engineer competing in a Kaggle competition. You improve "
    "a Python solution script step by step, guided by measured evidence. Be concrete and brief."
)


# the trimming order: a lower rank is cut first
TRIM_MODELS, TRIM_OUTPUT, TRIM_PREVIEW, TRIM_HISTORY, TRIM_SIBLINGS, TRIM_CODE = range(6)


@dataclass(frozen=True)
class Cut:
    """A prompt section that may be shortened: its variants, longest first (the last may be
    empty), and its rank in the trimming order."""

    variants: tuple[str, ...]
    rank: int


Section = str | Cut


@dataclass(frozen=True)
class Briefing:
    """The facts every prompt restates: task, data, environment, limits and time; and the
    budget its prompts must fit."""

    description: str
    data_preview: str
    environment: str
    submission_columns: str
    time_left_s: float
    trial_timeout_s: float
    data_preview_without_rows: str = ""
    columns: tuple[str, ...] = ()  # every column of the data's tables
    target_columns: tuple[str, ...] = ()
    public_dir: Path | None = None
    budget: PromptBudget = field(default_factory=PromptBudget)
    # OMEGA registry algorithms offered as model choices: with their code, and without
    extra_models: str = ""
    extra_models_brief: str = ""

    @classmethod
    def from_context(
        cls,
        context: SearchContext,
        previews: dict[Path, DataPreview],
        budget: PromptBudget | None = None,
        extra_models: tuple[str, str] = ("", ""),
    ) -> Briefing:
        """The briefing for one step; `previews` caches the data preview per public dir."""
        public_dir = Path(context.public_dir)
        if public_dir not in previews:
            previews[public_dir] = describe_data(public_dir, context.competition)
        preview = previews[public_dir]
        return cls(
            description=context.competition.description,
            data_preview=preview.text,
            environment=context.environment,
            submission_columns=", ".join(context.competition.submission_columns),
            time_left_s=context.time_left_s,
            trial_timeout_s=context.trial_timeout_s,
            data_preview_without_rows=preview.without_rows,
            columns=preview.columns,
            target_columns=tuple(context.competition.target_columns),
            public_dir=public_dir,
            budget=budget or PromptBudget(),
            extra_models=extra_models[0],
            extra_models_brief=extra_models[1],
        )

    def rules(self) -> str:
        return "\n".join(
            [
                "# Rules for the script",
                "- Read the data from ./input/ (read-only); write ./submission.csv with columns "
                f"{self.submission_columns}, one row per test row, like "
                "./input/sample_submission.csv.",
                f"- {METRIC_LINE_INSTRUCTION}",
                "- Compute that score on a hold-out split or cross-validation of the training "
                "data only; never use test rows for fitting targets, never hard-code outputs.",
                "- No network access; use only the installed packages listed below.",
                f"- Time: {_duration(self.time_left_s)} of the whole run remain; each script is "
                f"killed after {_duration(self.trial_timeout_s)}, so aim to finish in half of "
                "that (subsample or cut rounds when data is large).",
                "",
                "# Environment",
                self.environment,
            ]
        )

    def task(self) -> list[Section]:
        """The task description (never cut) and the data preview (its rows may be cut)."""
        description = self.description
        if len(description) > MAX_DESCRIPTION_CHARS:
            description = description[:MAX_DESCRIPTION_CHARS] + "\n[... description cut ...]"
        return [f"# Task\n{description}", self.data()]

    def models(self, *, with_code: bool = True) -> Cut:
        """The OMEGA model choices: the first section a prompt over budget drops (with their
        code, then without, then none)."""
        variants = [self.extra_models] if with_code else []
        return _cut("More models", [*variants, self.extra_models_brief, ""], TRIM_MODELS)

    def data(self) -> Cut:
        short = self.data_preview_without_rows or self.data_preview
        return Cut((f"# Data\n{self.data_preview}", f"# Data\n{short}"), TRIM_PREVIEW)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def fit_conversation(system: str, budget: PromptBudget, sections: Sequence[Section]) -> Messages:
    """A system message and one user message of `sections`, cut to fit `budget`: while over
    it, the `Cut` of lowest rank that can still shrink moves to its next variant. A prompt
    that is still over budget with every cut made is sent as it is."""
    levels = [0] * len(sections)

    def render() -> Messages:
        texts = [s.variants[levels[i]] if isinstance(s, Cut) else s for i, s in enumerate(sections)]
        body = "\n\n".join(t for t in texts if t)
        return [{"role": "system", "content": system}, {"role": "user", "content": body}]

    messages = render()
    while not budget.fits(messages):
        shrinkable = [
            (s.rank, i)
            for i, s in enumerate(sections)
            if isinstance(s, Cut) and levels[i] < len(s.variants) - 1
        ]
        if not shrinkable:
            break
        levels[min(shrinkable)[1]] += 1
        messages = render()
    return messages


def conversation(system: str, briefing: Briefing, *sections: Section | list[Section]) -> Messages:
    """`sections` (a list stands for its items) as one user message under `system`, cut to
    fit the briefing's token budget (`fit_conversation`). AIDE's prompts use it too."""
    flat: list[Section] = []
    for section in sections:
        flat += section if isinstance(section, list) else [section]
    return fit_conversation(system, briefing.budget, flat)


def _conversation(briefing: Briefing, *sections: Section | list[Section]) -> Messages:
    return conversation(SYSTEM, briefing, *sections)


def code_block(code: str) -> str:
    return f"```python\n{code}\n```"


def _section(title: str, text: str) -> str:
    return f"# {title}\n{text}" if text else ""


Variants = str | Sequence[str]


def _variants(text: Variants) -> tuple[str, ...]:
    """A text given whole, or as its variants longest first; a whole text may be dropped."""
    if isinstance(text, str):
        return (text, "") if text else ("",)
    return tuple(text)


def _cut(title: str, text: Variants, rank: int) -> Cut:
    return Cut(tuple(_section(title, v) for v in _variants(text)), rank)


def history_variants(text: str, keep_lines: int = 4) -> tuple[str, ...]:
    """A memory text whole, its first `keep_lines` lines, then nothing."""
    lines = text.splitlines()
    if len(lines) <= keep_lines:
        return (text, "")
    return (text, "\n".join(lines[:keep_lines] + ["(older entries cut)"]), "")


@dataclass(frozen=True)
class EditTarget:
    """What a coding reply edits: a whole new script (`full`), search/replace patches to
    `parent_code` (`patch`), or its function `slot` (`slot`)."""

    mode: EditMode
    parent_code: str = ""
    slot: str | None = None

    @classmethod
    def resolve(cls, edit_mode: EditMode, parent_code: str, about: str = "") -> EditTarget:
        """The target for a step whose settings say `edit_mode`: slot mode on a parent with no
        slot (an LLM draft) and patch mode with no parent write whole scripts; `about` (the
        hypothesis) chooses the slot."""
        if edit_mode == "slot":
            slots = available_slots(parent_code)
            if slots:
                return cls("slot", parent_code, choose_slot(about, slots))
        if edit_mode == "patch" and parent_code:
            return cls("patch", parent_code)
        return cls("full", parent_code)

    def slot_source(self) -> str:
        assert self.slot is not None
        return function_source(self.parent_code, self.slot) or ""


FULL_SCRIPT_REPLY = (
    "Reply with a short sketch of the edits (at most 6 lines of plain text), then the complete "
    "new script in one ```python block."
)
PATCH_REPLY = (
    "Reply with a short sketch of the edits (at most 6 lines of plain text), then one or more "
    "search/replace blocks against the current script, each exactly:\n"
    f"{PATCH_FORMAT}\nSEARCH must copy lines of the current script exactly (enough of them to "
    "be unique). Change as little as the edit needs."
)


def slot_reply(slot: str) -> str:
    return (
        "Reply with a short sketch of the change (at most 4 lines of plain text), then the "
        f"complete new `{slot}` function in one ```python block: that one function only (no "
        "other functions, no example calls)."
    )


def script_reply_format(target: EditTarget) -> str:
    if target.mode == "slot" and target.slot:
        return slot_reply(target.slot)
    return PATCH_REPLY if target.mode == "patch" else FULL_SCRIPT_REPLY


def slot_section(target: EditTarget) -> str:
    """A slot's contract and current code (and, for a slot that edits it, the recipe block):
    all a slot prompt shows of the script."""
    assert target.slot is not None
    slot = SLOTS[target.slot]
    recipe = recipe_block(target.parent_code) if slot.shows_recipe else ""
    shown = f"The script's recipe now:\n{code_block(recipe)}\n" if recipe else ""
    return (
        f"# The function to rewrite: `{slot.name}`\n{shown}"
        f"The solution script is fixed except for this function. Its contract:\n{slot.contract}\n"
        f"Current version:\n{code_block(target.slot_source())}"
    )


def slot_facts(briefing: Briefing) -> list[Section]:
    """What a slot prompt says of the task: the target, the data's columns, the environment."""
    targets = ", ".join(f"`{t}`" for t in briefing.target_columns) or "see the data"
    return [
        f"# Task\nPredict {targets} (the target; never available to the function).",
        briefing.data(),
        f"# Environment\n{briefing.environment}",
    ]


def draft_messages(briefing: Briefing, memory: Variants, siblings: str) -> Messages:
    ask = (
        "# Your job\nWrite a complete first solution: a sound, simple baseline that runs "
        "reliably within the time limit and prints its validation score. "
        "Reply with a plan (at most 6 lines of plain text), then the whole script in one "
        "```python block."
    )
    return _conversation(
        briefing,
        briefing.task(),
        briefing.rules(),
        briefing.models(),
        _cut("What earlier attempts learned", memory, TRIM_HISTORY),
        _cut("Other traces are trying (choose a different approach)", siblings, TRIM_SIBLINGS),
        ask,
    )


DIAGNOSIS_FORMAT = {
    "scenario_problems": [{"problem": "...", "evidence": "what in the task or data shows it"}],
    "feedback_problems": [{"problem": "...", "evidence": "what the last trial measured"}],
    "hypotheses": [
        {
            "problem": 1,
            "hypothesis": "one concrete change to the script",
            "scores": {c: "1-10" for c in CRITERIA_WEIGHTS},
        }
    ],
}


def _script_cut(title: str, code: str, edit_mode: EditMode) -> Cut:
    """The current script for a diagnosis: whole, then an outline of it (signatures and
    docstrings of its functions). In slot mode only the slots can change, so the script is
    shown as its docstring, recipe and slots, then as the slots alone."""
    slots = available_slots(code) if edit_mode == "slot" else []
    if not slots:
        variants = (code, script_outline(code, keep=list(SLOTS)))
    else:
        only_slots = "\n\n".join(function_source(code, name) or "" for name in slots)
        variants = (slot_view(code, slots), only_slots)
    return Cut(tuple(f"# {title}\n{code_block(v)}" for v in variants), TRIM_CODE)


def _slot_rule(code: str, edit_mode: EditMode) -> str:
    slots = available_slots(code) if edit_mode == "slot" else []
    if not slots:
        return ""
    names = " or ".join(f"`{name}`" for name in slots)
    models = f" {ONLY_THESE_MODELS}" if "choose_recipe" in slots else ""
    return (
        f"\nThe script can only be changed through its functions {names} (shown in full "
        "above, with their contracts in their docstrings); every hypothesis must be a change to "
        f"one of them, and name it. {HANDLED_ALREADY}{models}"
    )


def diagnosis_messages(
    briefing: Briefing,
    current_code: str,
    current_summary: str,
    evidence: Variants,
    memory: Variants,
    siblings: str,
    step_size: StepSize | None,
    edit_mode: EditMode = "full",
) -> Messages:
    size = f"\nStep size now: {STEP_GUIDANCE[step_size]}" if step_size else ""
    ask = (
        "# Your job: diagnose, then propose\n"
        f"1. Name {MAX_SCENARIO_PROBLEMS - 1}-{MAX_SCENARIO_PROBLEMS} scenario problems (from "
        f"the task and the data) and up to {MAX_FEEDBACK_PROBLEMS} feedback problems (from the "
        "latest trial's evidence) that limit the current script's validation score.\n"
        "2. For each problem, one hypothesis: a concrete change to the current script. Score "
        "each 1-10 on alignment (fits the problem), impact (expected score gain), novelty "
        "(differs from what was tried), feasibility (works within the time limit and "
        "packages), risk_reward. Problems are numbered from 1, scenario problems first."
        f"{size}{_slot_rule(current_code, edit_mode)}\n"
        "Reply with one JSON object only, shaped like:\n"
        f"```json\n{json.dumps(DIAGNOSIS_FORMAT, indent=1)}\n```"
    )
    return _conversation(
        briefing,
        briefing.task(),
        briefing.rules(),
        briefing.models(with_code=False),
        _script_cut(f"Current best script ({current_summary})", current_code, edit_mode),
        _cut("Latest trial", evidence, TRIM_OUTPUT),
        _cut("Memory", memory, TRIM_HISTORY),
        _cut("Other traces are trying (propose something different)", siblings, TRIM_SIBLINGS),
        ask,
    )


def implement_messages(
    briefing: Briefing,
    target: EditTarget,
    hypothesis: Hypothesis,
    step_size: StepSize | None,
) -> Messages:
    size = f"\n{STEP_GUIDANCE[step_size]}" if step_size else ""
    job = (
        "# Your job\n"
        f"Problem: {hypothesis.problem.statement}\n"
        f"Hypothesis to implement: {hypothesis.statement}{size}\n"
    )
    if target.mode == "slot":
        ask = (
            f"{job}Rewrite `{target.slot}` so that the script tests this hypothesis; keep to "
            "its contract. " + script_reply_format(target)
        )
        return _conversation(briefing, slot_facts(briefing), slot_section(target), ask)
    ask = (
        f"{job}Make the targeted edits to the current script that test this hypothesis; keep "
        "everything else working. " + script_reply_format(target)
    )
    return _conversation(
        briefing,
        briefing.task(),
        briefing.rules(),
        briefing.models(),
        f"# Current script\n{code_block(target.parent_code)}",
        ask,
    )


def output_cut(outcome: str, output: str) -> Cut:
    """What a failed run did: the outcome always, its output tail cut to fit."""
    tail = output[-OUTPUT_TAIL_CUT_CHARS:]
    variants = [output or "(no output)", tail, "(output cut)"]
    return Cut(tuple(f"# What happened\n{outcome}\n```\n{v}\n```" for v in variants), TRIM_OUTPUT)


def debug_messages(briefing: Briefing, target: EditTarget, outcome: str, output: str) -> Messages:
    """Fresh context on purpose: only the failing code, what happened and its output."""
    if target.mode == "slot":
        ask = (
            f"# Your job\nThe script failed after `{target.slot}` was last changed. Find the "
            "cause in its output and fix the function with the smallest change; keep to its "
            "contract. " + script_reply_format(target)
        )
        return _conversation(
            briefing, slot_facts(briefing), slot_section(target), output_cut(outcome, output), ask
        )
    ask = (
        "# Your job\nThe script below failed. Find the cause in its output and fix it with the "
        "smallest change; do not change the modelling approach. " + script_reply_format(target)
    )
    return _conversation(
        briefing,
        briefing.rules(),
        f"# Failing script\n{code_block(target.parent_code)}",
        output_cut(outcome, output),
        ask,
    )


def merge_messages(
    briefing: Briefing, target: EditTarget, others: list[tuple[str, str]]
) -> Messages:
    """`others`: (summary, code) of the other traces' best scripts; in slot mode only their
    versions of the slot are shown."""
    if target.mode == "slot" and target.slot:
        slot = target.slot
        others = [(summary, function_source(code, slot) or "") for summary, code in others]
        references = "\n\n".join(f"## {summary}\n{code_block(code)}" for summary, code in others)
        ask = (
            f"# Your job\nMerge: bring into `{slot}` the parts of the other traces' versions that "
            "most likely explain their scores, keeping to the contract. "
            + script_reply_format(target)
        )
        return _conversation(
            briefing,
            slot_facts(briefing),
            slot_section(target),
            f"# `{slot}` in the best scripts of the other traces\n{references}",
            ask,
        )
    references = "\n\n".join(f"## {summary}\n{code_block(code)}" for summary, code in others)
    ask = (
        "# Your job\nMerge: keep the current script's structure and bring in the parts of the "
        "other scripts that most likely explain their scores (features, models, ensembling), "
        "within the time limit. " + script_reply_format(target)
    )
    return _conversation(
        briefing,
        briefing.task(),
        briefing.rules(),
        f"# Current script (the best trace)\n{code_block(target.parent_code)}",
        f"# Best scripts of the other traces\n{references}",
        ask,
    )


REPAIR_MARKER = "# <-- problem"


def marked(lines: Sequence[str], line: int | None) -> str:
    """`lines` with `REPAIR_MARKER` on line `line` (1-based), if it is one of them."""
    out = list(lines)
    if line is not None and 1 <= line <= len(out):
        out[line - 1] = f"{out[line - 1]}  {REPAIR_MARKER}"
    return "\n".join(out)


def repair_messages(
    problems: Sequence[Problem], excerpt: str, what: str, reply_format: str
) -> Messages:
    """A fresh, short context: the problems static checks found, the lines around the first
    one (`excerpt`, its line marked; `what` names them), and how to reply."""
    found = "\n".join(f"- {p.describe()}" for p in problems)
    body = (
        f"# Fix {what} before it runs\nChecks found:\n{found}\n\n"
        f"# {what[0].upper()}{what[1:]} (the problem line ends with `{REPAIR_MARKER}`)\n"
        f"{code_block(excerpt)}\n\n# Your job\nFix the problems. {reply_format}"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": body}]


def retry_message(reply_text: str, problem: str) -> Messages:
    """Appended to a conversation whose reply could not be used."""
    return [
        {"role": "assistant", "content": reply_text},
        {
            "role": "user",
            "content": f"That reply could not be used: {problem}\n"
            "Answer again, exactly in the format asked for.",
        },
    ]


# -- replies that carry a script -------------------------------------------------------------


@dataclass(frozen=True)
class ScriptReply:
    """A reply's sketch and the whole script it results in. `code` is empty when a slot reply
    does not parse; `unit` is then the function as written, for a repair."""

    sketch: str
    code: str
    unit: str = ""


def _sketch(text: str, marker: str) -> str:
    head = text.split(marker, 1)[0].strip()
    return head[:MAX_SKETCH_CHARS]


def check_script(code: str, *, syntax: bool = True) -> None:
    """Checks before a script costs a trial; raises `MalformedReplyError`. With `syntax` off
    a syntax error is left to the static checks' repair."""
    if syntax:
        try:
            ast.parse(code)
        except SyntaxError as exc:
            raise MalformedReplyError(
                f"the script is not valid Python (line {exc.lineno}: {exc.msg})"
            ) from exc
    if METRIC_LINE_PREFIX not in code:
        raise MalformedReplyError(
            f"the script never prints the `{METRIC_LINE_PREFIX} <number>` line"
        )


def _slot_reply(text: str, target: EditTarget, syntax: bool) -> ScriptReply:
    assert target.slot is not None
    unit = extract_code(text)
    sketch = _sketch(text, "```")
    try:
        code = splice_slot(target.parent_code, target.slot, unit)
    except SyntaxError as exc:
        if syntax:
            raise MalformedReplyError(
                f"the function is not valid Python (line {exc.lineno}: {exc.msg})"
            ) from exc
        return ScriptReply(sketch, "", unit)
    if code == target.parent_code:
        raise MalformedReplyError(f"the new `{target.slot}` is the same as the current one")
    return ScriptReply(sketch, code, unit)


def parse_script_reply(text: str, target: EditTarget, *, syntax: bool = True) -> ScriptReply:
    """The sketch and resulting script of a reply: a whole script, patches applied to the
    parent, or a slot function spliced into it. `syntax`: see `check_script`.

    Raises `MalformedReplyError` (or its `PatchError`) when no usable script results.
    """
    if target.mode == "slot":
        reply = _slot_reply(text, target, syntax)
        if reply.code:
            check_script(reply.code, syntax=syntax)
        return reply
    if target.mode == "patch":
        code = apply_patches(target.parent_code, parse_patches(text))
        if code == target.parent_code:
            raise MalformedReplyError("the patches change nothing")
        sketch = _sketch(text, "<<<<<<<").removesuffix("```python").removesuffix("```")
    else:
        code = extract_code(text) + "\n"
        sketch = _sketch(text, "```")
    check_script(code, syntax=syntax)
    return ScriptReply(sketch.strip(), code)
