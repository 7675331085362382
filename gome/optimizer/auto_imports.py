"""Deterministic repair of the commonest small-model bug: a name used but never imported.

Small models write `KMeans(...)`, `np.mean(...)` or `RegressorMixin` and forget the import
line; asked to repair it from the traceback, they often return the same code. The fix is
mechanical, so it is made without the model: every undefined name (pyflakes) that is a
conventional alias (`np`, `pd`, ...) or a public name of a well-known module gets its import
line, added after the script's last top-level import; a name imported from a module of a known
package that lacks it (`from sklearn.utils.validation import check_classification_targets`) is
imported from the module that has it. Other undefined names are left to the static check and
the model's repair. Used by GoME's coding steps and OMEGA's self-healing.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
from types import ModuleType

from pyflakes import checker
from pyflakes import messages as flake

ALIASES = {
    "np": ("numpy", "import numpy as np"),
    "pd": ("pandas", "import pandas as pd"),
    "lgb": ("lightgbm", "import lightgbm as lgb"),
    "xgb": ("xgboost", "import xgboost as xgb"),
    "sp": ("scipy", "import scipy as sp"),
}
KNOWN_PACKAGES = frozenset({"sklearn", "scipy", "numpy", "pandas"})  # imported to check names
# searched in this order; the first module with a public attribute of that name wins
MODULES = (
    "sklearn.base",
    "sklearn.utils.validation",
    "sklearn.utils.multiclass",
    "sklearn.utils",
    "sklearn.linear_model",
    "sklearn.ensemble",
    "sklearn.tree",
    "sklearn.neighbors",
    "sklearn.svm",
    "sklearn.cluster",
    "sklearn.decomposition",
    "sklearn.kernel_approximation",
    "sklearn.random_projection",
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.pipeline",
    "sklearn.compose",
    "sklearn.feature_extraction.text",
    "sklearn.metrics",
    "sklearn.model_selection",
    "scipy.special",
    "scipy.spatial.distance",
    "scipy.stats",
    "math",
    "collections",
    "itertools",
    "functools",
    "typing",
)


@functools.cache
def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


@functools.cache
def import_line(name: str) -> str | None:
    """The import that defines `name`, or None when no known module has it."""
    if name in ALIASES:
        package, line = ALIASES[name]
        return line if importlib.util.find_spec(package) is not None else None
    if name.startswith("_"):
        return None
    for module_name in MODULES:
        module = _module(module_name)
        if module is not None and hasattr(module, name):
            return f"from {module_name} import {name}"
    return None


def _undefined_names(tree: ast.Module) -> list[str]:
    found = checker.Checker(tree, filename="solution.py")
    names = [m.message_args[0] for m in found.messages if isinstance(m, flake.UndefinedName)]
    return list(dict.fromkeys(names))


def _insert_at(tree: ast.Module) -> int:
    """The 0-based line after the last top-level import (after the docstring if none)."""
    after = 0
    for node in tree.body:
        is_docstring = (
            node is tree.body[0]
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        )
        if isinstance(node, ast.Import | ast.ImportFrom) or is_docstring:
            after = node.end_lineno or node.lineno
    return after


def _misplaced(node: ast.ImportFrom) -> list[str]:
    """Names a `from <module> import ...` of a known package asks of a module that lacks
    them (`check_classification_targets` from `sklearn.utils.validation`)."""
    module_name = node.module or ""
    if node.level or module_name.split(".")[0] not in KNOWN_PACKAGES:
        return []
    module = _module(module_name)
    if module is None:
        return []
    return [a.name for a in node.names if a.name != "*" and not hasattr(module, a.name)]


def _move_misplaced(code: str, tree: ast.Module) -> tuple[str, list[str]]:
    """Each misplaced name imported from the module that has it (known modules only); the
    names left in the original statement stay there."""
    lines = code.splitlines()
    added: list[str] = []
    for node in sorted(
        (n for n in tree.body if isinstance(n, ast.ImportFrom)), key=lambda n: -n.lineno
    ):
        moved = {name: import_line(name) for name in _misplaced(node)}
        moved = {name: line for name, line in moved.items() if line is not None}
        if not moved:
            continue
        kept = [a for a in node.names if a.name not in moved]
        statement = [ast.unparse(ast.ImportFrom(node.module, kept, 0))] if kept else []
        fixed = statement + [moved[a.name] for a in node.names if a.name in moved]
        lines[node.lineno - 1 : node.end_lineno] = fixed
        added = list(moved.values()) + added
    return "\n".join(lines), added


def add_missing_imports(code: str) -> tuple[str, list[str]]:
    """`code` with an import for each undefined name that a known module defines, and the
    lines added; unchanged (and no lines) when it does not parse or lacks nothing known."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code, []
    end = "\n" if code.endswith("\n") else ""
    text, moved = _move_misplaced(code, tree)
    if moved:
        tree = ast.parse(text)
    added = [line for line in map(import_line, _undefined_names(tree)) if line is not None]
    lines = text.splitlines()
    at = _insert_at(tree)
    fixed = "\n".join(lines[:at] + added + lines[at:])
    return (fixed + end, moved + added) if moved or added else (code, [])
