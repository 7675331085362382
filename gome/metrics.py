"""Competition metrics, selected by name from `competition.yaml`, and the direction of a score.

A metric takes the answers and the submission already aligned row-for-row by id (the grader
does the alignment and the per-column type checks), the spec's `target_columns` and its
`metric_params`, and returns a float. A metric raises `InvalidSubmissionError` only for problems
that depend on the metric itself (rows of class probabilities that do not sum to 1, negative
values under a log). Each one reproduces how MLE-bench scores its competitions
(`shared/mlebench/PREPARE.md`, "Grading" lines); `tests/test_metrics.py` checks each against
scikit-learn.

`Direction` is the one place that knows what "better" means for a score: every comparison of
scores in gome goes through it, never through a sign flip.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    roc_auc_score,
    root_mean_squared_error,
)

from gome.direction import Direction
from gome.errors import InvalidSubmissionError

MetricFn = Callable[[pd.DataFrame, pd.DataFrame, Sequence[str], Mapping[str, Any]], float]

# MLE-bench relies on scikit-learn >= 1.5, whose log loss clips to the float64 machine epsilon.
_FLOAT64_EPS = float(np.finfo(np.float64).eps)
# np.isclose(row_sum, 1, atol=1e-6) with its default rtol, as MLE-bench's log-loss graders check.
_ROW_SUM_ATOL = 1e-6
_ROW_SUM_RTOL = 1e-5


@dataclass(frozen=True)
class Metric:
    """A named metric; `higher_is_better` is its usual direction (the competition spec decides)."""

    name: str
    fn: MetricFn
    higher_is_better: bool
    description: str

    @property
    def direction(self) -> Direction:
        return Direction.of(self.higher_is_better)

    def __call__(
        self,
        answers: pd.DataFrame,
        submission: pd.DataFrame,
        target_columns: Sequence[str],
        params: Mapping[str, Any] | None = None,
    ) -> float:
        return float(self.fn(answers, submission, target_columns, params or {}))


# -- helpers ------------------------------------------------------------------------------------
def _single(target_columns: Sequence[str]) -> str:
    if len(target_columns) != 1:
        raise ValueError(f"this metric needs exactly one target column, got {list(target_columns)}")
    return target_columns[0]


def _floats(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    return frame[list(columns)].to_numpy(dtype=np.float64)


def _column_auc(y_true: pd.Series, y_score: pd.Series) -> float:
    """ROC AUC over the rows whose answer is not negative.

    A negative label marks an unscored row (Kaggle's -1 rows in jigsaw's test labels, which
    MLE-bench drops before scoring); no other competition has negative labels.
    """
    scored = y_true.to_numpy() >= 0
    return float(roc_auc_score(y_true.to_numpy()[scored], y_score.to_numpy()[scored]))


# -- the metrics --------------------------------------------------------------------------------
def _accuracy(answers, submission, target_columns, params) -> float:
    column = _single(target_columns)
    return float(accuracy_score(answers[column].to_numpy(), submission[column].to_numpy()))


def _string_accuracy(answers, submission, target_columns, params) -> float:
    # Exact match of the text as written; numpy compares the object arrays element-wise, which
    # is much faster than scikit-learn's label inference on a million distinct strings.
    column = _single(target_columns)
    truth = answers[column].astype(str).to_numpy(dtype=object)
    pred = submission[column].astype(str).to_numpy(dtype=object)
    return float(np.mean(truth == pred))


def _roc_auc(answers, submission, target_columns, params) -> float:
    column = _single(target_columns)
    return _column_auc(answers[column], submission[column])


def _mean_column_roc_auc(answers, submission, target_columns, params) -> float:
    return float(np.mean([_column_auc(answers[c], submission[c]) for c in target_columns]))


def _log_loss(answers, submission, target_columns, params) -> float:
    """Binary log loss of the positive-class probability, clipped like scikit-learn's."""
    column = _single(target_columns)
    eps = float(params.get("eps", _FLOAT64_EPS))
    y = answers[column].to_numpy(dtype=np.float64)
    p = submission[column].to_numpy(dtype=np.float64)
    # scikit-learn builds [1 - p, p] and clips both columns, so clip each side separately.
    p_pos = np.clip(p, eps, 1 - eps)
    p_neg = np.clip(1 - p, eps, 1 - eps)
    return float(-np.mean(np.where(y == 1, np.log(p_pos), np.log(p_neg))))


def _multiclass_log_loss(answers, submission, target_columns, params) -> float:
    """Log loss of one probability column per class against one-hot answers.

    As MLE-bench: every row must sum to 1 (np.isclose, atol 1e-6), values are clipped to
    [eps, 1 - eps] with eps the float64 machine epsilon, and rows are not renormalised.
    Kaggle's original rule is `eps: 1.0e-15` with `normalize_rows: true` in `metric_params`.
    """
    eps = float(params.get("eps", _FLOAT64_EPS))
    y = _floats(answers, target_columns)
    p = _floats(submission, target_columns)
    sums = p.sum(axis=1)
    off = ~np.isclose(sums, 1.0, rtol=_ROW_SUM_RTOL, atol=_ROW_SUM_ATOL)
    if off.any():
        raise InvalidSubmissionError(
            f"{int(off.sum())} row(s) of class probabilities do not sum to 1 "
            f"(row sums range from {sums.min():.6g} to {sums.max():.6g})"
        )
    p = np.clip(p, eps, 1 - eps)
    if params.get("normalize_rows", False):
        p = p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.sum(y * np.log(p), axis=1)))


def _rmse(answers, submission, target_columns, params) -> float:
    return float(
        root_mean_squared_error(
            _floats(answers, target_columns), _floats(submission, target_columns)
        )
    )


def _mean_column_rmsle(answers, submission, target_columns, params) -> float:
    pred = _floats(submission, target_columns)
    negative = pred < 0
    if negative.any():
        raise InvalidSubmissionError(
            f"{int(negative.sum())} prediction(s) are negative; this metric takes log(1 + value) "
            "and needs values >= 0"
        )
    errors = np.log1p(pred) - np.log1p(_floats(answers, target_columns))
    return float(np.mean(np.sqrt(np.mean(errors**2, axis=0))))


def _quadratic_weighted_kappa(answers, submission, target_columns, params) -> float:
    column = _single(target_columns)
    return float(
        cohen_kappa_score(
            submission[column].to_numpy(), answers[column].to_numpy(), weights="quadratic"
        )
    )


_DEFINITIONS = (
    Metric("accuracy", _accuracy, True, "share of rows whose label equals the answer"),
    Metric("roc_auc", _roc_auc, True, "ROC AUC of one probability/score column"),
    Metric(
        "mean_column_roc_auc",
        _mean_column_roc_auc,
        True,
        "mean of per-column ROC AUCs; rows whose answer is negative (-1) are unscored",
    ),
    Metric("log_loss", _log_loss, False, "binary log loss of the positive-class probability"),
    Metric(
        "multiclass_log_loss",
        _multiclass_log_loss,
        False,
        "log loss of one probability column per class against one-hot answers",
    ),
    Metric("rmse", _rmse, False, "root mean squared error (mean over target columns)"),
    Metric(
        "mean_column_rmsle",
        _mean_column_rmsle,
        False,
        "mean over target columns of the root mean squared log error",
    ),
    Metric(
        "quadratic_weighted_kappa",
        _quadratic_weighted_kappa,
        True,
        "Cohen's kappa with quadratic weights between predicted and true grades",
    ),
    Metric("string_accuracy", _string_accuracy, True, "share of rows whose text equals the answer"),
    Metric(
        "pixel_rmse",
        _rmse,
        False,
        "root mean squared error over per-pixel rows (id = image_row_col, value in [0, 1])",
    ),
)

METRICS: dict[str, Metric] = {metric.name: metric for metric in _DEFINITIONS}
