"""Asking a model for a new estimator, and for the fix of a broken one.

A brief names the task, a research principle and optionally one parent to mutate or two to
cross. The model answers with one module in a fenced block (read by `gome.llm.extract_code`).
A repair prompt is a fresh conversation holding only the code and the failing check's
traceback tail: earlier attempts are never shown, so a wrong turn is not repeated by imitation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from gome.llm import LLMClient, LLMError, extract_code
from omega.candidate import MIXINS, Candidate
from omega.sandbox.reference import CLASSIFICATION

PRINCIPLES: tuple[str, ...] = (
    "margin",
    "locality",
    "ensembling",
    "regularisation path",
    "prototypes",
    "random projections",
    "kernel approximation",
    "feature interactions",
    "shrinkage",
    "boosting residuals",
    "stacking simple learners",
    "adaptive neighbourhoods",
)

SYSTEM = (
    "You design new supervised learning algorithms and implement them as scikit-learn "
    "estimators. You write correct, compact, vectorised numpy code."
)

CONTRACT = """\
Rules:
- One self-contained Python module: imports, then one class deriving from ({mixin}, BaseEstimator),
  in that order. Import only numpy, scipy, scikit-learn and the standard library (no file,
  process or network access, no printing).
- The class docstring states the idea in two to four sentences.
- `__init__` takes only keyword arguments with defaults and stores each unchanged under its own
  name; no other logic there.
- `fit(X, y)` starts with `X, y = validate_data(self, X, y)` (from sklearn.utils.validation)
  {target_rule}; learned attributes end in `_`; it returns self.
- `predict(X)`{proba_rule} start with `check_is_fitted(self)` and
  `X = validate_data(self, X, reset=False)`.
- X is a dense float matrix with features on any scale (standardise inside if the idea needs
  it); it must fit in seconds on 1,000 rows x 100 features.
Reply with the whole module in one ```python block."""


@dataclass(frozen=True)
class Brief:
    """What to invent: a task, a principle, and parents (name, code) to mutate or cross."""

    task: str
    principle: str
    parents: tuple[tuple[str, str], ...] = ()

    @property
    def operator(self) -> str:
        return {0: "new", 1: "mutate", 2: "cross"}[len(self.parents)]


def contract_text(task: str) -> str:
    classifier = task == CLASSIFICATION
    return CONTRACT.format(
        mixin=MIXINS[task],
        target_rule=(
            "and `check_classification_targets(y)`, sets `self.classes_ = np.unique(y)`"
            if classifier
            else ""
        ),
        proba_rule=" and `predict_proba(X)` (rows summing to 1)" if classifier else "",
    )


def generation_messages(brief: Brief) -> list[dict[str, str]]:
    kind = "classifier" if brief.task == CLASSIFICATION else "regressor"
    if brief.operator == "new":
        ask = (
            f"Invent a new {kind} built on the principle of {brief.principle}. It should not "
            "be a thin wrapper of an existing scikit-learn model."
        )
    elif brief.operator == "mutate":
        name, code = brief.parents[0]
        ask = (
            f"Here is an existing {kind}, `{name}`:\n```python\n{code}\n```\n"
            f"Write a variant that changes its core mechanism using the principle of "
            f"{brief.principle}. Give the class a new name."
        )
    else:
        (name_a, code_a), (name_b, code_b) = brief.parents
        ask = (
            f"Here are two {kind}s.\n`{name_a}`:\n```python\n{code_a}\n```\n`{name_b}`:\n"
            f"```python\n{code_b}\n```\nWrite one new {kind} that combines the key idea of "
            f"each, using the principle of {brief.principle}. Give the class a new name."
        )
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"{ask}\n\n{contract_text(brief.task)}"},
    ]


def repair_messages(code: str, check: str, error: str, task: str) -> list[dict[str, str]]:
    """A fresh conversation: the code and the failing check's traceback tail, nothing else."""
    return [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": (
                f"This scikit-learn estimator fails the check `{check}`.\n```python\n{code}\n```\n"
                f"The error (last lines):\n```text\n{error}\n```\n"
                "Fix the cause, keep the algorithm's idea, and reply with the whole corrected "
                f"module.\n\n{contract_text(task)}"
            ),
        },
    ]


def ask_for_code(
    client: LLMClient, messages: list[dict[str, str]], purpose: str, **params: Any
) -> str | None:
    """The module in the reply, or None when the call fails or the reply has no code block.
    `params` go to the call (a `temperature`)."""
    try:
        return extract_code(client.complete(messages, purpose=purpose, **params).text)
    except LLMError:
        return None


def plan_briefs(
    n: int, tasks: tuple[str, ...], parents: dict[str, list[tuple[str, str]]], seed: int
) -> list[Brief]:
    """`n` briefs cycling tasks and principles; with registry algorithms of a task at hand,
    every third brief mutates one and every fifth crosses two."""
    rng = random.Random(seed)
    principles = list(PRINCIPLES)
    rng.shuffle(principles)
    briefs = []
    for i in range(n):
        task = tasks[i % len(tasks)]
        pool = parents.get(task, [])
        chosen: tuple[tuple[str, str], ...] = ()
        if len(pool) >= 2 and i % 5 == 4:
            chosen = tuple(rng.sample(pool, 2))
        elif pool and i % 3 == 2:
            chosen = (rng.choice(pool),)
        briefs.append(Brief(task, principles[i % len(principles)], chosen))
    return briefs


def generate_candidate(client: LLMClient, brief: Brief, candidate_id: str) -> Candidate | None:
    code = ask_for_code(client, generation_messages(brief), purpose=f"omega-{brief.operator}")
    if code is None:
        return None
    return Candidate(
        id=candidate_id,
        task=brief.task,
        code=code,
        origin=f"llm:{client.model}",
        principle=brief.principle,
        parents=tuple(name for name, _ in brief.parents),
    )
