"""AIDE's review: a separate model call that judges one execution of a node's script.

From the AIDE paper's description: after a script runs, the model reads the task, the code
and what the run printed, and reports whether the run is buggy, a short summary of what it
shows, the validation metric and whether lower is better. The reply is a function call
(`submit_review`) for models litellm knows to take tools, and a JSON object otherwise (small
local models do not emit tool calls).

The review is one of four ways a node becomes buggy; the harness's facts are the others (it
raised, printed no metric line, or left no valid submission: `not Trial.is_valid`), so a
review can mark a working-looking node buggy but never make a failed one good. The metric
line the script printed wins over the review's metric, which is only recorded. The summary
goes into the memory next to the node's plan.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from baselines.aide.prompts import SYSTEM, describe_outcome
from gome.journal import Trial
from gome.llm import MalformedReplyError, extract_json
from gome.optimizer.coding import Caller, StepFailedError
from gome.optimizer.prompts import TRIM_MODELS, Briefing, Cut, Messages, conversation, output_cut

REVIEW_STAGE = "review"
MAX_SUMMARY_CHARS = 400
# the code is the first thing a review prompt over budget drops: the verdict rests on what the
# run printed
CODE_RANK = TRIM_MODELS - 1

REVIEW_FIELDS = {
    "is_bug": {
        "type": "boolean",
        "description": "true if the run failed, raised, or its output shows a bug",
    },
    "summary": {
        "type": "string",
        "description": "2-3 sentences: what the run shows, as an empirical finding",
    },
    "metric": {
        "type": ["number", "null"],
        "description": "the validation score the script printed, or null if none",
    },
    "lower_is_better": {
        "type": "boolean",
        "description": "true if a lower value of the metric is better (a loss or an error)",
    },
}
REVIEW_TOOL = {
    "type": "function",
    "function": {
        "name": "submit_review",
        "description": "Submit the review of the script's execution.",
        "parameters": {
            "type": "object",
            "properties": REVIEW_FIELDS,
            "required": list(REVIEW_FIELDS),
        },
    },
}


@dataclass(frozen=True)
class Review:
    """The model's verdict on one execution."""

    is_bug: bool
    summary: str
    metric: float | None
    lower_is_better: bool | None

    def as_recipe(self) -> dict[str, Any]:
        return asdict(self)


def review_messages(
    briefing: Briefing, code: str, trial: Trial, output: str, *, tools: bool
) -> Messages:
    """The review prompt; `tools`: the reply is a `submit_review` call, else a JSON object."""
    fields = "\n".join(f"- {name}: {spec['description']}" for name, spec in REVIEW_FIELDS.items())
    how = (
        "Submit it with the `submit_review` function."
        if tools
        else "Reply with one JSON object with exactly these keys, and nothing else."
    )
    ask = f"# Your job\nReview this execution of the script. Report:\n{fields}\n{how}"
    return conversation(
        SYSTEM,
        briefing,
        briefing.task(),
        Cut((f"# The script\n```python\n{code}\n```", ""), CODE_RANK),
        output_cut(_what_happened(trial), output),
        ask,
    )


def _what_happened(trial: Trial) -> str:
    if trial.is_valid:
        return "The script ran and left a valid submission."
    return describe_outcome(trial)


def takes_tools(client: object) -> bool:
    """Whether the client's model takes function calls (`LLMClient.supports_tools`); test
    fakes without that method get the JSON review."""
    probe = getattr(client, "supports_tools", None)
    return bool(probe()) if callable(probe) else False


def parse_review(data: dict[str, Any]) -> Review:
    """A review from the reply's fields; raises `MalformedReplyError` without a verdict."""
    verdict = data.get("is_bug")
    if not isinstance(verdict, bool):
        raise MalformedReplyError(f"the review has no true/false `is_bug` (got {verdict!r})")
    metric = data.get("metric")
    try:
        value = None if metric is None else float(metric)
    except (TypeError, ValueError):
        value = None
    direction = data.get("lower_is_better")
    return Review(
        is_bug=verdict,
        summary=" ".join(str(data.get("summary") or "").split())[:MAX_SUMMARY_CHARS],
        metric=value if value is not None and math.isfinite(value) else None,
        lower_is_better=direction if isinstance(direction, bool) else None,
    )


def _parse_tool_reply(arguments: str) -> Review:
    try:
        data = json.loads(arguments)
    except ValueError as exc:
        raise MalformedReplyError(f"the review's function arguments are not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedReplyError("the review's function arguments are not an object")
    return parse_review(data)


def review_execution(caller: Caller, messages: Messages, *, tools: bool) -> Review | None:
    """The model's review of one execution (`messages` from `review_messages` with the same
    `tools`); None when the reply is unusable (twice, for a JSON reply): the node is then
    judged by the harness's facts alone."""
    try:
        if tools:
            choice = {"type": "function", "function": {"name": REVIEW_TOOL["function"]["name"]}}
            reply = caller.reply(REVIEW_STAGE, messages, tools=[REVIEW_TOOL], tool_choice=choice)
            return _parse_tool_reply(reply.tool_arguments or reply.text)
        return caller.parsed(REVIEW_STAGE, messages, lambda text: parse_review(extract_json(text)))
    except (MalformedReplyError, StepFailedError):
        return None
