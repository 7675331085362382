"""The gradient's parsing, scoring and weighted draw."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from gome.llm import MalformedReplyError
from gome.optimizer.diagnosis import (
    CRITERIA_WEIGHTS,
    NEUTRAL_SCORE,
    Hypothesis,
    Problem,
    draw_hypothesis,
    parse_diagnosis,
    top_hypotheses,
)


def _scores(value: float) -> dict[str, float]:
    return dict.fromkeys(CRITERIA_WEIGHTS, value)


RAW = {
    "scenario_problems": [
        {"problem": "Cabin mixes deck, number and side", "evidence": "Cabin like B/0/P"},
        "Group ids leak across folds",
    ],
    "feedback_problems": [{"problem": "Model underfits", "evidence": "train 0.80, val 0.79"}],
    "hypotheses": [
        {"problem": 1, "hypothesis": "Split Cabin", "scores": _scores(8)},
        {"problem": 2, "hypothesis": "GroupKFold", "scores": {**_scores(5), "impact": "9"}},
        {"problem": 1, "hypothesis": "second for problem 1", "scores": _scores(10)},
        {"problem": 3, "hypothesis": "More trees", "scores": {"alignment": 7}},  # scores missing
        {"problem": 9, "hypothesis": "no such problem", "scores": _scores(7)},
    ],
}


def test_parse_keeps_one_hypothesis_per_listed_problem() -> None:
    diagnosis = parse_diagnosis(RAW)
    assert [p.kind for p in diagnosis.problems] == ["scenario", "scenario", "feedback"]
    assert diagnosis.problems[1].statement == "Group ids leak across folds"
    statements = [h.statement for h in diagnosis.hypotheses]
    assert statements == ["Split Cabin", "GroupKFold", "More trees"]
    assert diagnosis.hypotheses[1].scores["impact"] == 9.0  # string score read as a number
    partly = diagnosis.hypotheses[2]  # only alignment scored: the rest count as neutral
    assert partly.scores["alignment"] == 7.0 and partly.scores["impact"] == NEUTRAL_SCORE
    assert set(partly.unscored) == {"impact", "novelty", "feasibility", "risk_reward"}


def test_placeholder_scores_of_a_small_model_count_as_neutral() -> None:
    """Seen with the 0.5B local model: it copies the format's "1-10" instead of numbers."""
    raw = {
        "scenario_problems": [{"problem": "One feature pipeline for every model"}],
        "hypotheses": [
            {
                "problem": 1,
                "hypothesis": "Add per-group spend",
                "scores": dict.fromkeys(
                    ["alignment", "impact", "novelty", "feasibility", "risk_reward"], "1-10"
                ),
            }
        ],
    }
    (hypothesis,) = parse_diagnosis(raw).hypotheses
    assert hypothesis.weighted_score == pytest.approx(NEUTRAL_SCORE)
    assert len(hypothesis.unscored) == 5
    assert parse_diagnosis(raw).to_recipe()["hypotheses"][0]["unscored"]


def test_weighted_score_uses_paper_weights_and_clamps() -> None:
    problem = Problem("scenario", "p")
    h = Hypothesis(
        problem,
        "h",
        {"alignment": 10, "impact": 5, "novelty": 0, "feasibility": 10, "risk_reward": 10},
    )
    assert h.weighted_score == pytest.approx(0.2 * 10 + 0.4 * 5 + 0 + 0.1 * 10 + 0.1 * 10)
    raw = {
        "scenario_problems": ["p"],
        "hypotheses": [{"problem": 1, "hypothesis": "h", "scores": {**_scores(5), "impact": 42}}],
    }
    assert parse_diagnosis(raw).hypotheses[0].scores["impact"] == 10.0


def test_recipe_form_names_problem_and_weighted_score() -> None:
    recipe = parse_diagnosis(RAW).to_recipe()
    assert recipe["hypotheses"][0] == {
        "problem": 0,
        "statement": "Split Cabin",
        "scores": _scores(8.0),
        "weighted": 8.0,
    }


def test_a_problem_number_past_the_list_falls_back_to_the_hypothesis_position() -> None:
    """Seen with the 1.5B local model: two problems listed, the one hypothesis says 3."""
    raw = {
        "scenario_problems": [{"problem": "Price is ignored"}],
        "feedback_problems": [{"problem": "Price is not handled"}],
        "hypotheses": [
            {"problem": 3, "hypothesis": "Add price ratios", "scores": _scores(6)},
            {"problem": "two", "hypothesis": "Log of price", "scores": _scores(6)},
            {"problem": 7, "hypothesis": "third, past both", "scores": _scores(6)},
        ],
    }
    diagnosis = parse_diagnosis(raw)
    assert [(h.statement, h.problem.statement) for h in diagnosis.hypotheses] == [
        ("Add price ratios", "Price is ignored"),
        ("Log of price", "Price is not handled"),
    ]  # the third lands on the last problem, which already has one


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"scenario_problems": ["p"], "hypotheses": []},
        {"scenario_problems": ["p"], "hypotheses": [{"problem": 1, "hypothesis": " "}]},
    ],
)
def test_unusable_diagnosis_is_malformed(raw: dict) -> None:
    with pytest.raises(MalformedReplyError):
        parse_diagnosis(raw)


def _hyps(*scores: float) -> list[Hypothesis]:
    return [
        Hypothesis(Problem("feedback", f"p{i}"), f"h{i}", _scores(s)) for i, s in enumerate(scores)
    ]


def test_top_k_orders_by_score_and_keeps_model_order_on_ties() -> None:
    top = top_hypotheses(_hyps(3, 9, 5, 9, 1, 7), 5)
    assert [h.statement for h in top] == ["h1", "h3", "h5", "h2", "h0"]


def test_draw_is_proportional_to_score_and_reproducible() -> None:
    hyps = _hyps(1, 3, 6)
    rng = random.Random(123)
    counts = Counter(draw_hypothesis(hyps, rng).statement for _ in range(5000))
    assert counts["h2"] / 5000 == pytest.approx(0.6, abs=0.03)
    assert counts["h0"] / 5000 == pytest.approx(0.1, abs=0.02)
    first = [draw_hypothesis(hyps, random.Random(5)).statement for _ in range(3)]
    again = [draw_hypothesis(hyps, random.Random(5)).statement for _ in range(3)]
    assert first == again


def test_draw_without_weighting_takes_the_best() -> None:
    hyps = _hyps(1, 9, 6)
    assert {
        draw_hypothesis(hyps, random.Random(s), weighted=False).statement for s in range(20)
    } == {"h1"}
