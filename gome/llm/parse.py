"""Reading plain-text replies: fenced code, JSON, and labels for replies that cannot be used.

Agents never depend on tool calling, so every structured answer comes back as text: code in a
fenced block, reflections as a JSON object.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum

import json_repair

from gome.llm.reply import LLMReply, MalformedReplyError, NoCodeBlockError

_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})[ \t]*(?P<lang>[^\s`]*)[^`]*$")
_CLOSE = re.compile(r"^[ \t]*(?P<fence>`{3,})[ \t]*$")
_ALIASES = {"python": {"python", "py", "python3", "py3"}}


@dataclass(frozen=True)
class _Block:
    lang: str
    code: str


def _scan_fences(text: str) -> tuple[list[_Block], bool]:
    """All closed fenced blocks, and whether the text ends inside an unclosed fence."""
    blocks: list[_Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opened = _OPEN.match(lines[i])
        if not opened:
            i += 1
            continue
        indent, width = opened["indent"], len(opened["fence"])
        body: list[str] = []
        i += 1
        while i < len(lines):
            closed = _CLOSE.match(lines[i])
            if closed and len(closed["fence"]) >= width:
                break
            line = lines[i]
            body.append(line[len(indent) :] if indent and line.startswith(indent) else line)
            i += 1
        else:
            return blocks, True
        blocks.append(_Block(opened["lang"].lower(), "\n".join(body).strip("\n")))
        i += 1
    return blocks, False


def _code_blocks(text: str, language: str) -> list[str]:
    wanted = _ALIASES.get(language.lower(), {language.lower()}) | {""}
    blocks, _ = _scan_fences(text)
    return [b.code for b in blocks if b.lang in wanted and b.code.strip()]


def extract_code(text: str, language: str = "python") -> str:
    """The largest complete fenced block tagged `language` (or untagged); ties go to the last.

    Largest rather than last: a model that writes a full script often adds a short fragment
    before or after it (the one changed line, a usage example), and the script is what a
    caller wants. Blocks tagged with another language (bash, json) are ignored. Raises
    `NoCodeBlockError` when there is no complete block.
    """
    blocks = _code_blocks(text, language)
    if not blocks:
        _, unclosed = _scan_fences(text)
        detail = "its code block is not closed (truncated?)" if unclosed else "no code block"
        raise NoCodeBlockError(f"the reply has {detail}; expected a ```{language} block")
    return max(reversed(blocks), key=len)


class ReplyProblem(StrEnum):
    """Why a reply that should carry code cannot be used; a label, not an exception."""

    NO_CODE_BLOCK = "no-code-block"
    TRUNCATED = "truncated"
    REFUSAL = "refusal"


_REFUSAL_PHRASES = (
    "i can't",
    "i cannot",
    "i can not",
    "i won't",
    "i will not",
    "i'm sorry",
    "i am sorry",
    "i apologize",
    "i'm unable",
    "i am unable",
    "i'm not able",
    "i am not able",
    "as an ai",
    "unable to assist",
    "unable to help",
)
_REFUSAL_MAX_CHARS = 600


def classify_reply(reply: LLMReply | str, language: str = "python") -> ReplyProblem | None:
    """Label a reply that should carry a code block, or None when it is usable.

    TRUNCATED: the text ends inside an open fence, or the model hit its token limit
    (finish_reason "length") before finishing any block; a complete block followed by cut-off
    prose is still usable. REFUSAL: a short reply with a typical refusal phrase and no code.
    NO_CODE_BLOCK: anything else without a complete block.
    """
    text = reply if isinstance(reply, str) else reply.text
    finish_reason = None if isinstance(reply, str) else reply.finish_reason
    _, unclosed = _scan_fences(text)
    has_code = bool(_code_blocks(text, language))
    if unclosed or (finish_reason == "length" and not has_code):
        return ReplyProblem.TRUNCATED
    if has_code:
        return None
    lowered = text.lower().replace("\u2019", "'")
    if len(text) <= _REFUSAL_MAX_CHARS and any(p in lowered for p in _REFUSAL_PHRASES):
        return ReplyProblem.REFUSAL
    return ReplyProblem.NO_CODE_BLOCK


_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def _outer_object(text: str) -> dict | None:
    """The object that starts at the first `{` of `text`, read strictly (a trailing comma
    forgiven); None when it does not parse."""
    start = text.find("{")
    if start < 0:
        return None
    decoder = json.JSONDecoder()
    for variant in (text[start:], _TRAILING_COMMA.sub(r"\1", text[start:])):
        try:
            value, _ = decoder.raw_decode(variant)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _repaired_object(text: str) -> dict | None:
    """The object a broken JSON text starting at its first `{` was meant to be, read by
    `json_repair`: small models close a list too early, leave a quote unescaped inside a string
    or stop mid-object. When the repair yields several values, the first object is the one
    that was meant."""
    start = text.find("{")
    if start < 0:
        return None
    value = json_repair.loads(text[start:])
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, dict)), None)
    return value if isinstance(value, dict) and value else None


def extract_json(text: str) -> dict:
    """The JSON object in a reply: that of the first fenced json (or untagged) block, else the
    first `{...}` object in the text (prose around it is ignored).

    Read strictly first (a trailing comma forgiven); a broken object is repaired rather than
    skipped for an inner object that parses, which would lose the rest of the reply. Raises
    `MalformedReplyError` when no object can be read.
    """
    blocks, _ = _scan_fences(text)
    candidates = [b.code for b in blocks if b.lang in {"json", ""}] + [text]
    for candidate in candidates:
        found = _outer_object(candidate)
        if found is None:  # not `or`: an empty object that parses is still the answer
            found = _repaired_object(candidate)
        if found is not None:
            return found
    raise MalformedReplyError("the reply has no JSON object; expected one {...} object")
