"""Candidates without an LLM, named as such.

Two operators. **Mutation**: a registry algorithm's module with one numeric default of its
`__init__` halved or doubled and the class renamed (`origin: fallback:mutation`).
**Ensemble**: a weighted soft vote (classification) or average (regression) of two members,
each a registry algorithm (its module is inlined) or a scikit-learn reference model
(`origin: fallback:ensemble`); the weight is an `__init__` parameter, so ensembles can be
mutated in turn. Both go through the same checks and evaluation as any candidate.
"""

from __future__ import annotations

import ast
import itertools
import random
from dataclasses import dataclass

from omega.candidate import Candidate
from omega.registry import Entry
from omega.sandbox.reference import BASELINES, CLASSIFICATION

# Reference models that can join a soft vote: scikit-learn only, with predict_proba.
_VOTERS = {
    CLASSIFICATION: ("logistic", "knn", "random_forest", "hist_gb"),
    "regression": ("ridge", "knn", "svm", "random_forest", "hist_gb"),
}

_ENSEMBLE = '''\
{prelude}
from sklearn.base import BaseEstimator, {mixin}
from sklearn.ensemble import {voting}
from sklearn.utils.validation import check_is_fitted, validate_data


class {name}({mixin}, BaseEstimator):
    """Fallback ensemble (no LLM): {how} of {a} and {b}, weighted weight : 1 - weight."""

    def __init__(self, weight=0.5):
        self.weight = weight

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        members = [("a", {expr_a}), ("b", {expr_b})]
        weights = [self.weight, 1.0 - self.weight]
        self.model_ = {voting}(members, {voting_arg}weights=weights).fit(X, y)
{classes}        return self

    def predict(self, X):
        check_is_fitted(self)
        return self.model_.predict(validate_data(self, X, reset=False))
{proba}'''

_PROBA = """
    def predict_proba(self, X):
        check_is_fitted(self)
        return self.model_.predict_proba(validate_data(self, X, reset=False))
"""


@dataclass(frozen=True)
class _Member:
    label: str
    expression: str
    prelude: str  # imports or inlined module code


def _members(task: str, registry: list[Entry]) -> list[_Member]:
    found = [
        _Member(
            name,
            BASELINES[task][name].expression,
            "\n".join(BASELINES[task][name].imports),
        )
        for name in _VOTERS[task]
    ]
    found += [_Member(e.name, f"{e.class_name}()", e.code) for e in registry if e.task == task]
    return found


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in text.replace("-", "_").split("_") if part)


def ensemble(task: str, a: _Member, b: _Member, candidate_id: str) -> Candidate:
    classifier = task == CLASSIFICATION
    code = _ENSEMBLE.format(
        prelude="\n\n".join(dict.fromkeys([a.prelude, b.prelude])),
        mixin="ClassifierMixin" if classifier else "RegressorMixin",
        voting="VotingClassifier" if classifier else "VotingRegressor",
        voting_arg='voting="soft", ' if classifier else "",
        name=f"Ensemble{_camel(a.label)}{_camel(b.label)}",
        how="soft vote" if classifier else "average",
        a=a.label,
        b=b.label,
        expr_a=a.expression,
        expr_b=b.expression,
        classes="        self.classes_ = self.model_.classes_\n" if classifier else "",
        proba=_PROBA if classifier else "",
    )
    return Candidate(
        candidate_id, task, code, "fallback:ensemble", "ensembling", (a.label, b.label)
    )


def mutate(entry: Entry, rng: random.Random, candidate_id: str) -> Candidate | None:
    """Halve or double one numeric `__init__` default; None when there is none to change."""
    tree = ast.parse(entry.code)
    cls = next(
        (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == entry.class_name), None
    )
    init = next(
        (
            n
            for n in (cls.body if cls else [])
            if isinstance(n, ast.FunctionDef) and n.name == "__init__"
        ),
        None,
    )
    if cls is None or init is None:
        return None
    args = init.args.args[len(init.args.args) - len(init.args.defaults) :]
    numeric = [
        (arg.arg, default)
        for arg, default in [
            *zip(args, init.args.defaults, strict=True),
            *zip(init.args.kwonlyargs, init.args.kw_defaults, strict=True),
        ]
        if isinstance(default, ast.Constant)
        and isinstance(default.value, int | float)
        and not isinstance(default.value, bool)
        and default.value != 0
    ]
    if not numeric:
        return None
    param, node = rng.choice(numeric)
    old = node.value
    factor = rng.choice((0.5, 2.0))
    new = max(1, round(old * factor)) if isinstance(old, int) else old * factor
    if isinstance(old, float) and 0 < old < 1:
        new = min(new, 0.95)  # keep a fraction a fraction
    node.value = new
    cls.name = f"{entry.class_name}Mut{_camel(param)}"
    note = f"Fallback mutation (no LLM) of {entry.name}: {param} default {old!r} -> {new!r}."
    doc = ast.get_docstring(cls) or ""
    cls.body[0] = ast.Expr(ast.Constant(f"{note}\n\n{doc}"))
    code = ast.unparse(tree) + "\n"
    return Candidate(candidate_id, entry.task, code, "fallback:mutation", "mutation", (entry.name,))


def fallback_candidates(
    n: int, tasks: tuple[str, ...], registry: list[Entry], seed: int = 0
) -> list[Candidate]:
    """`n` candidates: mutations of registry algorithms alternating with ensembles."""
    rng = random.Random(seed)
    pools = {task: list(itertools.combinations(_members(task, registry), 2)) for task in tasks}
    for pool in pools.values():
        rng.shuffle(pool)
    out: list[Candidate] = []
    for i in range(n * 4):  # a mutation may be impossible; try others
        if len(out) == n:
            break
        task = tasks[i % len(tasks)]
        cid = f"c{len(out) + 1:02d}"
        mutable = [e for e in registry if e.task == task]
        if mutable and i % 2 == 1 and (made := mutate(rng.choice(mutable), rng, cid)):
            out.append(made)
        elif pools[task]:
            out.append(ensemble(task, *pools[task].pop(), candidate_id=cid))
    return out
