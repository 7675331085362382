"""Exercise one candidate estimator and write `checks.json`; runs inside the sandbox.

Reads `check_config.json` (`module`, `class_name`, `task`, `check_timeout_s`) from the working
folder, where the candidate's module also lies. Three groups of checks, in this order:

1. `import` and `contract`: the module imports; the class derives from `BaseEstimator` and the
   task's mixin and builds with no arguments. Nothing else runs when these fail.
2. `clone_get_set_params`: `get_params` works and survives `clone` and `set_params`.
   Real data (`smoke_real_data`): fit on 80 % of iris (classifier) or diabetes (regressor),
   predict the rest; predictions have the right shape, are finite and (for a classifier) are
   known labels; `predict_proba`, where the class has it, gives non-negative rows summing to 1.
   `degenerate_inputs`: a constant column, duplicated rows, string labels (classifier), and 12
   samples in all.
3. scikit-learn's own `check_estimator` suite (`estimator_checks_generator`, legacy checks
   included), less `EXCLUDED_CHECKS`: conventions a plain dense-data estimator need not follow.
   This is where clone, get/set_params, pickling, not-fitted errors, untouched init
   parameters, n_features_in_, NaN/inf rejection, idempotent fits and 1-sample inputs are
   tested.

Each check prints `CHECK <name>` before it starts, so when the runner's wall clock kills the
script the last such line says which check hung. Each check also has its own alarm.
"""

from __future__ import annotations

import importlib
import json
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

CONFIG_FILE = "check_config.json"
RESULT_FILE = "checks.json"
TRACEBACK_CHARS = 1500

# scikit-learn checks not run, with why. Everything else in `check_estimator` must pass.
EXCLUDED_CHECKS: dict[str, str] = {
    "check_sample_weights_pandas_series": "fit need not take sample_weight",
    "check_sample_weights_not_an_array": "fit need not take sample_weight",
    "check_sample_weights_list": "fit need not take sample_weight",
    "check_sample_weights_shape": "fit need not take sample_weight",
    "check_sample_weights_not_overwritten": "fit need not take sample_weight",
    "check_all_zero_sample_weights_error": "fit need not take sample_weight",
    "check_sample_weight_equivalence_on_dense_data": "fit need not take sample_weight",
    "check_sample_weight_equivalence_on_sparse_data": "fit need not take sample_weight",
    "check_classifiers_one_label_sample_weights": "fit need not take sample_weight",
    "check_class_weight_classifiers": "class_weight is optional",
    "check_class_weight_balanced_linear_classifier": "class_weight is optional",
    "check_estimator_sparse_array": "the evaluation data are dense",
    "check_estimator_sparse_matrix": "the evaluation data are dense",
    "check_estimator_sparse_tag": "the evaluation data are dense",
    "check_sparsify_coefficients": "the evaluation data are dense",
    "check_array_api_input": "array API support is optional",
    "check_array_api_mixed_inputs": "array API support is optional",
    "check_array_api_same_namespace": "array API support is optional",
    "check_non_transformer_estimators_n_iter": "an n_iter_ attribute is a convention of iterative "
    "sklearn models, not of the contract",
    "check_estimators_partial_fit_n_features": "partial_fit is optional",
    "check_regressor_multioutput": "targets are one column",
    "check_positive_only_tag_during_fit": "tags are left at their defaults",
    "check_estimator_tags_renamed": "tags are left at their defaults",
    "check_valid_tag_types": "tags are left at their defaults",
}


class CheckTimeoutError(Exception):
    """A check ran past its alarm."""


def _alarm(signum: int, frame: Any) -> None:
    raise CheckTimeoutError("the check ran past its time limit")


def _tail(text: str, limit: int = TRACEBACK_CHARS) -> str:
    return text if len(text) <= limit else "..." + text[-limit:]


class Checker:
    """Runs named checks, one record each; a name seen twice keeps its first failure."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.results: dict[str, dict[str, Any]] = {}

    def run(self, name: str, check: Callable[[], Any]) -> bool:
        if name in self.results and not self.results[name]["passed"]:
            return False  # further instances of an already failed check add nothing
        print(f"CHECK {name}", flush=True)
        start = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, self.timeout_s)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                check()
            passed, error, skipped = True, "", False
        except Exception as exc:
            skipped = type(exc).__name__ == "SkipTest"
            passed, error = skipped, "" if skipped else _tail(traceback.format_exc())
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if name not in self.results or not passed:
            self.results[name] = {
                "check": name,
                "passed": passed,
                "skipped": skipped,
                "error": error,
                "seconds": round(time.monotonic() - start, 3),
            }
        return passed

    def write(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump({"results": list(self.results.values())}, f, indent=1)


def _real_data(task: str) -> tuple[Any, Any]:
    from sklearn.datasets import load_diabetes, load_iris

    return (load_iris if task == "classification" else load_diabetes)(return_X_y=True)


def smoke_real_data(cls: type, task: str) -> None:
    import numpy as np
    from sklearn.model_selection import train_test_split

    X, y = _real_data(task)
    stratify = y if task == "classification" else None
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.2, random_state=0, stratify=stratify
    )
    model = cls()
    assert model.fit(X_tr, y_tr) is model, "fit must return self"
    pred = np.asarray(model.predict(X_te))
    assert pred.shape == (len(X_te),), f"predict returned shape {pred.shape}, not ({len(X_te)},)"
    if task == "classification":
        unknown = set(np.unique(pred)) - set(np.unique(y_tr))
        assert not unknown, f"predict returned labels never seen in fit: {sorted(unknown)[:5]}"
    else:
        assert np.all(np.isfinite(pred)), "predict returned NaN or inf"
    if task == "classification" and hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(X_te))
        n_classes = len(np.unique(y_tr))
        assert proba.shape == (len(X_te), n_classes), (
            f"predict_proba returned shape {proba.shape}, not ({len(X_te)}, {n_classes})"
        )
        assert np.all(np.isfinite(proba)) and np.all(proba >= 0), "probabilities must be >= 0"
        assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-6), "probability rows must sum to 1"


def degenerate_inputs(cls: type, task: str) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    X[:, 1] = 7.0  # a constant column
    X[6:] = X[:6]  # every row twice
    if task == "classification":
        y = np.array(["yes", "no", "maybe"] * 4, dtype=object)
        y[6:] = y[:6]
    else:
        y = X[:, 0] * 2.0 + 1.0
    model = cls().fit(X, y)
    pred = np.asarray(model.predict(X))
    assert pred.shape == (12,), f"predict returned shape {pred.shape} on 12 rows"
    if task == "classification":
        assert set(pred) <= set(y), "predict must return the labels given to fit (here strings)"
    else:
        assert np.all(np.isfinite(pred)), "predict returned NaN or inf"


def clone_get_set_params(cls: type) -> None:
    from sklearn.base import clone

    model = cls()
    params = model.get_params()
    assert clone(model).get_params() == params, "clone() changed the parameters"
    assert model.set_params(**params) is model, "set_params must return self"
    assert model.get_params() == params, "set_params(**get_params()) changed the parameters"


def sklearn_checks(estimator: Any) -> list[tuple[str, Callable[[], Any]]]:
    from sklearn.utils.estimator_checks import estimator_checks_generator

    checks = []
    for est, check in estimator_checks_generator(estimator, legacy=True):
        name = getattr(check, "func", check).__name__
        if name not in EXCLUDED_CHECKS:
            checks.append((name, lambda est=est, check=check: check(est)))
    return checks


def contract(module: Any, class_name: str, task: str) -> type:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

    cls = getattr(module, class_name, None)
    assert isinstance(cls, type), f"the module defines no class {class_name!r}"
    mixin = ClassifierMixin if task == "classification" else RegressorMixin
    assert issubclass(cls, BaseEstimator), f"{class_name} must derive from BaseEstimator"
    assert issubclass(cls, mixin), f"{class_name} must derive from {mixin.__name__}"
    cls()  # default-constructible
    return cls


def main() -> None:
    with open(CONFIG_FILE) as f:
        config = json.load(f)
    signal.signal(signal.SIGALRM, _alarm)
    checker = Checker(config["check_timeout_s"])
    task, class_name = config["task"], config["class_name"]
    found: dict[str, Any] = {}
    checks: list[tuple[str, Callable[[], Any]]] = []
    try:
        imported = checker.run(
            "import", lambda: found.update(module=importlib.import_module(config["module"]))
        )
        if imported and checker.run(
            "contract", lambda: found.update(cls=contract(found["module"], class_name, task))
        ):
            cls = found["cls"]
            checker.run("clone_get_set_params", lambda: clone_get_set_params(cls))
            checker.run("smoke_real_data", lambda: smoke_real_data(cls, task))
            checker.run("degenerate_inputs", lambda: degenerate_inputs(cls, task))
            if checker.run("check_estimator_setup", lambda: checks.extend(sklearn_checks(cls()))):
                for name, check in checks:
                    checker.run(name, check)
    finally:
        checker.write(RESULT_FILE)
    sys.exit(0)


if __name__ == "__main__":
    main()
