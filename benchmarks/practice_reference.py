"""Reference scores of the practice competitions: LightGBM with default parameters.

Practice competitions have no Kaggle leaderboard, so this gives users a number to read in place
of medal thresholds. For each practice competition: prepare its data, run 5-fold CV on the
public train split, then fit on the whole public train split and score the private test split.
Text columns become pandas categories (LightGBM's native categorical handling); nothing else
is engineered. Regression under RMSLE fits log1p(target), the usual metric-matched choice.
Threads are fixed (`N_JOBS`) so the scores reproduce exactly. Scores come from gome's grader.

    .venv/bin/python benchmarks/practice_reference.py [--data-dir DIR] [IDS ...]

prints one line per competition and writes `benchmarks/results/practice_reference.json`; the
`test_score` values are the `reference_score` of each `competition.yaml`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

from gome.competitions import Competition, list_competitions, load_competition
from gome.grading import load_answers, score_submission
from gome.prepare import prepare_competition, preparer_params
from gome.preparers.csv_split import one_hot

N_JOBS = 2
N_FOLDS = 5
SEED = 0
RESULTS = Path(__file__).resolve().parent / "results" / "practice_reference.json"

# What the model must predict for each metric of the practice competitions.
TASKS = {
    "accuracy": "label",
    "roc_auc": "positive_probability",
    "multiclass_log_loss": "class_probabilities",
    "rmse": "value",
    "mean_column_rmsle": "log_value",
}
REGRESSION = ("value", "log_value")


def label_column(comp: Competition) -> str:
    """The public train's label column (differs from the answer columns for one-hot answers)."""
    columns = preparer_params(comp)["target_columns"]
    if len(columns) != 1:
        raise ValueError(f"{comp.id}: the reference model handles one label column")
    return columns[0]


def as_features(frame: pd.DataFrame, categories: dict[str, pd.Index] | None = None) -> pd.DataFrame:
    """Text columns as pandas categories; `categories` (from train) fixes their codes on test,
    where a value unseen in train becomes missing."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_string_dtype(out[column]):
            continue
        values = out[column]
        if categories is None:
            out[column] = pd.Categorical(values)
        else:
            known = categories[column]
            out[column] = pd.Categorical(values.where(values.isin(known)), categories=known)
    return out


def predict_submission(comp: Competition, train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """Fit default LightGBM on `train` and return a submission for the rows of `test`."""
    task, label = TASKS[comp.metric], label_column(comp)
    x_train = as_features(train.drop(columns=[comp.id_column, label]))
    categories = {c: x_train[c].cat.categories for c in x_train if x_train[c].dtype == "category"}
    x_test = as_features(test[x_train.columns], categories)
    y_train = train[label]
    common = {"random_state": SEED, "n_jobs": N_JOBS, "verbose": -1}
    submission = test[[comp.id_column]].reset_index(drop=True)
    if task in REGRESSION:
        target = np.log1p(y_train) if task == "log_value" else y_train
        pred = lgb.LGBMRegressor(**common).fit(x_train, target).predict(x_test)
        submission[label] = np.expm1(pred).clip(min=0) if task == "log_value" else pred
        return submission
    model = lgb.LGBMClassifier(**common).fit(x_train, y_train)
    if task == "label":
        submission[label] = model.predict(x_test)
        return submission
    proba = model.predict_proba(x_test)
    if task == "positive_probability":
        submission[label] = proba[:, list(model.classes_).index(1)]
        return submission
    for cls in comp.target_columns:
        submission[cls] = proba[:, list(model.classes_).index(cls)]
    return submission


def answers_of(comp: Competition, rows: pd.DataFrame) -> pd.DataFrame:
    """Labelled public rows in the private answers' form (one-hot where the spec says so)."""
    spec = comp.split.params.get("answers_one_hot")
    if spec:
        return one_hot(rows, comp.id_column, spec["column"], list(spec["classes"]))
    return rows[[comp.id_column, *comp.target_columns]]


def reference_score(comp: Competition, data_dir: Path | str | None = None) -> dict[str, Any]:
    """Prepare `comp` if needed, then its CV and private-test scores (see module doc).

    Every score comes from `gome.grading.score_submission`, the grader users get.
    """
    prepare_competition(comp, data_dir=data_dir, source="practice")
    started = time.perf_counter()
    train = pd.read_csv(comp.public_dir(data_dir) / "train.csv")
    test = pd.read_csv(comp.public_dir(data_dir) / "test.csv")

    label = train[label_column(comp)]
    classify = TASKS[comp.metric] not in REGRESSION
    folds = (StratifiedKFold if classify else KFold)(N_FOLDS, shuffle=True, random_state=SEED)
    cv = []
    for fit, hold in folds.split(train, label if classify else None):
        held_out = train.iloc[hold]
        submission = predict_submission(comp, train.iloc[fit], held_out)
        cv.append(score_submission(comp, submission, answers_of(comp, held_out)))
    submission = predict_submission(comp, train, test)
    test_score = score_submission(comp, submission, load_answers(comp, data_dir))
    return {
        "metric": comp.metric,
        "higher_is_better": comp.higher_is_better,
        "cv_mean": round(float(np.mean(cv)), 6),
        "cv_std": round(float(np.std(cv)), 6),
        "test_score": round(test_score, 6),
        "n_train": len(train),
        "n_test": len(test),
        "seconds": round(time.perf_counter() - started, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ids", nargs="*", help="practice competition ids (default: all)")
    parser.add_argument("--data-dir", default=None, help="data root (default: gome's)")
    args = parser.parse_args()
    comps = (
        [load_competition(cid) for cid in args.ids]
        if args.ids
        else [c for c in list_competitions() if c.is_practice]
    )
    scores = {}
    for comp in comps:
        scores[comp.id] = reference_score(comp, args.data_dir)
        row = scores[comp.id]
        print(
            f"{comp.id:28s} {comp.metric:20s} cv {row['cv_mean']:.4f} ± {row['cv_std']:.4f}"
            f"  test {row['test_score']:.4f}  ({row['n_train']}/{row['n_test']} rows)"
        )
    if RESULTS.is_file():  # a run on some ids keeps the others' scores
        scores = {**json.loads(RESULTS.read_text(encoding="utf-8"))["scores"], **scores}
    report = {"lightgbm": lgb.__version__, "n_jobs": N_JOBS, "folds": N_FOLDS, "scores": scores}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
