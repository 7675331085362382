"""The reference models candidates are measured against, kept as source expressions.

Expressions rather than factories because the no-LLM fallback writes ensembles of them into
self-contained modules (see `omega.fallback`): the same text builds the baseline here and the
ensemble member there. Every model runs single-threaded; the evaluation parallelises folds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)


@dataclass(frozen=True)
class Baseline:
    """A model as source text: the import lines it needs and the expression that builds it."""

    expression: str
    imports: tuple[str, ...]

    @property
    def sklearn_only(self) -> bool:
        return all(line.startswith("from sklearn") for line in self.imports)


_SCALE = "from sklearn.preprocessing import StandardScaler"
_PIPE = "from sklearn.pipeline import make_pipeline"
_ENSEMBLE = "from sklearn.ensemble import "


def _scaled(model: str, module: str) -> Baseline:
    name = model.split("(")[0]
    return Baseline(
        f"make_pipeline(StandardScaler(), {model})", (_SCALE, _PIPE, f"from {module} import {name}")
    )


BASELINES: dict[str, dict[str, Baseline]] = {
    CLASSIFICATION: {
        "logistic": _scaled("LogisticRegression(max_iter=2000)", "sklearn.linear_model"),
        "knn": _scaled("KNeighborsClassifier()", "sklearn.neighbors"),
        "svm": _scaled("SVC()", "sklearn.svm"),
        "random_forest": Baseline(
            "RandomForestClassifier(random_state=0)", (_ENSEMBLE + "RandomForestClassifier",)
        ),
        "hist_gb": Baseline(
            "HistGradientBoostingClassifier(random_state=0)",
            (_ENSEMBLE + "HistGradientBoostingClassifier",),
        ),
        "lightgbm": Baseline(
            "LGBMClassifier(n_jobs=1, verbose=-1, random_state=0)",
            ("from lightgbm import LGBMClassifier",),
        ),
        "xgboost": Baseline(
            "XGBClassifier(n_jobs=1, random_state=0)", ("from xgboost import XGBClassifier",)
        ),
    },
    REGRESSION: {
        "ridge": _scaled("RidgeCV()", "sklearn.linear_model"),
        "knn": _scaled("KNeighborsRegressor()", "sklearn.neighbors"),
        # SVR's epsilon is in target units: it sees a standardised target
        "svm": Baseline(
            "TransformedTargetRegressor(make_pipeline(StandardScaler(), SVR()), "
            "transformer=StandardScaler())",
            (
                _SCALE,
                _PIPE,
                "from sklearn.svm import SVR",
                "from sklearn.compose import TransformedTargetRegressor",
            ),
        ),
        "random_forest": Baseline(
            "RandomForestRegressor(random_state=0)", (_ENSEMBLE + "RandomForestRegressor",)
        ),
        "hist_gb": Baseline(
            "HistGradientBoostingRegressor(random_state=0)",
            (_ENSEMBLE + "HistGradientBoostingRegressor",),
        ),
        "lightgbm": Baseline(
            "LGBMRegressor(n_jobs=1, verbose=-1, random_state=0)",
            ("from lightgbm import LGBMRegressor",),
        ),
        "xgboost": Baseline(
            "XGBRegressor(n_jobs=1, random_state=0)", ("from xgboost import XGBRegressor",)
        ),
    },
}


def build(task: str, name: str) -> Any:
    """A fresh, unfitted reference model."""
    baseline = BASELINES[task][name]
    namespace: dict[str, Any] = {}
    exec("\n".join(baseline.imports), namespace)  # constant text above, nothing user-supplied
    return eval(baseline.expression, namespace)
