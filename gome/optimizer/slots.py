"""Slot edits: a small model rewrites one named, documented function of the built-in script.

The built-in proposer's scripts expose slots (`add_features`, `model_params`): functions whose
default does nothing, called where their result reaches every model. In slot mode a coding step
asks for one slot function only; the reply's function replaces the parent's by name (its source
span, found with `ast`), so the rest of a working script cannot be broken by the edit. Before
the full trial, the new slot runs alone on a sample of the data in the sandbox
(`check_slot_in_isolation`): a slot that drops rows, reads the target or returns text columns
fails in seconds instead of costing a trial.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gome.llm import MalformedReplyError
from gome.proposers.recipes import BLOCKS, FAMILIES
from gome.proposers.script import BLOCK_END, BLOCK_START
from gome.runner import Limits, run_script

SAMPLE_ROWS = 200  # train rows and test rows the isolation check feeds a slot
# the 1.5B model's most frequent hypotheses (imputation, encoding) change nothing in a built-in
# script; its prompts say so
HANDLED_ALREADY = (
    "The models already handle missing values and string categories: filling NaN or "
    "re-encoding a column changes nothing."
)
# the 1.5B model's next most frequent idea, a neural network ("a Transformers model"), is a
# model family no built-in script has; its diagnosis prompt names the ones there are
ONLY_THESE_MODELS = (
    "A model change can only choose among the script's model families ("
    + ", ".join(FAMILIES)
    + ", and any OMEGA models listed above): no neural network or other library is available."
)
# what a `choose_recipe` edit may ask for; more costs time the script may not have
RECIPE_LIMITS = {"members": 4, "folds": 10, "seeds": 5, "tune_trials": 50}
CHECK_TIMEOUT_S = 60.0
CHECK_MEMORY_BYTES = 4 * 1024**3
CANDIDATE_FILE = "candidate.py"  # the names slot_check.py expects
PARENT_FILE = "parent.py"
SPEC_FILE = "slot_check.json"
CHECK_SCRIPT = Path(__file__).with_name("slot_check.py")
FAILURE_PREFIX = "slot_check_failed: "
FITTING_PREFIX = "slot_check_fitting: "


@dataclass(frozen=True)
class Slot:
    """A function of the script an agent may rewrite; `contract` is what its prompt states."""

    name: str
    contract: str
    keywords: tuple[str, ...]  # words of a hypothesis that point at this slot
    shows_recipe: bool = False  # its prompt shows the script's recipe block (what it edits)
    # its input is the data's columns: a repair, which shows no data preview, names them
    reads_columns: bool = False


SLOTS: dict[str, Slot] = {
    slot.name: slot
    for slot in (
        Slot(
            name="add_features",
            contract=(
                "- `frame` holds the raw input columns (as in the data preview) of the train "
                "and test rows stacked; the target column is NOT in it.\n"
                "- Return `frame` with new columns added; no column may be all NaN. Any dtype "
                "works: the script turns strings into numbers or categories itself.\n"
                "- Keep every row and the index as they are: never drop, filter or sort rows.\n"
                "- Changes to existing columns are ignored; the script already uses the raw "
                "columns, so only new columns add information.\n"
                f"- {HANDLED_ALREADY} A useful feature is new information: a ratio, sum or "
                "difference of columns, a part of a string column, a count or mean per group.\n"
                "- pandas is `pd`, numpy is `np`; import anything else inside the function."
            ),
            keywords=("feature", "column", "encode", "ratio", "interaction", "split", "count"),
            reads_columns=True,
        ),
        Slot(
            name="model_params",
            contract=(
                "- `family` is the model family: 'lightgbm', 'xgboost', 'hgb' "
                "(HistGradientBoosting) or 'linear' (logistic/ridge regression: 'C' or "
                "'alpha').\n"
                "- `params` are the keyword arguments the model gets; return a dict of them "
                "(changed or not) for every family. Only change keys the family's estimator "
                "accepts; the script sets n_estimators, early stopping, seeds and threads."
            ),
            keywords=(
                "param",
                "learning rate",
                "learning_rate",
                "depth",
                "leaves",
                "regulari",
                "lambda",
                "alpha",
                "estimators",
                "subsample",
                "tune",
            ),
        ),
        Slot(
            name="choose_recipe",
            contract=(
                "- `recipe` is the script's RECIPE dict (shown above). Return it with the "
                "change the hypothesis asks for; keep its keys:\n"
                f"  - `members`: 1-{RECIPE_LIMITS['members']} models whose predictions are "
                "averaged, each a dict with `family` (one of "
                f"{', '.join(repr(f) for f in FAMILIES)}), `features` (a list of feature "
                f"blocks from {', '.join(repr(b) for b in BLOCKS)}), `params` (a dict, may be "
                f"empty) and `tune_trials` (Optuna trials, 0-{RECIPE_LIMITS['tune_trials']});\n"
                f"  - `folds`: 2-{RECIPE_LIMITS['folds']} cross-validation folds; `seeds`: a "
                f"list of 1-{RECIPE_LIMITS['seeds']} ints (each refits every member); "
                "`group_cv`: bool (keep groups of the id whole).\n"
                "- A member moved to another family gets `params: {}` (that family's "
                "defaults); parameters are not shared between families.\n"
                "- More members, folds, seeds or tuning trials cost time; the script drops "
                "what does not fit its time budget."
            ),
            shows_recipe=True,
            keywords=(
                "family",
                "xgboost",
                "lightgbm",
                "histgradient",
                "logistic",
                "ridge",
                "ensemble",
                "blend",
                "member",
                "fold",
                "seed",
                "cross-validation",
                "validation scheme",
                "different model",
                "another model",
                "block",
            ),
        ),
    )
}


def function_node(code: str, name: str) -> ast.FunctionDef | None:
    """The top-level function `name` of `code` (None when absent or `code` does not parse)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    return next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name),
        None,
    )


def _span(node: ast.FunctionDef) -> tuple[int, int]:
    """First and last line (1-based, inclusive) of a function, its decorators included."""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    assert node.end_lineno is not None
    return first, node.end_lineno


def function_source(code: str, name: str) -> str | None:
    """The source text of top-level function `name`, or None when `code` has none."""
    node = function_node(code, name)
    if node is None:
        return None
    first, last = _span(node)
    return "\n".join(code.splitlines()[first - 1 : last])


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def without_failing_statement(code: str, slot: str, line: int) -> tuple[str, str] | None:
    """`code` with the statement of slot `slot` that holds `line` removed, and that
    statement's first line; None when `line` is in no removable statement.

    Removable: a top-level statement of the slot's body other than its docstring and its
    `return`, whose removal leaves a body (a failing line inside a loop removes the loop).
    """
    node = function_node(code, slot)
    if node is None:
        return None
    body = node.body
    found = next(
        (s for s in body if s.lineno <= line <= (s.end_lineno or s.lineno)),
        None,
    )
    if found is None or _is_docstring(found) or isinstance(found, ast.Return) or len(body) < 2:
        return None
    lines = code.splitlines()
    first, last = found.lineno, found.end_lineno or found.lineno
    removed = lines[first - 1].strip()
    return "\n".join(lines[: first - 1] + lines[last:]) + "\n", removed


def available_slots(code: str) -> list[str]:
    """The slots `code` defines, in catalogue order."""
    return [name for name in SLOTS if function_node(code, name) is not None]


def pointed_slot(hypothesis: str, available: Sequence[str]) -> str | None:
    """The slot a hypothesis is about: one it names, else the first whose words it uses (model
    parameters, features, the recipe); None when it points at none."""
    text = hypothesis.lower()
    named = [name for name in available if name in text]
    if named:
        return named[0]
    return next(
        (name for name in available if any(word in text for word in SLOTS[name].keywords)),
        None,
    )


def choose_slot(hypothesis: str, available: Sequence[str]) -> str:
    """The slot a hypothesis points at, else the first available (features)."""
    return pointed_slot(hypothesis, available) or available[0]


def splice_slot(parent_code: str, name: str, reply_code: str) -> str:
    """`parent_code` with its function `name` replaced by the one `reply_code` defines.

    The reply must define exactly one top-level function, named `name`; top-level imports it
    holds are kept (placed before the function), any other top-level statement (a usage
    example) is dropped. Raises `MalformedReplyError` for a reply that does not fit, and lets
    `SyntaxError` through (the caller repairs it with the reply's own line numbers).
    """
    tree = ast.parse(reply_code)
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    names = [f.name for f in functions]
    if names != [name]:
        found = ", ".join(names) or "none"
        raise MalformedReplyError(
            f"the reply must define exactly one function, `{name}` (found: {found}); put helpers "
            "inside it"
        )
    target = function_node(parent_code, name)
    if target is None:
        raise MalformedReplyError(f"the current script has no function `{name}` to replace")
    reply_lines = reply_code.splitlines()
    parent_lines = parent_code.splitlines()
    present = {line.strip() for line in parent_lines}
    imports = [
        line
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for line in reply_lines[node.lineno - 1 : node.end_lineno]
        if line.strip() not in present
    ]
    first, last = _span(functions[0])  # type: ignore[arg-type]
    new_function = reply_lines[first - 1 : last]
    start, end = _span(target)
    spliced = parent_lines[: start - 1] + imports + new_function + parent_lines[end:]
    return "\n".join(spliced) + "\n"


def script_outline(code: str, keep: Sequence[str]) -> str:
    """`code` shortened for a prompt: functions not in `keep` become their signature and the
    first line of their docstring; everything else (constants, the recipe, kept functions)
    stays as it is."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    lines = code.splitlines()
    out: list[str] = []
    cursor = 0
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name in keep:
            continue
        first, last = _span(node)
        body_start = node.body[0].lineno
        out += lines[cursor : body_start - 1]
        doc = ast.get_docstring(node)
        indent = " " * node.body[0].col_offset
        summary = f'"""{doc.splitlines()[0]} ..."""' if doc else "..."
        out.append(f"{indent}{summary}")
        if doc:
            out.append(f"{indent}...")
        cursor = last
    out += lines[cursor:]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out))


def recipe_block(code: str) -> str:
    """The recipe block of a built-in script (task, models, features), markers included; empty
    when `code` has none."""
    if BLOCK_START not in code or BLOCK_END not in code:
        return ""
    start = code.index(BLOCK_START)
    return code[start : code.index(BLOCK_END, start) + len(BLOCK_END)]


def slot_view(code: str, slots: Sequence[str]) -> str:
    """What a slot-mode diagnosis shows of a built-in script: its docstring (the pipeline),
    its recipe block (task, models, features) and its slot functions; nothing else can
    change."""
    try:
        doc = ast.get_docstring(ast.parse(code))
    except SyntaxError:
        doc = None
    parts = [f'"""{doc}"""'] if doc else []
    parts.append(recipe_block(code))
    parts += [function_source(code, name) or "" for name in slots]
    return "\n\n".join(p for p in parts if p)


# -- the isolation check ----------------------------------------------------------------------


@dataclass(frozen=True)
class SlotCheck:
    """What the isolation check found: `problem` is None when the slot passed."""

    problem: str | None
    line: int | None = None  # line of the spliced script the failure points at
    output: str = ""


def check_slot_in_isolation(
    code: str,
    slot: str,
    parent_code: str,
    public_dir: Path,
    targets: Sequence[str],
    *,
    timeout_s: float = CHECK_TIMEOUT_S,
) -> SlotCheck:
    """Run slot `slot` of the spliced script `code` alone on `SAMPLE_ROWS` train and test rows,
    in the sandbox, and check its contract (see the slot's `contract`); a parameter slot must
    also change what a model of the recipe predicts, next to `parent_code` (the script edited)."""
    with tempfile.TemporaryDirectory(prefix="gome-slot-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)  # like a trial folder: the sandbox enters it before dropping root
        (folder / CANDIDATE_FILE).write_text(code, encoding="utf-8")
        (folder / PARENT_FILE).write_text(parent_code, encoding="utf-8")
        spec = {
            "slot": slot,
            "targets": list(targets),
            "rows": SAMPLE_ROWS,
            "families": list(FAMILIES),
            "recipe_limits": RECIPE_LIMITS,
        }
        (folder / SPEC_FILE).write_text(json.dumps(spec), encoding="utf-8")
        check = folder / CHECK_SCRIPT.name
        shutil.copyfile(CHECK_SCRIPT, check)
        limits = Limits(timeout_s=timeout_s, memory_bytes=CHECK_MEMORY_BYTES)
        result = run_script(check, folder, public_dir, limits)
        stdout = result.stdout_path.read_text(encoding="utf-8", errors="replace")
        stderr = result.stderr_path.read_text(encoding="utf-8", errors="replace")
    for line in stdout.splitlines():
        if line.startswith(FAILURE_PREFIX):
            found = json.loads(line.removeprefix(FAILURE_PREFIX))
            return SlotCheck(found["message"], found["line"], stdout)
    if result.exit_code == 0:
        return SlotCheck(None, output=stdout)
    if result.timed_out:
        return SlotCheck(f"{slot} did not finish on {SAMPLE_ROWS} rows within {timeout_s:.0f}s")
    last = stderr.strip().splitlines()[-1:] or [f"exit code {result.exit_code}"]
    fits = [line for line in stdout.splitlines() if line.startswith(FITTING_PREFIX)]
    if fits:  # a model library aborted the process (LightGBM does on some parameter values)
        fitting = fits[-1].removeprefix(FITTING_PREFIX)
        return SlotCheck(f"{fitting} crashed the process: {last[0]}", output=stdout + stderr)
    return SlotCheck(f"the script failed before {slot} could run: {last[0]}", output=stderr)
