"""Search/replace patches: how a model edits a parent script without rewriting it.

Small models cannot reproduce a 200-line script faithfully, but they can name a few lines and
their replacement. A reply holds one or more blocks:

    <<<<<<< SEARCH
    lines copied from the parent
    =======
    their replacement
    >>>>>>> REPLACE

Each SEARCH text must occur exactly once in the script as patched so far. An exact match is
tried first, then one that ignores trailing whitespace on each line (models often drop it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gome.llm import MalformedReplyError

PATCH_FORMAT = (
    "<<<<<<< SEARCH\n<exact lines from the script>\n=======\n<new lines>\n>>>>>>> REPLACE"
)
_BLOCK = re.compile(
    r"^<{5,9} ?SEARCH[ \t]*\n(?P<search>.*?)\n?"
    r"^={5,9}[ \t]*\n(?P<replace>.*?)\n?"
    r"^>{5,9} ?REPLACE[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


class PatchError(MalformedReplyError):
    """A patch cannot be applied: no block, or a SEARCH text missing or ambiguous."""


@dataclass(frozen=True)
class Patch:
    search: str
    replace: str


def parse_patches(text: str) -> list[Patch]:
    """All search/replace blocks in a reply, in order; raises `PatchError` when there is none."""
    patches = [Patch(m["search"], m["replace"]) for m in _BLOCK.finditer(text)]
    if not patches:
        raise PatchError(f"the reply has no search/replace block; expected:\n{PATCH_FORMAT}")
    if any(not p.search.strip() for p in patches):
        raise PatchError("a SEARCH section is empty; copy the lines to change from the script")
    return patches


def _rstripped(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines())


def _apply_one(code: str, patch: Patch, number: int) -> str:
    if code.count(patch.search) == 1:
        return code.replace(patch.search, patch.replace, 1)
    loose_code, loose_search = _rstripped(code), _rstripped(patch.search)
    count = loose_code.count(loose_search)
    if count == 1:
        return loose_code.replace(loose_search, patch.replace, 1) + "\n"
    first_line = patch.search.strip().splitlines()[0][:80]
    if count == 0:
        raise PatchError(
            f"patch {number}: its SEARCH text is not in the script (first line: {first_line!r}); "
            "copy the lines exactly"
        )
    raise PatchError(
        f"patch {number}: its SEARCH text occurs {count} times (first line: {first_line!r}); "
        "include more surrounding lines so it is unique"
    )


def apply_patches(code: str, patches: list[Patch]) -> str:
    """`code` with every patch applied in order; raises `PatchError` naming the failing one."""
    for number, patch in enumerate(patches, start=1):
        code = _apply_one(code, patch, number)
    return code
