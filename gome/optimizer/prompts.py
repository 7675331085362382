"""The text of every GoME prompt, and the parsing of replies that carry a script.

Every prompt states the rules a script must follow: where the data is, the submission file, the
metric line the runner reads, the environment, the remaining budget and the per-trial limit.
Messages are plain chat messages; replies are plain text (a fenced block, JSON, or
search/replace patches), never tool calls, so any model can answer.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

from gome.agent import SearchContext
from gome.llm import MalformedReplyError, extract_code
from gome.optimizer.config import EditMode
from gome.optimizer.data_preview import preview_data
from gome.optimizer.diagnosis import (
    CRITERIA_WEIGHTS,
    MAX_FEEDBACK_PROBLEMS,
    MAX_SCENARIO_PROBLEMS,
    Hypothesis,
)
from gome.optimizer.patches import PATCH_FORMAT, apply_patches, parse_patches
from gome.optimizer.schedule import STEP_GUIDANCE, StepSize
from gome.runner import METRIC_LINE_INSTRUCTION, METRIC_LINE_PREFIX

Messages = list[dict[str, str]]
MAX_DESCRIPTION_CHARS = 8000
MAX_SKETCH_CHARS = 1500

SYSTEM = (
    "You are an expert machine-learning engineer competing in a Kaggle competition. You improve "
    "a Python solution script step by step, guided by measured evidence. Be concrete and brief."
)


@dataclass(frozen=True)
class Briefing:
    """The facts every prompt restates: task, data, environment, limits and time."""

    description: str
    data_preview: str
    environment: str
    submission_columns: str
    time_left_s: float
    trial_timeout_s: float

    @classmethod
    def from_context(cls, context: SearchContext, previews: dict[Path, str]) -> Briefing:
        """The briefing for one step; `previews` caches the data preview per public dir."""
        public_dir = Path(context.public_dir)
        if public_dir not in previews:
            previews[public_dir] = preview_data(public_dir, context.competition)
        return cls(
            description=context.competition.description,
            data_preview=previews[public_dir],
            environment=context.environment,
            submission_columns=", ".join(context.competition.submission_columns),
            time_left_s=context.time_left_s,
            trial_timeout_s=context.trial_timeout_s,
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

    def task(self) -> str:
        description = self.description
        if len(description) > MAX_DESCRIPTION_CHARS:
            description = description[:MAX_DESCRIPTION_CHARS] + "\n[... description cut ...]"
        return f"# Task\n{description}\n\n# Data\n{self.data_preview}"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def _conversation(*sections: str) -> Messages:
    body = "\n\n".join(s for s in sections if s)
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": body}]


def _code_block(code: str) -> str:
    return f"```python\n{code}\n```"


def _section(title: str, text: str) -> str:
    return f"# {title}\n{text}" if text else ""


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


def script_reply_format(edit_mode: EditMode) -> str:
    return PATCH_REPLY if edit_mode == "patch" else FULL_SCRIPT_REPLY


def draft_messages(briefing: Briefing, memory: str, siblings: str) -> Messages:
    ask = (
        "# Your job\nWrite a complete first solution: a sound, simple baseline that runs "
        "reliably within the time limit and prints its validation score. "
        "Reply with a plan (at most 6 lines of plain text), then the whole script in one "
        "```python block."
    )
    return _conversation(
        briefing.task(),
        briefing.rules(),
        _section("What earlier attempts learned", memory),
        _section("Other traces are trying (choose a different approach)", siblings),
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


def diagnosis_messages(
    briefing: Briefing,
    current_code: str,
    current_summary: str,
    evidence: str,
    memory: str,
    siblings: str,
    step_size: StepSize | None,
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
        f"{size}\n"
        "Reply with one JSON object only, shaped like:\n"
        f"```json\n{json.dumps(DIAGNOSIS_FORMAT, indent=1)}\n```"
    )
    return _conversation(
        briefing.task(),
        briefing.rules(),
        f"# Current best script ({current_summary})\n{_code_block(current_code)}",
        _section("Latest trial", evidence),
        _section("Memory", memory),
        _section("Other traces are trying (propose something different)", siblings),
        ask,
    )


def implement_messages(
    briefing: Briefing,
    current_code: str,
    hypothesis: Hypothesis,
    step_size: StepSize | None,
    edit_mode: EditMode,
) -> Messages:
    size = f"\n{STEP_GUIDANCE[step_size]}" if step_size else ""
    ask = (
        "# Your job\n"
        f"Problem: {hypothesis.problem.statement}\n"
        f"Hypothesis to implement: {hypothesis.statement}{size}\n"
        "Make the targeted edits to the current script that test this hypothesis; keep "
        "everything else working. " + script_reply_format(edit_mode)
    )
    return _conversation(
        briefing.task(),
        briefing.rules(),
        f"# Current script\n{_code_block(current_code)}",
        ask,
    )


def debug_messages(
    briefing: Briefing, code: str, outcome: str, output: str, edit_mode: EditMode
) -> Messages:
    """Fresh context on purpose: only the failing code, what happened and its output."""
    ask = (
        "# Your job\nThe script below failed. Find the cause in its output and fix it with the "
        "smallest change; do not change the modelling approach. " + script_reply_format(edit_mode)
    )
    return _conversation(
        briefing.rules(),
        f"# Failing script\n{_code_block(code)}",
        f"# What happened\n{outcome}\n```\n{output or '(no output)'}\n```",
        ask,
    )


def merge_messages(
    briefing: Briefing, base_code: str, others: list[tuple[str, str]], edit_mode: EditMode
) -> Messages:
    """`others`: (summary, code) of the other traces' best scripts."""
    references = "\n\n".join(f"## {summary}\n{_code_block(code)}" for summary, code in others)
    ask = (
        "# Your job\nMerge: keep the current script's structure and bring in the parts of the "
        "other scripts that most likely explain their scores (features, models, ensembling), "
        "within the time limit. " + script_reply_format(edit_mode)
    )
    return _conversation(
        briefing.task(),
        briefing.rules(),
        f"# Current script (the best trace)\n{_code_block(base_code)}",
        f"# Best scripts of the other traces\n{references}",
        ask,
    )


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
    sketch: str
    code: str


def _sketch(text: str, marker: str) -> str:
    head = text.split(marker, 1)[0].strip()
    return head[:MAX_SKETCH_CHARS]


def check_script(code: str) -> None:
    """Static checks before a script costs a trial; raises `MalformedReplyError`."""
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


def parse_script_reply(text: str, edit_mode: EditMode, parent_code: str = "") -> ScriptReply:
    """The sketch and resulting script of a reply; patches are applied to `parent_code`.

    Raises `MalformedReplyError` (or its `PatchError`) when no usable script results.
    """
    if edit_mode == "patch" and parent_code:
        code = apply_patches(parent_code, parse_patches(text))
        if code == parent_code:
            raise MalformedReplyError("the patches change nothing")
        sketch = _sketch(text, "<<<<<<<").removesuffix("```python").removesuffix("```")
    else:
        code = extract_code(text) + "\n"
        sketch = _sketch(text, "```")
    check_script(code)
    return ScriptReply(sketch.strip(), code)
