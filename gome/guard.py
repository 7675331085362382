"""The generalisation guard: public train rows that no trial optimises against.

A script's validation score is its own measurement, and the best of many of them is partly
luck and partly fitted to the script's own split. The guard holds out a seeded slice of the
public train rows before any trial runs, and the harness, not the agent, scores every trial
on it with the competition's own metric:

- `<run>/guarded_input/` is the data every trial gets as `./input`: `train.csv` without the
  guard rows; `test.csv` with the guard rows' features (target columns removed) shuffled in
  among the test rows; the sample submission extended with the guard ids, in test order when
  the original sample follows test order (appended in test order otherwise); every other
  public file symlinked (the runner mounts the link targets). A script predicts the guard rows
  like any test row and never sees their labels.
- `<run>/guard/answers.csv` (0600 in a 0700 folder) holds the guard labels. The sandbox mounts
  only the view and the trial folder, neither of which holds them, so no script can read them.
- After a trial, `Guard.separate` keeps the script's file as `submission_with_guard.csv` and
  writes the real submission (guard rows out, in the original sample's order) as
  `submission.csv`: that one is validated, promoted and graded. `Guard.score` scores the guard
  rows (`Trial.guard_score`, with its bootstrap standard error `Trial.guard_se`).

The view is rebuilt the same way (seeded) when a run resumes. The guard is off, with a
one-line reason, wherever a CSV view cannot stand in for the data: a missing or non-CSV
train/test/sample file, folders of files the rows refer to (images, audio), ids missing or
not unique, targets absent from train.csv, or too few train rows left.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from gome.competitions import Competition
from gome.direction import Direction
from gome.errors import GomeError, InvalidSubmissionError
from gome.grading import align_submission, load_submission, typed_ids
from gome.metrics import METRICS

VIEW_DIR = "guarded_input"
STATE_DIR = "guard"
ANSWERS_FILE = "answers.csv"
RAW_SUBMISSION = "submission_with_guard.csv"
TRAIN_FILE = "train.csv"
TEST_FILE = "test.csv"
DEFAULT_FRACTION = 0.1
MIN_TRAIN_ROWS = 100
# Beyond this many rows the guard's noise is negligible, while every trial would have to
# predict them all; large training sets are not copied into each run at all.
MAX_GUARD_ROWS = 20_000
MAX_TRAIN_BYTES = 1024**3
BOOTSTRAP_SAMPLES = 200
GUARD_Z = 2.0
# The journal flag (and acceptance reason) of a trial whose validation gain did not carry over
# to the guard; it carries no number, since flags and reasons reach prompts.
GUARD_REGRESSION = "guard-regression: the validation gain did not carry over to held-out rows"
# A script's own validation score better than its guard score by more than GAP_Z standard
# errors and GAP_RELATIVE of the guard score: the script validated on rows it trained on, or on
# leaked information. Both bounds must hold (see `validation_gap`).
GAP_Z = 4.0
GAP_RELATIVE = 0.1
VALIDATION_GAP = (
    "validation-gap: the script's own validation score is far better than held-out rows "
    "confirm (train/validation overlap or leakage)"
)
# metrics whose answers are class labels or class probabilities: the guard is stratified
_CLASSIFICATION_METRICS = frozenset(
    {
        "accuracy",
        "roc_auc",
        "mean_column_roc_auc",
        "log_loss",
        "multiclass_log_loss",
        "quadratic_weighted_kappa",
    }
)


class _GuardOff(Exception):
    """The guard cannot work for this competition; the message says why."""


@dataclass(frozen=True)
class GuardScore:
    score: float
    se: float  # bootstrap standard error over the guard rows


def guard_regressed(
    candidate: float | None,
    candidate_se: float | None,
    incumbent: float | None,
    incumbent_se: float | None,
    direction: Direction,
) -> bool:
    """Whether a guard score is worse than the incumbent's by more than the guard's noise.

    The tolerance is `GUARD_Z` (2) standard errors of the difference of two independent guard
    scores, sqrt(se_c² + se_i²), each se a bootstrap over the guard rows: a drop beyond it is
    significant at about the 2 % level (one-sided), so a validation gain is vetoed only on
    strong evidence that it did not carry over, never for resampling noise (on a small guard,
    one row more or less wrong). The two scores share their rows and are positively
    correlated, so the real noise of the difference is smaller and the check errs towards
    letting the validation score decide; computing it from journaled numbers alone lets
    acceptance apply it without reading files. A missing score never regresses.
    """
    if candidate is None or incumbent is None:
        return False
    tolerance = GUARD_Z * math.hypot(candidate_se or 0.0, incumbent_se or 0.0)
    return direction.is_better(incumbent, candidate) and abs(incumbent - candidate) > tolerance


def validation_gap(
    validation: float | None,
    guard: float | None,
    guard_se: float | None,
    direction: Direction,
) -> bool:
    """Whether a script's validation score claims far more than its guard score confirms.

    An honest split estimates the same generalisation as the guard rows, so the two differ
    by noise and by the script's own split (a CV mean on 90 % of the rows against one small
    slice); a script that scores rows it trained on (train/validation overlap, target leakage
    in features, a wrong merge) reports a score that no held-out row supports. The gap is
    severe only beyond `GAP_Z` (4) bootstrap standard errors of the guard score *and*
    `GAP_RELATIVE` (10 %) of it: the first rules out a small guard's noise, the second a
    systematic but honest difference on a large guard (an accuracy of 0.81 against 0.79).
    A validation score worse than the guard is never severe. Missing numbers never are.
    """
    if validation is None or guard is None or guard_se is None:
        return False
    if not direction.is_better(validation, guard):
        return False
    gap = abs(validation - guard)
    return gap > GAP_Z * guard_se and gap > GAP_RELATIVE * abs(guard)


def _read_text_csv(path: Path) -> pd.DataFrame:
    """Every cell verbatim as text (no NA parsing), so written back it is unchanged."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.columns = [str(name).strip() for name in frame.columns]
    return frame


def _write_csv(frame: pd.DataFrame, path: Path, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".tmp")
    frame.to_csv(tmp, index=False)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Guard:
    """A built guarded view and what scoring it needs."""

    competition: Competition
    view_dir: Path
    answers: pd.DataFrame  # id + target columns of the guard rows, as the grader reads answers
    guard_ids: pd.Index  # typed ids of the guard rows
    sample_ids: pd.Index  # typed ids of the original sample submission, in its order
    description: str

    def separate(self, submission: Path) -> None:
        """Keep the script's file as `RAW_SUBMISSION`; write the real submission in its place.

        The real one is the file without the guard rows, its rows in the original sample's
        order (unknown ids last, for the validator to name). A file that cannot be read, or
        holds no guard row, is left as it is for the validator to judge.
        """
        try:
            frame = _read_text_csv(submission)
            ids = typed_ids(self.competition, frame[self.competition.id_column])
        except (OSError, ValueError, KeyError, InvalidSubmissionError):
            return
        is_guard = ids.isin(self.guard_ids).to_numpy()
        if not is_guard.any():
            return
        position = self.sample_ids.get_indexer(ids[~is_guard])
        order = np.argsort(np.where(position < 0, len(self.sample_ids), position), kind="stable")
        os.replace(submission, submission.with_name(RAW_SUBMISSION))
        _write_csv(frame[~is_guard].iloc[order], submission)

    def score(self, trial_dir: Path) -> GuardScore:
        """The competition metric on the guard rows of a trial's submission.

        Raises `InvalidSubmissionError` with the reason when there is none (no guard rows,
        missing or invalid values).
        """
        comp = self.competition
        raw = trial_dir / RAW_SUBMISSION
        if not raw.is_file():
            raise InvalidSubmissionError("the submission has no guard rows")
        submission = load_submission(raw, comp.submission_columns)
        ids = typed_ids(comp, submission[comp.id_column])
        rows = submission[ids.isin(self.guard_ids).to_numpy()]
        truth, predicted = align_submission(comp, rows, self.answers)
        metric = METRICS[comp.metric]
        try:
            score = metric(truth, predicted, comp.target_columns, comp.metric_params)
        except ValueError as exc:  # e.g. ROC AUC of a single class
            raise InvalidSubmissionError(f"{metric.name} is undefined on the guard: {exc}") from exc
        if not math.isfinite(score):
            raise InvalidSubmissionError(f"{metric.name} is not finite on the guard rows")
        return GuardScore(score, self._bootstrap_se(truth, predicted))

    def _bootstrap_se(self, truth: pd.DataFrame, predicted: pd.DataFrame) -> float:
        """Standard deviation of the metric over row resamples (seeded: reproducible)."""
        comp = self.competition
        metric = METRICS[comp.metric]
        rng = np.random.default_rng(0)
        scores = []
        for _ in range(BOOTSTRAP_SAMPLES):
            rows = rng.integers(0, len(truth), len(truth))
            try:
                value = metric(
                    truth.iloc[rows].reset_index(drop=True),
                    predicted.iloc[rows].reset_index(drop=True),
                    comp.target_columns,
                    comp.metric_params,
                )
            except (GomeError, ValueError):  # a resample the metric is undefined on
                continue
            if math.isfinite(value):
                scores.append(value)
        return float(np.std(scores, ddof=1)) if len(scores) >= 2 else 0.0


def build_guard(
    competition: Competition, public_dir: Path, run_dir: Path, fraction: float, seed: int
) -> tuple[Guard | None, str]:
    """The run's guarded view (built afresh, identically, in every session), or None when the
    guard is off; and a one-line description for the run log."""
    if fraction <= 0:
        return None, "guard off: --guard-fraction 0"
    try:
        guard = _build(competition, Path(public_dir), Path(run_dir), fraction, seed)
    except _GuardOff as off:
        return None, f"guard off: {off}"
    return guard, guard.description


def _labels(
    comp: Competition, train: pd.DataFrame, test: pd.DataFrame
) -> tuple[pd.DataFrame, pd.Series, pd.Series | None]:
    """(answers for every train row, which rows are labelled, labels to stratify on or None).

    The answers are the spec's target columns; a train file that has instead one label column
    whose values name the target columns (class probabilities to submit) is one-hot encoded.
    """
    id_col, targets = comp.id_column, comp.target_columns
    classification = comp.metric in _CLASSIFICATION_METRICS
    if all(t in train.columns for t in targets):
        labelled = train[targets].ne("").all(axis=1)
        strata = train[targets[0]] if classification and len(targets) == 1 else None
        return train[[id_col, *targets]], labelled, strata
    for column in [c for c in train.columns if c not in test.columns and c != id_col]:
        values = train[column]
        if set(values.unique()) - {""} <= set(targets):
            onehot = {t: (values == t).astype(int).astype(str) for t in targets}
            return pd.DataFrame({id_col: train[id_col], **onehot}), values.ne(""), values
    missing = [t for t in targets if t not in train.columns]
    raise _GuardOff(f"train.csv lacks the target column(s) {', '.join(missing[:3])}")


def _draw(
    candidates: np.ndarray, strata: pd.Series | None, size: int, seed: int
) -> tuple[np.ndarray, bool]:
    """Positions of the guard rows among `candidates`, and whether they are stratified."""
    if strata is not None:
        try:
            _, held = train_test_split(
                candidates,
                test_size=size,
                random_state=seed,
                stratify=strata.to_numpy()[candidates],
            )
            return np.sort(held), True
        except ValueError:  # a class too rare to split
            pass
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(candidates, size=size, replace=False)), False


def _read_public(public_dir: Path, name: str) -> pd.DataFrame:
    try:
        return _read_text_csv(public_dir / name)
    except (OSError, ValueError) as exc:
        raise _GuardOff(f"{name} cannot be read as CSV ({type(exc).__name__})") from exc


def _check_public(comp: Competition, public_dir: Path) -> None:
    names = (TRAIN_FILE, TEST_FILE, comp.sample_submission_file)
    for name in names:
        if not name.lower().endswith(".csv") or not (public_dir / name).is_file():
            raise _GuardOff(f"the public data has no {name} as a plain CSV file")
    folders = sorted(p.name for p in public_dir.iterdir() if p.is_dir())
    if folders:
        raise _GuardOff(f"the public data has folders ({', '.join(folders[:3])}) its rows refer to")
    size = (public_dir / TRAIN_FILE).stat().st_size
    if size > MAX_TRAIN_BYTES:
        raise _GuardOff(f"train.csv is {size / 1024**3:.1f} GiB, too large to copy into a run")


def _build(comp: Competition, public_dir: Path, run_dir: Path, fraction: float, seed: int) -> Guard:
    _check_public(comp, public_dir)
    id_col, sample_name = comp.id_column, comp.sample_submission_file
    train, test, sample = (
        _read_public(public_dir, n) for n in (TRAIN_FILE, TEST_FILE, sample_name)
    )
    for name, frame in ((TRAIN_FILE, train), (TEST_FILE, test), (sample_name, sample)):
        if id_col not in frame.columns:
            raise _GuardOff(f"the id column {id_col!r} is missing from {name}")
        if not frame[id_col].is_unique:
            raise _GuardOff(f"the ids in {name} are not unique")
    if sample.empty:
        raise _GuardOff(f"{sample_name} has no rows")
    if train[id_col].isin(test[id_col]).any():
        raise _GuardOff("train.csv and test.csv share ids")
    try:
        train_ids = typed_ids(comp, train[id_col])
        sample_ids = pd.Index(typed_ids(comp, sample[id_col]))
    except InvalidSubmissionError as exc:
        raise _GuardOff(f"the ids do not fit the spec's id type ({exc})") from exc
    absent = [c for c in test.columns if c not in train.columns]
    if absent:
        raise _GuardOff(f"test.csv has column(s) train.csv lacks: {', '.join(absent[:3])}")
    answers, labelled, strata = _labels(comp, train, test)
    candidates = np.flatnonzero(labelled.to_numpy())
    size = min(MAX_GUARD_ROWS, round(fraction * len(candidates)))
    if size < 1 or len(train) - size < MIN_TRAIN_ROWS:
        raise _GuardOff(
            f"holding out {size} of {len(train)} train rows would leave fewer than "
            f"{MIN_TRAIN_ROWS} to train on"
        )
    held, stratified = _draw(candidates, strata, size, seed)
    rng = np.random.default_rng(seed)
    held = held[rng.permutation(len(held))]  # guard rows in a random order, not train's
    # the guard rows' features interleaved at random positions; test rows keep their order
    total = len(test) + size
    at_guard = np.zeros(total, dtype=bool)
    at_guard[rng.choice(total, size=size, replace=False)] = True
    order = np.empty(total, dtype=int)
    order[~at_guard] = np.arange(len(test))
    order[at_guard] = len(test) + np.arange(size)
    guard_rows = train.iloc[held]
    new_test = pd.concat([test, guard_rows[list(test.columns)]], ignore_index=True).iloc[order]
    placeholders = pd.DataFrame({c: [sample[c].iloc[0]] * size for c in sample.columns}).assign(
        **{id_col: guard_rows[id_col].to_numpy()}
    )
    extended = pd.concat([sample, placeholders], ignore_index=True)
    if sample[id_col].tolist() == test[id_col].tolist():
        extended = extended.iloc[order]

    view = run_dir / VIEW_DIR
    staging = run_dir / (VIEW_DIR + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    os.chmod(staging, 0o755)  # the sandbox uid reads it
    _write_csv(train.drop(index=train.index[held]), staging / TRAIN_FILE)
    _write_csv(new_test, staging / TEST_FILE)
    _write_csv(extended, staging / sample_name)
    for entry in sorted(public_dir.iterdir()):
        if entry.name not in (TRAIN_FILE, TEST_FILE, sample_name):
            (staging / entry.name).symlink_to(entry.resolve())
    shutil.rmtree(view, ignore_errors=True)
    os.replace(staging, view)

    state = run_dir / STATE_DIR
    state.mkdir(exist_ok=True)
    os.chmod(state, 0o700)
    answers_path = state / ANSWERS_FILE
    _write_csv(answers.iloc[held], answers_path, mode=0o600)
    typed_answers = load_submission(
        answers_path, comp.submission_columns, columns={id_col, *comp.target_columns}
    )
    how = f"stratified on {strata.name}" if stratified and strata is not None else "random"
    description = (
        f"guard on: {size} of {len(train)} train rows held out ({how}, seed {seed}); "
        f"trials read {view}, the guard labels stay in {answers_path}"
    )
    guard_ids = pd.Index(train_ids.iloc[held])
    return Guard(comp, view, typed_answers, guard_ids, sample_ids, description)
