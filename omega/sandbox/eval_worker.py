"""Cross-validate one estimator on the suite's datasets and write `scores.json`; runs inside
the sandbox.

Reads `eval_config.json` from the working folder:
`estimator` ({"baseline": name} or {"module": m, "class_name": c}), `task`, `datasets`,
`n_splits`, `n_repeats`, `seed`, `fit_timeout_s`, `n_jobs`. Each dataset is `./input/<name>.npz`
(arrays `X`, `y`). Folds come from `RepeatedStratifiedKFold` (classification) or
`RepeatedKFold` (regression) with the same seed for every estimator, so scores are paired.
Metrics: balanced accuracy, R². A fit-and-predict that outlasts `fit_timeout_s` (an interval
timer in the worker process) or raises marks its fold `timeout` / `error`; the other folds
still run.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import time
import traceback
import warnings
from typing import Any

CONFIG_FILE = "eval_config.json"
RESULT_FILE = "scores.json"
ERROR_CHARS = 600


class FitTimeoutError(Exception):
    """A fit plus predict ran past the per-fit time cap."""


def _alarm(signum: int, frame: Any) -> None:
    raise FitTimeoutError


def make_estimator(spec: dict[str, str], task: str) -> Any:
    if "baseline" in spec:
        import reference

        return reference.build(task, spec["baseline"])
    return getattr(importlib.import_module(spec["module"]), spec["class_name"])()


def folds(task: str, y: Any, n_splits: int, n_repeats: int, seed: int) -> list[tuple[Any, Any]]:
    import numpy as np
    from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold

    cv_class = RepeatedStratifiedKFold if task == "classification" else RepeatedKFold
    cv = cv_class(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    return list(cv.split(np.zeros(len(y)), y))


def score(task: str, y_true: Any, y_pred: Any) -> float:
    from sklearn.metrics import balanced_accuracy_score, r2_score

    if task == "classification":
        return float(balanced_accuracy_score(y_true, y_pred))
    return float(r2_score(y_true, y_pred))


def _start_timer(timeout_s: float) -> bool:
    """Arm the per-fit alarm; False off the process's main thread, where only the runner's
    wall clock applies."""
    try:
        signal.signal(signal.SIGALRM, _alarm)
    except ValueError:
        return False
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    return True


def _outcome(value: float, status: str, error: str, seconds: float) -> dict[str, Any]:
    return {"score": value, "status": status, "error": error, "seconds": seconds}


def one_fold(
    spec: dict[str, str], task: str, X: Any, y: Any, train: Any, test: Any, timeout_s: float
) -> dict[str, Any]:
    """Fit on `train`, score on `test`; never raises. Only fit and predict are timed: imports
    (the first fold in a fresh worker process pays them) happen before the timer starts."""
    nan = float("nan")
    try:
        model = make_estimator(spec, task)
        score(task, y[:2], y[:2])  # imports the metric
    except Exception:
        return _outcome(nan, "error", traceback.format_exc()[-ERROR_CHARS:], 0.0)
    start = time.monotonic()
    timed = _start_timer(timeout_s)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X[train], y[train])
            value = score(task, y[test], model.predict(X[test]))
        status, error = ("ok", "") if value == value else ("error", "the score is NaN")
    except FitTimeoutError:
        value, status, error = nan, "timeout", f"fit + predict over {timeout_s:g} s"
    except Exception:
        value, status, error = nan, "error", traceback.format_exc()[-ERROR_CHARS:]
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return _outcome(value, status, error, time.monotonic() - start)


def main() -> None:
    import numpy as np
    from joblib import Parallel, delayed

    with open(CONFIG_FILE) as f:
        config = json.load(f)
    task, spec = config["task"], config["estimator"]
    jobs = []
    for name in config["datasets"]:
        with np.load(os.path.join("input", f"{name}.npz"), allow_pickle=False) as data:
            X, y = data["X"], data["y"]
        for train, test in folds(task, y, config["n_splits"], config["n_repeats"], config["seed"]):
            jobs.append(
                (name, delayed(one_fold)(spec, task, X, y, train, test, config["fit_timeout_s"]))
            )
    outcomes = Parallel(n_jobs=config["n_jobs"])(job for _, job in jobs)
    result: dict[str, list[dict[str, Any]]] = {}
    for (name, _), outcome in zip(jobs, outcomes, strict=True):
        result.setdefault(name, []).append(outcome)
    with open(RESULT_FILE, "w") as f:
        json.dump({"datasets": result}, f)


if __name__ == "__main__":
    main()
