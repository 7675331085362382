"""A candidate algorithm: one module's source holding one scikit-learn estimator class.

`inspect_source` reads a module without running it: the estimator class (the one deriving
from the task's mixin), its docstring (the idea), and what is wrong before anything runs
(syntax, a missing class, a forbidden import). Running it is `omega.checks`' job.
"""

from __future__ import annotations

import ast
import hashlib
import re
import sys
from dataclasses import dataclass, replace

ALLOWED_PACKAGES = frozenset({"numpy", "scipy", "sklearn"})
# Standard-library modules a model of data has no use for: files, processes, network, FFI.
DENIED_STDLIB = frozenset(
    {
        "os",
        "sys",
        "subprocess",
        "shutil",
        "pathlib",
        "socket",
        "urllib",
        "http",
        "ctypes",
        "multiprocessing",
        "threading",
        "importlib",
        "builtins",
        "signal",
        "tempfile",
        "glob",
        "io",
    }
)
MIXINS = {"classification": "ClassifierMixin", "regression": "RegressorMixin"}


@dataclass(frozen=True)
class Inspection:
    """What can be told about a module without running it; `problem` is None when usable."""

    class_name: str | None
    idea: str
    problem: str | None


def _mixin_of(node: ast.ClassDef) -> str | None:
    names = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
    return next((task for task, mixin in MIXINS.items() if mixin in names), None)


def _import_problem(tree: ast.Module) -> str | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                return "relative imports are not allowed: the module stands alone"
            roots = [(node.module or "").split(".")[0]]
        else:
            continue
        for root in roots:
            stdlib = root in sys.stdlib_module_names and root not in DENIED_STDLIB
            if not (stdlib or root in ALLOWED_PACKAGES):
                return (
                    f"`import {root}` is not allowed: use numpy, scipy, scikit-learn and the "
                    "standard library only (no files, processes or network)"
                )
    return None


def inspect_source(code: str, task: str) -> Inspection:
    """The task's estimator class in `code`, its idea, and the first static problem."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return Inspection(None, "", f"SyntaxError: {exc.msg} (line {exc.lineno})")
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and _mixin_of(n) == task]
    mixin = MIXINS[task]
    if not classes:
        return Inspection(None, "", f"no top-level class derives from {mixin} and BaseEstimator")
    cls = classes[-1]
    idea = " ".join((ast.get_docstring(cls) or "").split("\n\n")[0].split())
    problem = _import_problem(tree)
    if problem is None and not idea:
        problem = f"the class {cls.name} needs a docstring stating its idea"
    return Inspection(cls.name, idea, problem)


def snake_case(name: str) -> str:
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "algorithm"


@dataclass(frozen=True)
class Candidate:
    """One proposed algorithm and where it came from.

    `origin` is `llm:<model>`, `fallback:mutation` or `fallback:ensemble`; `parents` are
    registry (or baseline) names it mutates or crosses.
    """

    id: str
    task: str
    code: str
    origin: str
    principle: str = ""
    parents: tuple[str, ...] = ()

    @property
    def inspection(self) -> Inspection:
        return inspect_source(self.code, self.task)

    @property
    def code_sha(self) -> str:
        return hashlib.sha256(self.code.encode()).hexdigest()

    @property
    def registry_name(self) -> str:
        """A module name: the class name in snake case plus a short hash of the code."""
        class_name = self.inspection.class_name or "algorithm"
        return f"{snake_case(class_name)}_{self.code_sha[:6]}"

    def with_code(self, code: str) -> Candidate:
        return replace(self, code=code)
