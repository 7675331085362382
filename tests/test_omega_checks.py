"""OMEGA's checks catch real defects of an estimator, in the sandbox, with a time limit.

The estimator sources here are shared with the healing tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from omega.candidate import Candidate, inspect_source
from omega.checks import STATIC_CHECK, run_checks

GOOD = '''\
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data


class ShrunkCentroid(ClassifierMixin, BaseEstimator):
    """Nearest centroid on standardised features, centroids shrunk toward the mean.

    Locality: a point goes to the class whose shrunk centroid is closest."""

    def __init__(self, shrinkage=0.1):
        self.shrinkage = shrinkage

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0) + 1e-12
        Z = (X - self.mean_) / self.scale_
        k = len(self.classes_)
        self.centroids_ = np.array([Z[codes == c].mean(axis=0) for c in range(k)])
        self.centroids_ *= 1 - self.shrinkage
        return self

    def _distances(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        Z = (X - self.mean_) / self.scale_
        return ((Z[:, None, :] - self.centroids_[None]) ** 2).sum(axis=2)

    def predict_proba(self, X):
        d = -self._distances(X)
        p = np.exp(d - d.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X):
        d = self._distances(X)
        return self.classes_[np.argmin(d, axis=1)]
'''

# One defect each, as a model would make them.
STATIC_DEFECT = "import os\n" + GOOD
NO_PARAMS_ROUND_TRIP = GOOD.replace(
    "self.shrinkage = shrinkage", "self.shrink = shrinkage"
).replace("1 - self.shrinkage", "1 - self.shrink")
NOT_FITTED_UNCHECKED = GOOD.replace("        check_is_fitted(self)\n", "")
MUTATES_INIT_PARAM = GOOD.replace(
    "        self.centroids_ *= 1 - self.shrinkage",
    "        self.shrinkage = min(0.9, self.shrinkage * 2)\n"
    "        self.centroids_ *= 1 - self.shrinkage",
)
SLOW = GOOD.replace(
    "    def fit(self, X, y):\n", "    def fit(self, X, y):\n        time.sleep(60)\n"
)
SLOW = "import time\n" + SLOW


def candidate(code: str, task: str = "classification") -> Candidate:
    return Candidate("c01", task, code, "test")


@pytest.mark.parametrize(
    ("code", "failing_check"),
    [
        (NO_PARAMS_ROUND_TRIP, "clone_get_set_params"),
        (NOT_FITTED_UNCHECKED, "check_estimators_unfitted"),
        (MUTATES_INIT_PARAM, "check_estimators_overwrite_params"),
    ],
    ids=["get-params-round-trip", "predict-before-fit", "mutates-init-param"],
)
def test_checks_catch_real_defects(code: str, failing_check: str, tmp_path: Path) -> None:
    report = run_checks(candidate(code), tmp_path / "job")
    assert not report.passed
    assert report.first_failure == failing_check
    assert report.error  # the traceback tail healing sends back
    assert len(report.error) <= 1503


def test_static_inspection_fails_before_anything_runs(tmp_path: Path) -> None:
    report = run_checks(candidate(STATIC_DEFECT), tmp_path / "job")
    assert report.failed == (STATIC_CHECK,) and "import os" in report.error
    assert not (tmp_path / "job").exists()
    assert inspect_source("def f(:\n", "classification").problem.startswith("SyntaxError")
    assert "RegressorMixin" in inspect_source(GOOD, "regression").problem
    undocumented = GOOD.replace('    """Nearest', '    """"""\n    _ = """Nearest')
    assert "docstring" in inspect_source(undocumented, "classification").problem


def test_a_hanging_check_is_named_after_the_time_limit(tmp_path: Path) -> None:
    report = run_checks(candidate(SLOW), tmp_path / "job", check_timeout_s=60, timeout_s=6)
    assert not report.passed
    assert report.first_failure == "smoke_real_data"
    assert "timed out after 6 s" in report.error
