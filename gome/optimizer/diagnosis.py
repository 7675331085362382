"""The gradient: problems -> one scored hypothesis each -> top k -> one drawn by score.

The model returns one JSON object (see `prompts.DIAGNOSIS_FORMAT`); `parse_diagnosis` turns it
into dataclasses, tolerating what models commonly get slightly wrong (string scores, scores out
of range or missing, extra keys) and rejecting what cannot be used (no hypothesis tied to a
listed problem).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from gome.llm import MalformedReplyError

ProblemKind = Literal["scenario", "feedback"]

# criterion -> weight of the hypothesis score (GoME paper)
CRITERIA_WEIGHTS: dict[str, float] = {
    "alignment": 0.2,
    "impact": 0.4,
    "novelty": 0.2,
    "feasibility": 0.1,
    "risk_reward": 0.1,
}
MAX_SCENARIO_PROBLEMS = 3
MAX_FEEDBACK_PROBLEMS = 5


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    statement: str
    evidence: str = ""


@dataclass(frozen=True)
class Hypothesis:
    """One proposed change addressing one problem, scored 1-10 on each criterion."""

    problem: Problem
    statement: str
    scores: dict[str, float]
    unscored: tuple[str, ...] = ()  # criteria the model left without a number: NEUTRAL_SCORE

    @property
    def weighted_score(self) -> float:
        return sum(CRITERIA_WEIGHTS[c] * self.scores[c] for c in CRITERIA_WEIGHTS)


@dataclass(frozen=True)
class Diagnosis:
    problems: tuple[Problem, ...]
    hypotheses: tuple[Hypothesis, ...]

    def to_recipe(self) -> dict[str, Any]:
        """Compact form for the journal."""
        return {
            "problems": [asdict(p) for p in self.problems],
            "hypotheses": [
                {
                    "problem": self.problems.index(h.problem),
                    "statement": h.statement,
                    "scores": h.scores,
                    "weighted": round(h.weighted_score, 3),
                    **({"unscored": list(h.unscored)} if h.unscored else {}),
                }
                for h in self.hypotheses
            ],
        }


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _problems(raw: Any, kind: ProblemKind, limit: int) -> list[Problem]:
    if not isinstance(raw, list):
        return []
    problems = []
    for item in raw:
        if isinstance(item, str):
            statement, evidence = item, ""
        elif isinstance(item, dict):
            statement = _text(item.get("problem") or item.get("statement"))
            evidence = _text(item.get("evidence"))
        else:
            continue
        if statement:
            problems.append(Problem(kind, _text(statement), evidence))
    return problems[:limit]


# A criterion the model did not score (small models often copy the "1-10" placeholder) counts
# as the midpoint: it neither favours nor hides the hypothesis in the weighted draw.
NEUTRAL_SCORE = 5.5


def _score(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return min(10.0, max(1.0, number)) if number == number else None  # NaN is not a score


def _problem_of(raw: Any, position: int, problems: Sequence[Problem]) -> Problem:
    """The problem a hypothesis answers: the one its number names, else (no number, or one
    past the list, which small models often write) the problem at its own position, or the
    last."""
    try:
        number = int(raw)
    except (TypeError, ValueError):
        number = 0
    if 1 <= number <= len(problems):
        return problems[number - 1]
    return problems[min(position, len(problems) - 1)]


def _hypothesis(raw: Any, position: int, problems: Sequence[Problem]) -> Hypothesis | None:
    if not isinstance(raw, dict):
        return None
    statement = _text(raw.get("hypothesis") or raw.get("statement"))
    problem = _problem_of(raw.get("problem"), position, problems)
    raw_scores = raw.get("scores", raw)
    if not statement or not isinstance(raw_scores, dict):
        return None
    scores = {
        c: _score(raw_scores.get(c, raw_scores.get(c.replace("_", "-")))) for c in CRITERIA_WEIGHTS
    }
    unscored = tuple(c for c, v in scores.items() if v is None)
    neutral = {c: NEUTRAL_SCORE if v is None else v for c, v in scores.items()}
    return Hypothesis(problem, statement, neutral, unscored)


def parse_diagnosis(raw: dict[str, Any]) -> Diagnosis:
    """Read the diagnosis object; problems are numbered 1.. scenario first, then feedback.

    Raises `MalformedReplyError` when no hypothesis is usable.
    """
    problems = _problems(raw.get("scenario_problems"), "scenario", MAX_SCENARIO_PROBLEMS)
    problems += _problems(raw.get("feedback_problems"), "feedback", MAX_FEEDBACK_PROBLEMS)
    if not problems:
        raise MalformedReplyError("the diagnosis names no problems")
    seen: set[Problem] = set()
    hypotheses = []
    for position, item in enumerate(raw.get("hypotheses") or []):
        hypothesis = _hypothesis(item, position, problems)
        if hypothesis is not None and hypothesis.problem not in seen:  # one per problem
            seen.add(hypothesis.problem)
            hypotheses.append(hypothesis)
    if not hypotheses:
        raise MalformedReplyError(
            "the diagnosis has no usable hypothesis (each needs `problem`, the number of a "
            "problem listed, and a `hypothesis` statement)"
        )
    return Diagnosis(tuple(problems), tuple(hypotheses))


def top_hypotheses(hypotheses: Sequence[Hypothesis], k: int) -> list[Hypothesis]:
    """The k best by weighted score; ties keep the model's order."""
    return sorted(hypotheses, key=lambda h: -h.weighted_score)[:k]


def unanswered_problems(diagnosis: Diagnosis) -> list[Hypothesis]:
    """The problems no hypothesis answers, each as a hypothesis that states the problem
    itself, scored neutrally: what a step tries once its hypotheses' code has failed, since a
    small model often names several problems and answers only one."""
    answered = {h.problem for h in diagnosis.hypotheses}
    neutral = dict.fromkeys(CRITERIA_WEIGHTS, NEUTRAL_SCORE)
    return [
        Hypothesis(problem, problem.statement, neutral, unscored=tuple(CRITERIA_WEIGHTS))
        for problem in diagnosis.problems
        if problem not in answered
    ]


def draw_hypothesis(
    hypotheses: Sequence[Hypothesis], rng: random.Random, *, weighted: bool = True
) -> Hypothesis:
    """One of `hypotheses`, with probability proportional to its weighted score (or the best
    one when `weighted` is off)."""
    if not hypotheses:
        raise ValueError("no hypotheses to draw from")
    if not weighted:
        return top_hypotheses(hypotheses, 1)[0]
    return rng.choices(list(hypotheses), weights=[h.weighted_score for h in hypotheses])[0]
