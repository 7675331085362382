"""Tabular solution script written by gome's built-in proposer.

Run it alone with `python solution.py` in a folder holding ./input/ (train.csv, test.csv and
the sample submission). It types the columns, builds the feature blocks the RECIPE names, fits
the recipe's model(s) with K-fold cross-validation (seeds and members averaged), prints the
cross-validated competition metric as `validation_score: <float>` and writes ./submission.csv
in the sample submission's format.

Everything competition-specific is in the TASK and RECIPE blocks below; the rest is generic.
"""

from __future__ import annotations

import copy
import os
import re
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# >>> recipe (written by the proposer)
TASK: dict[str, Any] = {
    "id_column": "id",
    "target_columns": ["target"],
    "submission_columns": {"id": "int", "target": "float"},
    "sample_submission": "sample_submission.csv",
    "metric": "rmse",
    "problem": "regression",  # or "classification"
    "output": "value",  # "label", "probability" or "value"
    "log_target": False,  # fit on log1p(target) (RMSLE metrics)
}
RECIPE: dict[str, Any] = {
    "members": [{"family": "lightgbm", "features": ["base"], "params": {}, "tune_trials": 0}],
    "folds": 5,
    "seeds": [0],
    "group_cv": False,
}
TIME_BUDGET_S = 600.0
N_JOBS = os.cpu_count() or 1
OMEGA_ESTIMATORS: dict[str, Any] = {}  # OMEGA registry classes of "omega:<name>" members
# <<< recipe

INPUT = Path("input")
START = time.monotonic()
MAX_CATEGORIES = 50  # a string column with more distinct values is high-cardinality
SEPARATORS = ("/", "_", "-", ":", "|", " ")
EARLY_STOPPING_ROUNDS = 100
BLEND_STEPS = 20  # greedy picks that set an ensemble's member weights
FAR_FEATURES = 2  # numeric features beyond the training range that make a row "far"
warnings.filterwarnings("ignore")


def elapsed() -> float:
    return time.monotonic() - START


# ---------------------------------------------------------------------------------------------
# Column typing
# ---------------------------------------------------------------------------------------------
def is_bool_like(values: pd.Series) -> bool:
    """True for a column of True/False (any case), however pandas parsed it."""
    if pd.api.types.is_bool_dtype(values):
        return True
    if pd.api.types.is_numeric_dtype(values):
        return False
    return set(values.astype(str).str.lower().unique()) <= {"true", "false"}


def as_number(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce")


def detect_split(values: pd.Series) -> dict[str, Any] | None:
    """A separator that cuts (nearly) every value into the same number of parts (2..5).

    Catches structured strings such as a cabin "B/12/P" or an id "0042_01"; free text (many
    words of varying count) does not qualify.
    """
    strings = values.astype(str)
    for sep in SEPARATORS:
        counts = strings.str.count(re.escape(sep))
        n_parts = int(counts.mode().iloc[0]) + 1
        if 2 <= n_parts <= 5 and (counts == n_parts - 1).mean() >= 0.95:
            return {"sep": sep, "n_parts": n_parts}
    return None


def split_parts(values: pd.Series, sep: str, n_parts: int) -> pd.DataFrame:
    """The parts of a structured string column, one column per part (missing stays missing)."""
    parts = values.astype("str").str.split(sep, n=n_parts - 1, expand=True, regex=False)
    return parts.reindex(columns=range(n_parts))


def part_kind(part: pd.Series) -> dict[str, bool]:
    """How one string part is used: as a number, a category, and/or a group key to count."""
    present = part.dropna()
    numeric = len(present) > 0 and as_number(present).notna().mean() >= 0.95
    n_unique = present.nunique()
    return {
        "numeric": bool(numeric),
        "categorical": bool(not numeric and n_unique <= MAX_CATEGORIES),
        "count": bool(n_unique > MAX_CATEGORIES and n_unique < 0.95 * len(present)),
    }


def profile_columns(frame: pd.DataFrame, id_column: str) -> dict[str, Any]:
    """Type every input column of `frame` (train and test features stacked).

    numeric, binary (True/False), categorical (few distinct strings), high_card (many distinct
    strings that repeat: counted), text (several words per value: length statistics), split
    (separator-structured strings: parts), nonneg_skewed (zero-inflated amounts such as spends).
    A string column unique per row without structure is id-like and dropped, as is a numeric id.
    """
    profile: dict[str, Any] = {
        "numeric": [],
        "binary": [],
        "categorical": [],
        "high_card": [],
        "text": [],
        "split": {},
        "nonneg_skewed": [],
        "has_missing": bool(frame.isna().any().any()),
        "group_key": None,
    }
    for col in frame.columns:
        values = frame[col].dropna()
        if values.empty:
            continue
        if is_bool_like(values):
            profile["binary"].append(col)
        elif pd.api.types.is_numeric_dtype(values):
            if col == id_column:
                continue
            profile["numeric"].append(col)
            if values.min() >= 0 and (values == 0).mean() >= 0.3 and values.skew() > 2:
                profile["nonneg_skewed"].append(col)
        else:
            strings = values.astype(str)
            n_unique = strings.nunique()
            if strings.str.split().str.len().mean() > 3:
                profile["text"].append(col)
                continue
            split = detect_split(strings)
            if split is not None:
                parts = split_parts(strings, split["sep"], split["n_parts"])
                split["parts"] = [part_kind(parts[i]) for i in range(split["n_parts"])]
                profile["split"][col] = split
                if col == id_column and split["parts"][0]["count"]:
                    # ids like gggg_pp: rows sharing a prefix form a group; CV keeps it whole
                    profile["group_key"] = col
            if col == id_column:
                continue
            if n_unique <= MAX_CATEGORIES:
                profile["categorical"].append(col)
            elif n_unique < 0.95 * len(strings):
                profile["high_card"].append(col)
    return profile


# ---------------------------------------------------------------------------------------------
# Feature blocks
# ---------------------------------------------------------------------------------------------
def as_category(values: pd.Series) -> pd.Series:
    return values.astype("str").where(values.notna()).astype("category")


def block_base(frame: pd.DataFrame, profile: dict[str, Any]) -> dict[str, pd.Series]:
    """Numeric columns as they are, True/False as 1/0, few-valued strings as categories."""
    out = {col: frame[col].astype(float) for col in profile["numeric"]}
    for col in profile["binary"]:
        out[col] = frame[col].astype(str).str.lower().map({"true": 1.0, "false": 0.0})
    for col in profile["categorical"]:
        out[col] = as_category(frame[col])
    return out


def block_split(frame: pd.DataFrame, profile: dict[str, Any]) -> dict[str, pd.Series]:
    """Parts of separator-structured strings, e.g. deck / number / side of a cabin."""
    out: dict[str, pd.Series] = {}
    for col, split in profile["split"].items():
        parts = split_parts(frame[col], split["sep"], split["n_parts"])
        for i, kind in enumerate(split["parts"]):
            if kind["numeric"]:
                out[f"{col}_{i}"] = as_number(parts[i])
            elif kind["categorical"]:
                out[f"{col}_{i}"] = as_category(parts[i])
    return out


def block_counts(frame: pd.DataFrame, profile: dict[str, Any]) -> dict[str, pd.Series]:
    """How many rows (train and test) share a value: group size, family size, cabin mates."""
    keys = {col: frame[col] for col in profile["high_card"]}
    for col, split in profile["split"].items():
        parts = split_parts(frame[col], split["sep"], split["n_parts"])
        for i, kind in enumerate(split["parts"]):
            if kind["count"]:
                keys[f"{col}_{i}"] = parts[i]
    out = {}
    for name, key in keys.items():
        counts = key.map(key.value_counts())
        out[f"{name}_count"] = counts.astype(float).where(key.notna())
    return out


def block_aggregates(frame: pd.DataFrame, profile: dict[str, Any]) -> dict[str, pd.Series]:
    """Row-wise totals of zero-inflated amounts (e.g. spends), their logs, missing counts."""
    amounts = frame[profile["nonneg_skewed"]].astype(float)
    out = {f"{col}_log1p": np.log1p(amounts[col]) for col in amounts.columns}
    if amounts.shape[1] >= 2:
        out["amounts_total_log1p"] = np.log1p(amounts.sum(axis=1))
        out["amounts_nonzero"] = (amounts > 0).sum(axis=1).astype(float)
    if profile["has_missing"]:
        out["n_missing"] = frame.isna().sum(axis=1).astype(float)
    return out


def block_text(frame: pd.DataFrame, profile: dict[str, Any]) -> dict[str, pd.Series]:
    """Length statistics of free-text columns."""
    out = {}
    for col in profile["text"]:
        text = frame[col].astype("str")
        out[f"{col}_chars"] = text.str.len().astype(float)
        out[f"{col}_words"] = text.str.split().str.len().astype(float)
    return out


BLOCKS = {
    "base": block_base,
    "split": block_split,
    "counts": block_counts,
    "aggregates": block_aggregates,
    "text": block_text,
}


# ---------------------------------------------------------------------------------------------
# Slots: the functions an agent rewrites to change this script (each one alone, checked first)
# ---------------------------------------------------------------------------------------------
def add_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Extra features. `frame` holds the raw input columns of train and test rows stacked (no
    target column). Return it with new columns added, same rows and index. Changes to existing
    columns are ignored; every model sees the new columns (see `as_model_column`)."""
    return frame


def model_params(family: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a model of `family` (lightgbm, xgboost, hgb, linear) is fitted with,
    given the recipe's (after tuning). Return them, changed or not."""
    return params


def choose_recipe(recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe the script runs, given RECIPE: its `members` (the models averaged, each a
    family, feature blocks, params and tuning trials), `folds`, `seeds` and `group_cv`.
    Return it, changed or not."""
    return recipe


def as_model_column(values: pd.Series) -> pd.Series | None:
    """A new column of `add_features` as every model takes it, whatever its dtype: numbers
    (True/False as 1/0, strings that all read as numbers, dates) as floats with infinities
    missing; other strings as a category when they are few, else as how many rows share the
    value; None when nothing is left (all missing). A feature function is judged by what it
    adds, not by whether it converted its dtypes."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        numbers = pd.to_numeric(values, errors="coerce").where(values.notna())
        if numbers.notna().sum() == values.notna().sum():
            values = numbers.astype(float).replace([np.inf, -np.inf], np.nan)
        else:
            values = as_category(values)
    if isinstance(values.dtype, pd.CategoricalDtype) and values.nunique() > MAX_CATEGORIES:
        values = values.map(values.value_counts()).astype(float)
    return None if values.isna().all() else values


def build_features(frame: pd.DataFrame, profile: dict[str, Any], blocks: list[str]) -> pd.DataFrame:
    """The feature matrix for train and test rows stacked (no target is read here): the
    recipe's blocks plus the new columns of `add_features`."""
    columns: dict[str, pd.Series] = {}
    for block in blocks:
        columns.update(BLOCKS[block](frame, profile))
    added = add_features(frame.copy())
    for col in added.columns.difference(frame.columns):
        values = as_model_column(added[col])
        if values is not None:
            columns[str(col)] = values
    if not columns:  # nothing usable: a constant column keeps the models well defined
        columns["constant"] = pd.Series(0.0, index=frame.index)
    return pd.DataFrame(columns, index=frame.index)


# ---------------------------------------------------------------------------------------------
# Metric
# ---------------------------------------------------------------------------------------------
def metric(y: np.ndarray, pred: np.ndarray, name: str) -> float:
    """The competition metric of out-of-fold predictions (class probabilities or values)."""
    from sklearn import metrics

    if name in ("accuracy", "string_accuracy"):
        return float(metrics.accuracy_score(y, pred.argmax(axis=1)))
    if name == "quadratic_weighted_kappa":
        return float(metrics.cohen_kappa_score(y, pred.argmax(axis=1), weights="quadratic"))
    if name in ("roc_auc", "mean_column_roc_auc"):
        if pred.shape[1] == 2:
            return float(metrics.roc_auc_score(y, pred[:, 1]))
        return float(metrics.roc_auc_score(y, pred, multi_class="ovr"))
    if name in ("log_loss", "multiclass_log_loss"):
        return float(metrics.log_loss(y, pred, labels=list(range(pred.shape[1]))))
    # regression metrics; RMSLE targets are already on the log1p scale
    return float(np.sqrt(metrics.mean_squared_error(y, pred)))


def tuning_objective() -> tuple[str, str]:
    """(metric, direction) Optuna optimises: log loss stands in for hard-label accuracy/kappa,
    whose steps make the search noisy; other metrics are used as they are."""
    name = TASK["metric"]
    if TASK["output"] == "label":
        return "log_loss", "minimize"
    higher = name in ("roc_auc", "mean_column_roc_auc")
    return name, "maximize" if higher else "minimize"


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------
def is_classification() -> bool:
    return TASK["problem"] == "classification"


class ClipToTrainRange:
    """Clips each column to the 1st..99th percentile of the rows it was fitted on.

    A linear model extrapolates without bound: one test row far outside the training range
    (a house five times the usual size) gets an absurd prediction, where trees stay bounded.
    """

    def fit(self, X: Any, y: Any = None) -> ClipToTrainRange:
        self.low_, self.high_ = np.nanpercentile(np.asarray(X, dtype=float), [1, 99], axis=0)
        return self

    def transform(self, X: Any) -> np.ndarray:
        return np.clip(np.asarray(X, dtype=float), self.low_, self.high_)

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        return self.fit(X).transform(X)


def signed_log1p(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def tabular_preprocessing(dense: bool = False) -> Any:
    """Numerics clipped to their training range, imputed, on two scales, as they are and
    signed-log (a linear model then fits both additive and multiplicative effects of skewed
    amounts), standardised; categories one-hot. `dense`: a plain array, for estimators that
    take no sparse input."""
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    return make_column_transformer(
        (
            make_pipeline(
                ClipToTrainRange(),
                SimpleImputer(strategy="median", add_indicator=True),
                make_union(
                    StandardScaler(),
                    make_pipeline(FunctionTransformer(signed_log1p), StandardScaler()),
                ),
            ),
            make_column_selector(dtype_include="number"),
        ),
        (
            make_pipeline(
                SimpleImputer(strategy="constant", fill_value="missing"),
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=not dense
                ),
            ),
            make_column_selector(dtype_include="category"),
        ),
        sparse_threshold=0.0 if dense else 0.3,
    )


def linear_model(params: dict[str, Any], seed: int) -> Any:
    """The tabular preprocessing into a logistic or ridge regression."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline

    if is_classification():
        head = LogisticRegression(C=params.get("C", 1.0), max_iter=2000, random_state=seed)
    else:
        head = Ridge(alpha=params.get("alpha", 1.0))
    return make_pipeline(tabular_preprocessing(), head)


def omega_model(family: str, params: dict[str, Any]) -> Any:
    """An OMEGA registry estimator (`omega:<name>`, its class pasted into the recipe block)
    on the tabular preprocessing, as a dense array."""
    from sklearn.pipeline import make_pipeline

    estimator = OMEGA_ESTIMATORS[family.removeprefix("omega:")]
    return make_pipeline(tabular_preprocessing(dense=True), estimator(**params))


def class_probabilities(model: Any, frame: pd.DataFrame, n_classes: int) -> np.ndarray:
    """(n, n_classes) probabilities; a classifier without predict_proba gives one-hot labels.
    A fold may miss a rare class, hence the columns by `model.classes_`."""
    proba = np.zeros((len(frame), n_classes))
    if hasattr(model, "predict_proba"):
        proba[:, model.classes_] = model.predict_proba(frame)
    else:
        proba[np.arange(len(frame)), model.predict(frame).astype(int)] = 1.0
    return proba


def as_object_categories(X: pd.DataFrame) -> pd.DataFrame:
    """Category columns as plain objects with NaN for the sklearn imputer."""
    X = X.copy()
    for col in X.select_dtypes("category").columns:
        X[col] = X[col].astype(object).where(X[col].notna(), np.nan)
    return X


def inner_split(X: pd.DataFrame, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """10 % of a training fold held out for early stopping, so the scoring fold stays unseen."""
    from sklearn.model_selection import train_test_split

    stratify = y if is_classification() and np.bincount(y).min() >= 2 else None
    idx = np.arange(len(X))
    return train_test_split(idx, test_size=0.1, random_state=seed, stratify=stratify)


def owned_over(params: dict[str, Any], **owned: Any) -> dict[str, Any]:
    """A model's keyword arguments: `params` (the recipe's, after `model_params`) with the
    settings this script owns (rounds, early stopping, seed, threads) put over them, so a slot
    that also sets one cannot make the fit fail on a repeated keyword."""
    return {**params, **owned}


def fit_predict(
    member: dict[str, Any],
    params: dict[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    X_eval: list[pd.DataFrame],
    seed: int,
    n_classes: int,
) -> list[np.ndarray]:
    """Fit one model on (X, y) and predict each frame of X_eval: class probabilities
    (n, n_classes) for classification, values (n,) for regression."""
    family = member["family"]
    if family == "linear" or family.startswith("omega:"):
        model = linear_model(params, seed) if family == "linear" else omega_model(family, params)
        model = model.fit(as_object_categories(X), y)
        X_eval = [as_object_categories(frame) for frame in X_eval]
    elif family == "hgb":
        from sklearn import ensemble

        cls = (
            ensemble.HistGradientBoostingClassifier
            if is_classification()
            else ensemble.HistGradientBoostingRegressor
        )
        # unlike LightGBM and XGBoost it rejects unknown keywords, such as the parameters a
        # member kept when a recipe edit moved it from another family
        known = cls().get_params()
        accepted = {k: v for k, v in params.items() if k in known}
        model = cls(
            **owned_over(
                accepted,
                max_iter=2000,
                early_stopping=True,
                validation_fraction=0.1,
                n_iter_no_change=50,
                categorical_features="from_dtype",
                random_state=seed,
            )
        ).fit(X, y)
    else:
        fit_idx, stop_idx = inner_split(X, y, seed)
        X_fit, y_fit = X.iloc[fit_idx], y[fit_idx]
        X_stop, y_stop = X.iloc[stop_idx], y[stop_idx]
        if family == "lightgbm":
            import lightgbm as lgb

            cls = lgb.LGBMClassifier if is_classification() else lgb.LGBMRegressor
            model = cls(
                **owned_over(
                    params, n_estimators=5000, random_state=seed, n_jobs=N_JOBS, verbose=-1
                )
            )
            model.fit(
                X_fit,
                y_fit,
                eval_set=[(X_stop, y_stop)],
                callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
            )
        elif family == "xgboost":
            import xgboost as xgb

            cls = xgb.XGBClassifier if is_classification() else xgb.XGBRegressor
            model = cls(
                **owned_over(
                    params,
                    n_estimators=5000,
                    early_stopping_rounds=EARLY_STOPPING_ROUNDS,
                    enable_categorical=True,
                    tree_method="hist",
                    max_cat_to_onehot=8,
                    random_state=seed,
                    n_jobs=N_JOBS,
                )
            )
            model.fit(X_fit, y_fit, eval_set=[(X_stop, y_stop)], verbose=False)
        else:
            raise ValueError(f"unknown model family {family!r}")
    if not is_classification():
        return [model.predict(frame) for frame in X_eval]
    return [class_probabilities(model, frame, n_classes) for frame in X_eval]


def suggest_params(trial: Any, family: str) -> dict[str, Any]:
    """Optuna search space of each model family."""
    if family == "lightgbm":
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 7, 127, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 5, 100, log=True),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "subsample_freq": 1,
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        }
    if family == "xgboost":
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
            "max_depth": trial.suggest_int("max_depth", 2, 10),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 20.0, log=True),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        }
    if family == "hgb":
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
            "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 7, 127, log=True),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 5, 100, log=True),
            "l2_regularization": trial.suggest_float("l2_regularization", 1e-3, 10.0, log=True),
        }
    key = "C" if is_classification() else "alpha"
    return {key: trial.suggest_float(key, 1e-3, 1e2, log=True)}


# ---------------------------------------------------------------------------------------------
# Cross-validation, tuning, ensembling
# ---------------------------------------------------------------------------------------------
def folds(y: np.ndarray, groups: np.ndarray | None, seed: int) -> list[tuple[np.ndarray, ...]]:
    """K folds, stratified for classification, keeping groups whole when there are groups."""
    from sklearn import model_selection as ms

    k = RECIPE["folds"]
    if groups is not None:
        cls = ms.StratifiedGroupKFold if is_classification() else ms.GroupKFold
        splitter = cls(n_splits=k, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(y)), y, groups))
    cls = ms.StratifiedKFold if is_classification() else ms.KFold
    return list(cls(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def cross_validate(
    member: dict[str, Any],
    params: dict[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    X_test: pd.DataFrame | None,
    groups: np.ndarray | None,
    seed: int,
    n_classes: int,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Out-of-fold predictions on train and the fold models' mean prediction on test
    (None without a test frame, as when tuning)."""
    shape = (len(y), n_classes) if is_classification() else (len(y),)
    oof = np.zeros(shape)
    test_pred = None if X_test is None else np.zeros((len(X_test), *shape[1:]))
    splits = folds(y, groups, seed)
    for train_idx, valid_idx in splits:
        eval_frames = [X.iloc[valid_idx]] + ([] if X_test is None else [X_test])
        preds = fit_predict(
            member, params, X.iloc[train_idx], y[train_idx], eval_frames, seed, n_classes
        )
        oof[valid_idx] = preds[0]
        if test_pred is not None:
            test_pred += preds[1] / len(splits)
    return oof, test_pred


def tune(
    member: dict[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray | None,
    n_classes: int,
    deadline: float,
) -> dict[str, Any]:
    """Optuna search (seeded TPE, the starting parameters first) of up to `tune_trials` trials,
    stopped early enough for the recipe's seeds to be fitted before `deadline` (one Optuna
    trial costs about one seed's cross-validation)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name, direction = tuning_objective()
    started = elapsed()

    def objective(trial: Any) -> float:
        params = {**member["params"], **suggest_params(trial, member["family"])}
        oof, _ = cross_validate(member, params, X, y, None, groups, 0, n_classes)
        return metric(y, oof, name)

    def stop_in_time(study: Any, _trial: Any) -> None:
        per_trial = (elapsed() - started) / len(study.trials)
        if elapsed() + per_trial * (1 + len(RECIPE["seeds"])) > deadline:
            study.stop()

    sampler = optuna.samplers.TPESampler(seed=member.get("tune_seed", 0))
    study = optuna.create_study(direction=direction, sampler=sampler)
    study.enqueue_trial(member["params"])  # the starting parameters are the first trial
    study.optimize(objective, n_trials=member["tune_trials"], callbacks=[stop_in_time])
    best = {**member["params"], **study.best_params}
    if member["family"] == "lightgbm" and "subsample" in best:
        best["subsample_freq"] = 1
    print(f"tuned {member['family']} in {len(study.trials)} trials: {best}")
    return best


def blend_weights(y: np.ndarray, member_oofs: list[np.ndarray]) -> np.ndarray:
    """Weights of the members' out-of-fold predictions, by greedy ensemble selection with
    replacement (Caruana et al., 2004): BLEND_STEPS picks, each adding the member that most
    improves the tuning objective; a weight is a member's share of the picks. A weak member
    gets little or no weight instead of an equal share. The blend's OOF score is slightly
    optimistic (the weights are fitted on it); with a few members the bias is small next to
    fold noise."""
    name, direction = tuning_objective()
    sign = 1.0 if direction == "maximize" else -1.0
    picks = np.zeros(len(member_oofs))
    total = np.zeros_like(member_oofs[0])
    for step in range(1, BLEND_STEPS + 1):
        gains = [sign * metric(y, (total + oof) / step, name) for oof in member_oofs]
        best = int(np.argmax(gains))
        picks[best] += 1
        total += member_oofs[best]
    return picks / picks.sum()


def fit_target(
    y: np.ndarray,
    n_classes: int,
    frame: pd.DataFrame,
    profile: dict[str, Any],
    n_train: int,
    groups: np.ndarray | None,
    deadline: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Every member x seed of the recipe cross-validated; seeds averaged, members blended.

    Members share the time left until `deadline`; a seed is skipped when the previous seed's
    duration says it would overrun its member's share (the first cross-validation of each
    member that starts always runs).
    """
    features: dict[tuple[str, ...], pd.DataFrame] = {}
    member_oofs, member_tests = [], []
    members = RECIPE["members"]
    for m, member in enumerate(members):
        if member_oofs and elapsed() > deadline:
            print(f"time budget: skipping members from #{m}")
            break
        member_deadline = elapsed() + (deadline - elapsed()) / (len(members) - m)
        blocks = tuple(member["features"])
        if blocks not in features:
            features[blocks] = build_features(frame, profile, list(blocks))
        X, X_test = features[blocks].iloc[:n_train], features[blocks].iloc[n_train:]
        params = dict(member["params"])
        if member.get("tune_trials"):
            params = tune(member, X, y, groups, n_classes, member_deadline)
        params = model_params(member["family"], params)
        cv_seconds = 0.0
        seed_oofs, seed_tests = [], []
        for seed in [s + int(os.environ.get("GOME_SEED", 0)) for s in RECIPE["seeds"]]:
            if seed_oofs and elapsed() + cv_seconds > member_deadline:
                print(f"time budget: skipping seeds from {seed}")
                break
            started = elapsed()
            oof, test_pred = cross_validate(member, params, X, y, X_test, groups, seed, n_classes)
            cv_seconds = elapsed() - started
            seed_oofs.append(oof)
            seed_tests.append(test_pred)
            print(f"{member['family']} seed {seed}: {metric(y, oof, TASK['metric']):.5f}")
        member_oofs.append(np.mean(seed_oofs, axis=0))
        member_tests.append(np.mean(seed_tests, axis=0))
    weights = blend_weights(y, member_oofs) if len(member_oofs) > 1 else np.ones(1)
    if len(member_oofs) > 1:
        print(f"blend weights: {np.round(weights, 3).tolist()}")
    families = [member["family"] for member in members[: len(member_oofs)]]
    row_weights = test_row_weights(weights, families, frame, n_train)
    test = np.einsum("rm,mr...->r...", row_weights, np.stack(member_tests))
    return np.tensordot(weights, np.stack(member_oofs), axes=1), test


def test_row_weights(
    weights: np.ndarray, families: list[str], frame: pd.DataFrame, n_train: int
) -> np.ndarray:
    """(test rows, members) blend weights: the blend's own, except on rows with at least
    FAR_FEATURES numeric features beyond the training min..max, where the linear members
    (which extrapolate without bound) are left out if a bounded member has weight. Clipping
    each feature does not stop a linear model summing several maxed-out features into an
    absurd value; trees stay within the targets they saw."""
    n_test = len(frame) - n_train
    row_weights = np.tile(weights, (n_test, 1))
    bounded = np.array([family != "linear" for family in families], dtype=float)
    if len(weights) < 2 or (weights * bounded).sum() == 0 or bounded.all():
        return row_weights
    numeric = frame.select_dtypes("number").drop(columns=[TASK["id_column"]], errors="ignore")
    train, test = numeric.iloc[:n_train], numeric.iloc[n_train:]
    beyond = ((test < train.min()) | (test > train.max())).sum(axis=1).to_numpy()
    far = beyond >= FAR_FEATURES
    if far.any():
        row_weights[far] = weights * bounded / (weights * bounded).sum()
        print(f"{int(far.sum())} test rows beyond the training range: linear members left out")
    return row_weights


# ---------------------------------------------------------------------------------------------
# Targets and submission
# ---------------------------------------------------------------------------------------------
def train_targets(
    train: pd.DataFrame, test: pd.DataFrame, task: dict[str, Any] = TASK
) -> list[str]:
    """The target columns train.csv holds.

    Usually the spec's targets; but when the answers are one probability column per class
    while train.csv has a single label column (spooky, dog-breed, practice-hpc-jobs), the
    targets are the columns train has and test lacks.
    """
    if all(c in train.columns for c in task["target_columns"]):
        return list(task["target_columns"])
    return [c for c in train.columns if c not in test.columns and c != task["id_column"]]


def target_plan(train: pd.DataFrame, targets: list[str]) -> list[tuple[pd.Series, list[str]]]:
    """(training target, submission columns it fills) pairs.

    One target -> its label, or a probability per submission column; several one-hot target
    columns with probability output -> one multiclass target; otherwise one model per column.
    """
    outputs = [c for c in TASK["submission_columns"] if c != TASK["id_column"]]
    if len(targets) == 1:
        return [(train[targets[0]], outputs)]
    one_hot = train[targets].sum(axis=1).eq(1).all() and set(targets) == set(outputs)
    if TASK["output"] == "probability" and one_hot:
        return [(train[targets].idxmax(axis=1), targets)]
    return [(train[t], [t]) for t in targets]


def encode_target(target: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """(classes, y, n_classes) of a training target: class indices for classification; for
    regression no classes and y as floats (log1p'd when the task says so)."""
    if is_classification():
        classes, y = np.unique(target.to_numpy(), return_inverse=True)
        return classes, y, len(classes)
    y = target.to_numpy(dtype=float)
    return np.array([]), np.log1p(y) if TASK["log_target"] else y, 0


def to_submission(pred: np.ndarray, classes: np.ndarray, columns: list[str]) -> dict[str, Any]:
    """Test predictions as submission columns: labels, probabilities or values."""
    if not is_classification():
        return {columns[0]: np.expm1(pred) if TASK["log_target"] else pred}
    if TASK["output"] != "probability":
        return {columns[0]: classes[pred.argmax(axis=1)]}
    if len(columns) == 1:  # binary: probability of the positive (last sorted) class
        return {columns[0]: pred[:, -1]}
    by_name = {str(c): i for i, c in enumerate(classes)}
    if not set(columns) <= set(by_name):  # columns not named after classes: in class order
        by_name = {col: i for i, col in enumerate(columns)}
    return {col: pred[:, by_name[col]] for col in columns}


def cast(values: Any, dtype: str) -> pd.Series:
    values = pd.Series(values)
    if dtype == "bool":
        return values.astype(str).str.lower().eq("true") if values.dtype != bool else values
    if dtype == "int":
        return values.astype(float).round().astype(int)
    if dtype in ("float", "probability"):
        return values.astype(float)
    return values.astype(str)


def write_submission(sample: pd.DataFrame, test: pd.DataFrame, columns: dict[str, Any]) -> None:
    """The sample submission, in its row order, with our predictions in its columns."""
    id_col = TASK["id_column"]
    if id_col in test.columns and id_col in sample.columns:
        position = pd.Index(test[id_col].astype(str)).get_indexer(sample[id_col].astype(str))
        if (position < 0).any():
            raise ValueError("sample submission ids missing from test.csv")
    else:
        position = np.arange(len(sample))
    submission = sample.copy()
    for col, dtype in TASK["submission_columns"].items():
        if col != id_col:
            submission[col] = cast(np.asarray(columns[col])[position], dtype).to_numpy()
    submission.to_csv("submission.csv", index=False)


def main() -> None:
    # OpenMP threads of LightGBM / XGBoost / scikit-learn (read when they are first imported)
    os.environ["OMP_NUM_THREADS"] = str(N_JOBS)
    RECIPE.update(choose_recipe(copy.deepcopy(RECIPE)))
    train = pd.read_csv(INPUT / "train.csv")
    test = pd.read_csv(INPUT / "test.csv")
    sample = pd.read_csv(INPUT / TASK["sample_submission"])
    targets = train_targets(train, test)
    train = train.dropna(subset=targets).reset_index(drop=True)
    id_col = TASK["id_column"]
    # train and test features stacked: counts and categories see every row; no target is used
    frame = pd.concat(
        [train.drop(columns=targets), test.drop(columns=targets, errors="ignore")],
        ignore_index=True,
    )
    profile = profile_columns(frame, id_col)
    groups = None
    if RECIPE["group_cv"] and profile["group_key"]:
        split = profile["split"][profile["group_key"]]
        groups = split_parts(train[id_col], split["sep"], split["n_parts"])[0].to_numpy()
    scores, columns = [], {}
    plans = target_plan(train, targets)
    for i, (target, outputs) in enumerate(plans):
        deadline = elapsed() + (TIME_BUDGET_S - elapsed()) / (len(plans) - i)
        classes, y, n_classes = encode_target(target)
        oof, test_pred = fit_target(y, n_classes, frame, profile, len(train), groups, deadline)
        scores.append(metric(y, oof, TASK["metric"]))
        columns.update(to_submission(test_pred, classes, outputs))
    write_submission(sample, test, columns)
    print(f"elapsed: {elapsed():.1f}s")
    print(f"validation_score: {float(np.mean(scores)):.6f}")


if __name__ == "__main__":
    main()
