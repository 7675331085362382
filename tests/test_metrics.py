"""Each metric agrees with a scikit-learn reference computation on random inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import metrics as skm

from gome.errors import InvalidSubmissionError
from gome.metrics import METRICS, Direction

TOL = 1e-9
EPS64 = float(np.finfo(np.float64).eps)
SETTINGS = settings(max_examples=60, deadline=None)

sizes = st.integers(min_value=2, max_value=40)
# probabilities, with exact 0 and 1 drawn often so that clipping matters
probability = st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0))


def frames(**columns: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(columns)


@st.composite
def binary_case(draw) -> tuple[np.ndarray, np.ndarray]:
    n = draw(sizes)
    y = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 1)))
    p = draw(hnp.arrays(np.float64, n, elements=probability))
    return y, p


@st.composite
def multiclass_case(draw) -> tuple[np.ndarray, np.ndarray]:
    """One-hot answers and rows of class probabilities that sum to 1."""
    n, k = draw(sizes), draw(st.integers(2, 6))
    labels = draw(hnp.arrays(np.int64, n, elements=st.integers(0, k - 1)))
    weights = draw(
        hnp.arrays(np.float64, (n, k), elements=st.one_of(st.just(0.0), st.floats(0.01, 10)))
    )
    weights[weights.sum(axis=1) == 0, 0] = 1.0
    return np.eye(k)[labels], weights / weights.sum(axis=1, keepdims=True)


@st.composite
def regression_case(draw, low: float = -100.0) -> tuple[np.ndarray, np.ndarray]:
    n, k = draw(sizes), draw(st.integers(1, 3))
    values = st.floats(low, 100.0)
    return (
        draw(hnp.arrays(np.float64, (n, k), elements=values)),
        draw(hnp.arrays(np.float64, (n, k), elements=values)),
    )


def wide(matrix: np.ndarray) -> tuple[pd.DataFrame, list[str]]:
    columns = [f"c{i}" for i in range(matrix.shape[1])]
    return pd.DataFrame(matrix, columns=columns), columns


def test_metric_names_are_the_spec_vocabulary() -> None:
    assert set(METRICS) == {
        "accuracy",
        "roc_auc",
        "mean_column_roc_auc",
        "log_loss",
        "multiclass_log_loss",
        "rmse",
        "mean_column_rmsle",
        "quadratic_weighted_kappa",
        "string_accuracy",
        "pixel_rmse",
    }
    assert all(name == metric.name for name, metric in METRICS.items())


@SETTINGS
@given(
    st.integers(1, 40).flatmap(
        lambda n: st.tuples(*(hnp.arrays(np.int64, n, elements=st.integers(0, 3)),) * 2)
    )
)
def test_accuracy(case) -> None:
    y, pred = case
    got = METRICS["accuracy"](frames(t=y), frames(t=pred), ["t"])
    assert got == pytest.approx(skm.accuracy_score(y, pred), abs=TOL)


@SETTINGS
@given(st.integers(1, 30).flatmap(lambda n: st.lists(st.text(max_size=3), min_size=n, max_size=n)))
def test_string_accuracy(words) -> None:
    truth = np.array(words, dtype=object)
    pred = truth.copy()
    pred[::2] = [w + "x" for w in pred[::2]]  # every other token wrong
    got = METRICS["string_accuracy"](frames(t=truth), frames(t=pred), ["t"])
    assert got == pytest.approx(skm.accuracy_score(truth.astype(str), pred.astype(str)), abs=TOL)


@SETTINGS
@given(binary_case())
def test_roc_auc(case) -> None:
    y, p = case
    assume(0 < y.sum() < len(y))
    got = METRICS["roc_auc"](frames(t=y), frames(t=p), ["t"])
    assert got == pytest.approx(skm.roc_auc_score(y, p), abs=TOL)


@SETTINGS
@given(binary_case(), binary_case())
def test_mean_column_roc_auc(first, second) -> None:
    n = min(len(first[0]), len(second[0]))
    y = np.column_stack([first[0][:n], second[0][:n]])
    p = np.column_stack([first[1][:n], second[1][:n]])
    assume(((y.sum(axis=0) > 0) & (y.sum(axis=0) < n)).all())
    answers, columns = wide(y)
    submission, _ = wide(p)
    got = METRICS["mean_column_roc_auc"](answers, submission, columns)
    assert got == pytest.approx(skm.roc_auc_score(y, p, average="macro"), abs=TOL)


def test_mean_column_roc_auc_drops_unscored_rows() -> None:
    # Kaggle's jigsaw labels mark unscored rows with -1 in every class
    y = np.array([[1, 0], [0, 1], [-1, -1], [0, 1], [1, 0]])
    p = np.array([[0.9, 0.1], [0.2, 0.3], [0.0, 1.0], [0.4, 0.8], [0.1, 0.2]])
    answers, columns = wide(y)
    submission, _ = wide(p)
    scored = y[:, 0] >= 0
    expected = skm.roc_auc_score(y[scored], p[scored], average="macro")
    got = METRICS["mean_column_roc_auc"](answers, submission, columns)
    assert got == pytest.approx(expected, abs=TOL)


@SETTINGS
@given(binary_case())
def test_log_loss_matches_sklearn_clipping(case) -> None:
    y, p = case
    got = METRICS["log_loss"](frames(t=y), frames(t=p), ["t"])
    assert got == pytest.approx(skm.log_loss(y, p, labels=[0, 1]), abs=TOL)


@SETTINGS
@given(binary_case())
def test_log_loss_with_kaggle_eps(case) -> None:
    y, p = case
    got = METRICS["log_loss"](frames(t=y), frames(t=p), ["t"], {"eps": 1e-15})
    # both columns [1 - p, p] are clipped, as scikit-learn does with its own eps
    clipped = np.clip(np.column_stack([1 - p, p]), 1e-15, 1 - 1e-15)
    assert got == pytest.approx(skm.log_loss(y, clipped, labels=[0, 1]), abs=TOL)


@SETTINGS
@given(multiclass_case())
def test_multiclass_log_loss(case) -> None:
    y, p = case
    answers, columns = wide(y)
    submission, _ = wide(p)
    got = METRICS["multiclass_log_loss"](answers, submission, columns)
    expected = skm.log_loss(y.argmax(axis=1), p, labels=range(y.shape[1]))
    assert got == pytest.approx(expected, abs=TOL)


@SETTINGS
@given(multiclass_case())
def test_multiclass_log_loss_kaggle_rule(case) -> None:
    y, p = case
    answers, columns = wide(y)
    submission, _ = wide(p)
    params = {"eps": 1e-15, "normalize_rows": True}
    got = METRICS["multiclass_log_loss"](answers, submission, columns, params)
    clipped = np.clip(p, 1e-15, 1 - 1e-15)
    normalised = clipped / clipped.sum(axis=1, keepdims=True)
    expected = skm.log_loss(y.argmax(axis=1), normalised, labels=range(y.shape[1]))
    assert got == pytest.approx(expected, abs=TOL)


def test_multiclass_log_loss_rejects_rows_not_summing_to_one() -> None:
    answers, columns = wide(np.eye(3))
    submission, _ = wide(np.array([[0.5, 0.5, 0.0], [0.2, 0.2, 0.2], [0.0, 0.0, 1.0]]))
    with pytest.raises(InvalidSubmissionError, match=r"1 row\(s\) of class probabilities"):
        METRICS["multiclass_log_loss"](answers, submission, columns)


@pytest.mark.parametrize("name", ["rmse", "pixel_rmse"])
@SETTINGS
@given(case=regression_case())
def test_rmse(name, case) -> None:
    y, p = case
    answers, columns = wide(y)
    submission, _ = wide(p)
    got = METRICS[name](answers, submission, columns)
    assert got == pytest.approx(skm.root_mean_squared_error(y, p), abs=TOL)


@SETTINGS
@given(regression_case(low=0.0))
def test_mean_column_rmsle(case) -> None:
    y, p = case
    answers, columns = wide(y)
    submission, _ = wide(p)
    got = METRICS["mean_column_rmsle"](answers, submission, columns)
    per_column = [skm.root_mean_squared_log_error(y[:, i], p[:, i]) for i in range(y.shape[1])]
    assert got == pytest.approx(np.mean(per_column), abs=TOL)


def test_mean_column_rmsle_rejects_negative_predictions() -> None:
    with pytest.raises(InvalidSubmissionError, match="1 prediction"):
        METRICS["mean_column_rmsle"](frames(t=[1.0, 2.0]), frames(t=[1.0, -0.5]), ["t"])


@SETTINGS
@given(
    st.integers(2, 40).flatmap(
        lambda n: st.tuples(*(hnp.arrays(np.int64, n, elements=st.integers(0, 4)),) * 2)
    )
)
def test_quadratic_weighted_kappa(case) -> None:
    y, pred = case
    assume(len(np.unique(np.concatenate([y, pred]))) > 1)
    got = METRICS["quadratic_weighted_kappa"](frames(t=y), frames(t=pred), ["t"])
    expected = skm.cohen_kappa_score(pred, y, weights="quadratic")
    assert got == pytest.approx(expected, abs=TOL, nan_ok=True)


def test_single_column_metric_refuses_several_targets() -> None:
    with pytest.raises(ValueError, match="exactly one target column"):
        METRICS["roc_auc"](
            frames(a=[0, 1], b=[1, 0]), frames(a=[0.1, 0.9], b=[0.9, 0.1]), ["a", "b"]
        )


def test_direction() -> None:
    higher, lower = Direction.of(True), Direction.of(False)
    assert higher.is_better(0.9, 0.8) and not higher.is_better(0.8, 0.8)
    assert lower.is_better(0.1, 0.2) and not lower.is_better(0.2, 0.1)
    assert higher.ties_or_beats(0.8, 0.8) and lower.ties_or_beats(0.2, 0.2)
    assert not lower.ties_or_beats(0.3, 0.2)
    assert higher.best([0.1, 0.5, 0.3]) == 0.5 and lower.best([0.4, 0.1, 0.3]) == 0.1
    assert METRICS["rmse"].direction is lower and METRICS["roc_auc"].direction is higher
