"""Static checks of a script before it costs a trial: syntax, undefined names, unknown columns.

Each problem carries the line it points at, so a repair prompt can show only the lines around
it. The column check flags a string literal used to index a data frame (`df["X"]`, `df[["X",
"Y"]]`, `df.X`, `df.loc[rows, "X"]`, `df.at[row, "X"]`) only when all of these hold, to keep
false alarms rare:
- the receiver looks like a data frame: a parameter annotated `DataFrame`, a name assigned from
  `pd.read_csv` / `pd.concat` / `pd.DataFrame` / a method of another frame, or a conventional
  frame name (`df`, `train`, `test_df`, `frame`, `data`, `X_train`, ...);
- the literal is in no table of the data and contains no column name (a derived name such as
  `Age_log` or `Cabin_0` is assumed to be created by the script);
- the script never uses the literal in any other way (an assignment `df["X"] = ...`, a dict
  key, a rename, `assign(X=...)`), which would create the column.
Each flagged literal names the columns closest to it; the first also lists the data's columns
(once: a repair prompt holds every problem).
"""

from __future__ import annotations

import ast
import difflib
import re
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from pyflakes import checker
from pyflakes import messages as flake

from gome.optimizer.data_preview import name_list

SCRIPT_NAME = "solution.py"
MIN_COLUMN_NAME_IN_LITERAL = 3  # shorter column names are too common as substrings
MAX_CLOSE_NAMES = 3
FRAME_NAME = re.compile(
    r"^(df|.*_df|df_.*|train.*|test.*|frame|.*_frame|data|full|all_data|combined|X|X_.*)$"
)
FRAME_FACTORIES = frozenset({"read_csv", "read_parquet", "concat", "DataFrame", "merge"})
LABEL_INDEXERS = frozenset({"loc", "at"})  # their second key selects columns by label
_UNDEFINED = (flake.UndefinedName, flake.UndefinedLocal)


@dataclass(frozen=True)
class Problem:
    """One reason a script would fail; `line` is 1-based in the checked code (None: anywhere)."""

    kind: str  # syntax | undefined-name | unknown-column | slot-check
    message: str
    line: int | None = None

    def describe(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.message}"


def syntax_problem(code: str) -> Problem | None:
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return Problem("syntax", f"SyntaxError: {exc.msg}", exc.lineno)
    return None


def undefined_names(tree: ast.Module) -> list[Problem]:
    """Names used but never defined (pyflakes), e.g. a helper the model forgot to write."""
    found = checker.Checker(tree, filename=SCRIPT_NAME)
    return [
        Problem("undefined-name", message.message % message.message_args, message.lineno)
        for message in found.messages
        if isinstance(message, _UNDEFINED)
    ]


def _frame_names(tree: ast.Module) -> set[str]:
    """Names that hold a data frame, by annotation, by how they were made, or by convention."""
    names: set[str] = set()
    for node in ast.walk(tree):
        annotation = node.annotation if isinstance(node, ast.arg) else None
        if annotation is not None and "DataFrame" in ast.unparse(annotation):
            names.add(node.arg)  # type: ignore[union-attr]
    changed = True
    while changed:  # propagate through `b = a.copy()`, `c = pd.concat([...])`, ...
        changed = False
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
                continue
            func = node.value.func
            made = (isinstance(func, ast.Attribute) and func.attr in FRAME_FACTORIES) or (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id in names
            )
            if not made:
                continue
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id not in names:
                    names.add(target.id)
                    changed = True
    return names


def _imported(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _column_reads(tree: ast.Module, frames: set[str]) -> Iterator[tuple[str, int, ast.AST]]:
    """(literal, line, node) of every frame column read by a literal."""
    imported = _imported(tree)

    def is_frame(node: ast.AST) -> bool:
        if not isinstance(node, ast.Name) or node.id in imported:
            return False
        return node.id in frames or bool(FRAME_NAME.match(node.id))

    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            receiver, selector = node.value, node.slice
            if isinstance(receiver, ast.Attribute) and receiver.attr in LABEL_INDEXERS:
                # df.loc[rows, "X"] / df.at[row, "X"]: the columns are the second key
                if not (isinstance(selector, ast.Tuple) and len(selector.elts) == 2):
                    continue
                receiver, selector = receiver.value, selector.elts[1]
            if not is_frame(receiver):
                continue
            keys = selector.elts if isinstance(selector, ast.List) else [selector]
            for key in keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    yield key.value, key.lineno, key
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            name = node.attr
            if is_frame(node.value) and len(name) > 1 and name[0].isupper():
                yield name, node.lineno, node


def _other_uses(tree: ast.Module, reads: set[int]) -> Counter[str]:
    """How often each string appears outside the column reads: literals, keyword names,
    attribute stores."""
    uses: Counter[str] = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in reads:
            uses[node.value] += 1
        elif isinstance(node, ast.keyword) and node.arg:
            uses[node.arg] += 1
        elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            uses[node.attr] += 1
    return uses


def _looks_like_column(text: str) -> bool:
    return 0 < len(text) <= 60 and "\n" not in text and not text.endswith((".csv", ".py"))


def closest_names(literal: str, names: Collection[str]) -> list[str]:
    """The names most like `literal`, ignoring case (`Homeplanet` -> `HomePlanet`)."""
    by_lower = {name.lower(): name for name in names}
    close = difflib.get_close_matches(literal.lower(), by_lower, n=MAX_CLOSE_NAMES)
    return [by_lower[match] for match in close]


def unknown_columns(tree: ast.Module, columns: Collection[str]) -> list[Problem]:
    """Literal column reads of a frame that name no column of the data (see the module doc)."""
    ordered = list(dict.fromkeys(columns))
    known = set(ordered)
    if not known:
        return []
    reads = sorted(_column_reads(tree, _frame_names(tree)), key=lambda read: read[1])
    uses = _other_uses(tree, {id(node) for _, _, node in reads})
    long_names = [c for c in known if len(c) >= MIN_COLUMN_NAME_IN_LITERAL]
    problems, seen = [], set()
    for literal, line, _ in reads:
        if literal in known or literal in seen or uses[literal] or not _looks_like_column(literal):
            continue
        if any(name in literal for name in long_names):
            continue
        seen.add(literal)
        message = f"column {literal!r} is in no table of the data and the script never creates it"
        close = closest_names(literal, ordered)
        if close:
            message += f"; the closest are {', '.join(map(repr, close))}"
        if not problems:
            message += f"; the data's columns are: {name_list(ordered)}"
        problems.append(Problem("unknown-column", message, line))
    return problems


def find_problems(code: str, columns: Collection[str] = ()) -> list[Problem]:
    """Every static problem of `code`, in line order; a syntax error stops the other checks."""
    syntax = syntax_problem(code)
    if syntax is not None:
        return [syntax]
    tree = ast.parse(code)
    problems = undefined_names(tree) + unknown_columns(tree, columns)
    return sorted(problems, key=lambda p: p.line or 0)
