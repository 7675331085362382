"""Coding steps shared by GoME and AIDE: ask for a script, read it, check it, repair it.

`write_script` turns a coding prompt into a script that passed the static checks (syntax,
undefined names, unknown columns; in slot mode also the slot run alone on a data sample), so
a broken reply costs a few short model calls instead of a trial. A failed check is answered by
a targeted repair in a fresh, short context: the problems and only the lines around the first
one (in slot mode, the slot function). In slot mode a repair is only asked for when dropping
the slot's failing statements does not make it pass (`Scaffolding.prune`). A repair that
gives back the same code is sampled once more at `RESAMPLE_TEMPERATURE`. After
`static_repairs` repairs the step fails with stage `static-check`, which the agents journal
as a labelled `malformed-reply` trial. Every check round is recorded in the step's notes
(`static_checks`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from gome.llm import LLMReply, MalformedReplyError, extract_code
from gome.optimizer.auto_imports import add_missing_imports
from gome.optimizer.config import Scaffolding
from gome.optimizer.data_preview import name_list
from gome.optimizer.prompts import (
    REPAIR_MARKER,
    Briefing,
    EditTarget,
    Messages,
    ScriptReply,
    check_script,
    marked,
    parse_script_reply,
    repair_messages,
    retry_message,
    slot_reply,
)
from gome.optimizer.slots import (
    SLOTS,
    check_slot_in_isolation,
    function_node,
    function_source,
    without_failing_statement,
)
from gome.optimizer.static_checks import Problem, find_problems, syntax_problem

T = TypeVar("T")
# above the default of local servers (llama.cpp: 0.8) and equal to OpenAI's, the most any
# provider accepts without complaint; only used to resample a repair that changed nothing
RESAMPLE_TEMPERATURE = 1.0
REPAIR_CONTEXT_LINES = 5
MAX_PRUNED_STATEMENTS = 8
REPAIR_STAGE = "repair"
STATIC_CHECK_STAGE = "static-check"


class CompletionClient(Protocol):
    """What the agents need from `gome.llm.LLMClient` (tests inject scripted fakes); extra
    keyword arguments (a `temperature`) go to the model call."""

    def complete(self, messages: list[dict], *, purpose: str = "", **kwargs: Any) -> LLMReply: ...


class StepFailedError(Exception):
    """A stage's reply was unusable twice, or its script failed every repair; the step is
    journaled as `malformed-reply`."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage, self.reason = stage, reason


@dataclass
class Spend:
    """LLM use of one step."""

    calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0

    def add(self, reply: LLMReply) -> None:
        self.calls += 1
        self.tokens += reply.prompt_tokens + reply.completion_tokens
        self.cost_usd += reply.cost_usd


@dataclass
class Caller:
    """The model calls of one step: purposes `<agent>:<stage>`, spend summed in `spend`."""

    client: CompletionClient
    agent: str
    spend: Spend = field(default_factory=Spend)

    def reply(self, stage: str, messages: Messages, **kwargs: Any) -> LLMReply:
        """One call; `kwargs` go to the model call (a `temperature`, `tools`)."""
        reply = self.client.complete(messages, purpose=f"{self.agent}:{stage}", **kwargs)
        self.spend.add(reply)
        return reply

    def text(self, stage: str, messages: Messages, temperature: float | None = None) -> str:
        extra = {} if temperature is None else {"temperature": temperature}
        return self.reply(stage, messages, **extra).text

    def parsed(
        self,
        stage: str,
        messages: Messages,
        parse: Callable[[str], T],
        temperature: float | None = None,
    ) -> T:
        """Call and parse; a malformed reply is retried once with the problem stated."""
        problem = ""
        for _ in range(2):
            text = self.text(stage, messages, temperature)
            try:
                return parse(text)
            except MalformedReplyError as exc:
                problem = str(exc)
                messages = messages + retry_message(text, problem)
        raise StepFailedError(stage, problem)


@dataclass(frozen=True)
class _Draft:
    """A script under check; in slot mode `unit` is the slot function as written (the whole
    of what a slot repair shows), and `code` is empty when that function does not parse."""

    code: str
    unit: str = ""


def find_script_problems(draft: _Draft, target: EditTarget, briefing: Briefing) -> list[Problem]:
    """Static problems, then (slot mode, statically clean) the slot's isolation check."""
    if not draft.code:
        problem = syntax_problem(draft.unit)
        return [problem] if problem else [Problem("syntax", "the function does not parse")]
    problems = find_problems(draft.code, briefing.columns)
    if problems or target.mode != "slot" or briefing.public_dir is None:
        return problems
    assert target.slot is not None
    found = check_slot_in_isolation(
        draft.code, target.slot, target.parent_code, briefing.public_dir, briefing.target_columns
    )
    return [] if found.problem is None else [Problem("slot-check", found.problem, found.line)]


def _pruned(
    draft: _Draft, problems: list[Problem], target: EditTarget, briefing: Briefing
) -> tuple[_Draft, list[dict[str, str]]] | None:
    """The slot draft with its failing statements dropped, one at a time (the statement that
    holds the first problem's line), when that alone makes it pass every check; None when a
    problem points at no droppable statement or `MAX_PRUNED_STATEMENTS` are not enough.

    Why: a small model's feature function often has one broken line among several good ones
    (a string method on NaN, a removed pandas argument); a repair call costs a minute and
    often breaks another line, while dropping the statement keeps the rest of the idea. The
    slot check fails a function that adds nothing, so pruning never leaves an empty edit.
    """
    assert target.slot is not None
    dropped: list[dict[str, str]] = []
    for _ in range(MAX_PRUNED_STATEMENTS):
        line = problems[0].line
        cut = without_failing_statement(draft.code, target.slot, line) if line else None
        if cut is None:
            return None
        code, statement = cut
        dropped.append({"statement": statement, "problem": problems[0].describe()})
        draft = _Draft(code, function_source(code, target.slot) or "")
        problems = find_script_problems(draft, target, briefing)
        if not problems:
            return draft, dropped
    return None


def _replace_lines(code: str, first: int, last: int, text: str) -> str:
    """`code` with its lines `first`..`last` (1-based, inclusive) replaced by `text`."""
    new = [line.replace(REPAIR_MARKER, "").rstrip() for line in text.splitlines()]
    lines = code.splitlines()
    return "\n".join(lines[: first - 1] + new + lines[last:]) + "\n"


@dataclass(frozen=True)
class _Repair:
    """One repair request: its prompt and how its reply becomes a new draft."""

    messages: Messages
    parse: Callable[[str], _Draft]


def _slot_repair(
    draft: _Draft, problems: list[Problem], target: EditTarget, briefing: Briefing
) -> _Repair:
    assert target.slot is not None
    slot = target.slot
    unit, offset = draft.unit, 0
    node = function_node(draft.code, slot) if draft.code else None
    if node is not None:
        assert node.end_lineno is not None
        offset = node.lineno - 1
        unit = "\n".join(draft.code.splitlines()[offset : node.end_lineno])
    size = len(unit.splitlines())

    def local(problem: Problem) -> Problem:
        line = problem.line - offset if problem.line else None
        return Problem(problem.kind, problem.message, line if line and 1 <= line <= size else None)

    shown = [local(p) for p in problems]
    what = f"the function `{slot}`"
    fmt = f"Its contract:\n{SLOTS[slot].contract}\n"
    if SLOTS[slot].reads_columns:
        inputs = [c for c in briefing.columns if c not in briefing.target_columns]
        fmt += f"Its input's columns: {name_list(inputs)}\n"
    fmt += slot_reply(slot)
    messages = repair_messages(shown, marked(unit.splitlines(), shown[0].line), what, fmt)

    def parse(text: str) -> _Draft:
        reply = parse_script_reply(text, target, syntax=False)
        return _Draft(reply.code, reply.unit)

    return _Repair(messages, parse)


def _window_repair(draft: _Draft, problems: list[Problem]) -> _Repair:
    lines = draft.code.splitlines()
    line = min(max(problems[0].line or 1, 1), max(len(lines), 1))
    first = max(1, line - REPAIR_CONTEXT_LINES)
    last = min(len(lines), line + REPAIR_CONTEXT_LINES)
    excerpt = marked(lines[first - 1 : last], line - first + 1)
    fmt = (
        f"Reply with the corrected lines {first}-{last} only, in one ```python block, with "
        "their indentation; they replace those lines of the script."
    )
    messages = repair_messages(problems, excerpt, f"lines {first}-{last} of the script", fmt)

    def parse(text: str) -> _Draft:
        code = _replace_lines(draft.code, first, last, extract_code(text))
        check_script(code, syntax=False)
        return _Draft(code)

    return _Repair(messages, parse)


def _repair(
    caller: Caller, draft: _Draft, problems: list[Problem], target: EditTarget, briefing: Briefing
) -> tuple[_Draft, bool]:
    """One targeted repair; (the new draft, whether it had to be resampled)."""
    repair = (
        _slot_repair(draft, problems, target, briefing)
        if target.mode == "slot"
        else _window_repair(draft, problems)
    )
    new = caller.parsed(REPAIR_STAGE, repair.messages, repair.parse)
    if new != draft:
        return new, False
    return caller.parsed(
        REPAIR_STAGE, repair.messages, repair.parse, temperature=RESAMPLE_TEMPERATURE
    ), True


def _with_imports(draft: _Draft, notes: dict[str, Any]) -> _Draft:
    """The draft with imports for names it uses but never imports (`auto_imports`), which a
    small model's repair often fails to add; the lines added go into the step's notes."""
    if not draft.code:
        return draft
    code, added = add_missing_imports(draft.code)
    if not added:
        return draft
    notes.setdefault("auto_imports", []).extend(added)
    return replace(draft, code=code)


def write_script(
    caller: Caller,
    stage: str,
    messages: Messages,
    target: EditTarget,
    briefing: Briefing,
    scaffolding: Scaffolding,
    notes: dict[str, Any],
) -> ScriptReply:
    """The checked script of a coding stage (see the module doc); raises `StepFailedError`.

    `notes` (the step's recipe notes) gets `edit_mode` (as used: slot mode falls back to whole
    scripts on a parent without slots), `slot`, and `static_checks`: one entry per check round
    with the problems found and, when a repair followed, whether it was resampled, or the
    statements `pruned` instead.
    """
    notes["edit_mode"] = target.mode
    if target.slot:
        notes["slot"] = target.slot
    checks = scaffolding.static_checks
    reply = caller.parsed(
        stage, messages, lambda text: parse_script_reply(text, target, syntax=not checks)
    )
    if not checks:
        return reply
    draft = _Draft(reply.code, reply.unit)
    rounds: list[dict[str, Any]] = []
    notes["static_checks"] = rounds
    for round_number in range(scaffolding.static_repairs + 1):
        draft = _with_imports(draft, notes)
        problems = find_script_problems(draft, target, briefing)
        rounds.append({"problems": [p.describe() for p in problems]})
        if not problems:
            return ScriptReply(reply.sketch, draft.code, draft.unit)
        pruned = (
            _pruned(draft, problems, target, briefing)
            if scaffolding.prune and target.mode == "slot" and draft.code
            else None
        )
        if pruned is not None:
            draft, rounds[-1]["pruned"] = pruned
            return ScriptReply(reply.sketch, draft.code, draft.unit)
        if round_number == scaffolding.static_repairs:
            break
        draft, resampled = _repair(caller, draft, problems, target, briefing)
        rounds[-1]["resampled"] = resampled
    reasons = "; ".join(rounds[-1]["problems"])
    raise StepFailedError(STATIC_CHECK_STAGE, f"still failing after repairs: {reasons}")
