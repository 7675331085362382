"""Grading: read and validate `submission.csv`, score it, award medals, write reports.

The rules are MLE-bench's (`shared/mlebench/PREPARE.md`, "Common rules"): thresholds come from
the Kaggle leaderboard by the Kaggle progression, scores are rounded to 5 places before medals
are decided, only the best medal earned is true, a medal needs a tie or better, `above_median`
needs strictly better, and the report has MLE-bench's fields. Where MLE-bench's graders are loose
(bare asserts, rows matched by position, extra columns ignored), gome is strict and explains:

- rows are matched **by id**, never by position; row order does not matter;
- the columns must be exactly the spec's `submission_columns` (any order); header names are
  stripped of surrounding whitespace and a UTF-8 byte-order mark is ignored;
- every id of the answers must appear exactly once, and no other id;
- values must fit the declared type (`int`, `float`, `bool`, `str`, `probability` in [0, 1]):
  no blanks, NaN or infinities in numeric columns; `str` columns are read verbatim (no NA
  parsing, so a token "NA" stays "NA").

Every problem raises one `InvalidSubmissionError` with a one-line message; missing answers raise
`DataNotPreparedError` naming `gome prepare <id>`. During a search an agent only ever gets
`validate_submission`'s verdict, never a score.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gome.competitions import Competition, load_competition
from gome.errors import (
    CompetitionConfigError,
    DataNotPreparedError,
    GomeError,
    InvalidSubmissionError,
)
from gome.metrics import METRICS, Direction

SCORE_DECIMALS = 5  # MLE-bench rounds scores with round(score, 5) before deciding medals
_EXAMPLES = 3  # how many offending values an error message quotes
_EXAMPLE_CHARS = 40  # ids can be long (the insults competition keys rows by comment text)
_SNIFF_BYTES = 1 << 20
_MISSING_TEXT = frozenset({"", "nan", "-nan", "na", "n/a", "null", "none", "<na>"})
_TRUE_TEXT = frozenset({"true", "1", "1.0"})
_FALSE_TEXT = frozenset({"false", "0", "0.0"})


# == medal thresholds ===========================================================================
@dataclass(frozen=True)
class Medals:
    """The medals one score earns."""

    gold: bool = False
    silver: bool = False
    bronze: bool = False
    above_median: bool = False

    @property
    def any(self) -> bool:
        return self.gold or self.silver or self.bronze


@dataclass(frozen=True)
class MedalThresholds:
    """Scores needed for each medal; all None for a practice competition (no leaderboard)."""

    gold: float | None
    silver: float | None
    bronze: float | None
    median: float | None
    direction: Direction

    @property
    def has_leaderboard(self) -> bool:
        return self.gold is not None

    def as_dict(self) -> dict[str, float | None]:
        return {
            "gold": self.gold,
            "silver": self.silver,
            "bronze": self.bronze,
            "median": self.median,
        }

    def award(self, score: float | None) -> Medals:
        """Medals for a (rounded) score: only the best one earned is true."""
        if score is None or not self.has_leaderboard:
            return Medals()
        beats = self.direction.ties_or_beats
        gold = beats(score, self.gold)
        silver = not gold and beats(score, self.silver)
        bronze = not (gold or silver) and beats(score, self.bronze)
        return Medals(gold, silver, bronze, self.direction.is_better(score, self.median))


def _medal_rows(n: int) -> tuple[int, int, int]:
    """1-based leaderboard rows of the gold, silver and bronze thresholds (Kaggle progression)."""
    if n < 100:
        return max(1, n // 10), max(1, n // 5), max(1, 2 * n // 5)
    if n < 250:
        return 10, max(1, n // 5), max(1, 2 * n // 5)
    if n < 1000:
        return 10 + n // 500, 50, 100
    return 10 + n // 500, max(1, n // 20), max(1, n // 10)


def thresholds_from_scores(scores: Sequence[float] | pd.Series) -> MedalThresholds:
    """Thresholds of a leaderboard given as its scores, best first.

    The direction is read from the order (lower is better when the first score is lower than
    the last), the median is pandas' median of all scores.
    """
    scores = pd.Series(scores, dtype=np.float64).reset_index(drop=True)
    if scores.empty or scores.isna().any():
        raise CompetitionConfigError("a leaderboard needs at least one score and no blank scores")
    gold, silver, bronze = (float(scores.iloc[row - 1]) for row in _medal_rows(len(scores)))
    direction = Direction.of(not scores.iloc[0] < scores.iloc[-1])
    return MedalThresholds(gold, silver, bronze, float(scores.median()), direction)


def competition_thresholds(comp: Competition) -> MedalThresholds:
    """Thresholds from the competition's `leaderboard.csv`; None-valued for practice ones."""
    if comp.is_practice:
        return MedalThresholds(None, None, None, None, Direction.of(comp.higher_is_better))
    path = comp.leaderboard_path
    if not path.is_file():
        raise CompetitionConfigError(f"{comp.id}: leaderboard.csv is missing ({path})")
    return thresholds_from_scores(pd.read_csv(path)["score"])


def medal_thresholds(competition_id: str) -> dict[str, float | None]:
    """{gold, silver, bronze, median} for a competition id (None values for practice ones)."""
    return competition_thresholds(load_competition(competition_id)).as_dict()


# == reading CSV files ==========================================================================
def _examples(values: Iterable[Any]) -> str:
    """The first few values, quoted and shortened, for a one-line message."""
    shown = []
    for value in itertools.islice(values, _EXAMPLES):
        text = repr(value.item() if isinstance(value, np.generic) else value)
        shown.append(text if len(text) <= _EXAMPLE_CHARS else text[: _EXAMPLE_CHARS - 3] + "...")
    return ", ".join(shown)


def _header(path: Path) -> list[str]:
    """The raw header names, after checking the file is non-empty UTF-8 text."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if not head:
        raise InvalidSubmissionError(f"{path.name} is empty (0 bytes)")
    if b"\x00" in head:
        raise InvalidSubmissionError(f"{path.name} is not a CSV text file (it holds binary data)")
    first_line = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidSubmissionError(f"{path.name} is not UTF-8 text ({exc.reason})") from exc
    names = next(csv.reader(io.StringIO(text)), [])
    if not any(name.strip() for name in names):
        raise InvalidSubmissionError(f"{path.name} has no header line with column names")
    return names


def load_submission(
    path: Path | str,
    dtypes: Mapping[str, str] | None = None,
    columns: Collection[str] | None = None,
) -> pd.DataFrame:
    """Read a submission (or answers) CSV with clear one-line errors.

    `dtypes` maps column names to the spec's submission types; columns declared `str` are read
    verbatim as text. `columns`, when given, limits reading to those of them the file has.
    Header names are stripped of whitespace; a byte-order mark is ignored. Values are not
    checked here (see `score_submission`).
    """
    path = Path(path)
    raw_names = _header(path)
    names = [name.strip() for name in raw_names]
    for position, name in enumerate(names, start=1):
        if not name:
            raise InvalidSubmissionError(
                f"{path.name}: column {position} has no name; was the DataFrame index written? "
                "Use to_csv(index=False)"
            )
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise InvalidSubmissionError(
            f"{path.name}: duplicated column name(s) {_examples(duplicated)}"
        )
    kept = list(zip(raw_names, names, strict=True))
    if columns is not None:
        kept = [(raw, name) for raw, name in kept if name in columns]
    text_columns = {raw: str for raw, name in kept if (dtypes or {}).get(name) == "str"}
    try:
        frame = pd.read_csv(
            path,
            encoding="utf-8-sig",
            usecols=[raw for raw, _ in kept] if columns is not None else None,
            dtype=text_columns,
            keep_default_na=False,
            low_memory=False,
        )
    except UnicodeDecodeError as exc:
        raise InvalidSubmissionError(f"{path.name} is not UTF-8 text ({exc.reason})") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidSubmissionError(f"{path.name} could not be parsed as CSV: {detail}") from exc
    if len(frame.columns) != len(kept):
        raise InvalidSubmissionError(
            f"{path.name} could not be parsed as CSV: the header has {len(names)} columns "
            f"but rows have {len(frame.columns)}"
        )
    frame.columns = [name for _, name in kept]
    return frame


# == checking a submission against the answers =================================================
def _numbers(values: pd.Series, column: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=np.float64)
    else:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        unparsed = values[np.isnan(numbers)]
        non_numeric = unparsed[~unparsed.astype(str).str.strip().str.lower().isin(_MISSING_TEXT)]
        if len(non_numeric):
            raise InvalidSubmissionError(
                f"column {column!r} must hold numbers; {len(non_numeric)} value(s) do not, "
                f"e.g. {_examples(non_numeric)}"
            )
    missing = int(np.isnan(numbers).sum())
    if missing:
        raise InvalidSubmissionError(f"column {column!r} has {missing} blank or NaN value(s)")
    infinite = int(np.isinf(numbers).sum())
    if infinite:
        raise InvalidSubmissionError(f"column {column!r} has {infinite} infinite value(s)")
    return numbers


def _booleans(values: pd.Series, column: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype(bool)
    text = values.astype(str).str.strip().str.lower()
    known = text.isin(_TRUE_TEXT | _FALSE_TEXT)
    if not known.all():
        raise InvalidSubmissionError(
            f"column {column!r} must hold True or False; {int((~known).sum())} value(s) do not, "
            f"e.g. {_examples(values[~known])}"
        )
    return text.isin(_TRUE_TEXT)


def _coerce(values: pd.Series, dtype: str, column: str, *, check_range: bool) -> pd.Series:
    """`values` converted to the declared submission type; raises on any value that does not fit.

    `check_range` is off for answers, whose probability columns may hold Kaggle's -1 markers.
    """
    if dtype == "str":
        return values.astype(str)
    if dtype == "bool":
        return _booleans(values, column)
    numbers = _numbers(values, column)
    if dtype == "int":
        fractional = numbers != np.round(numbers)
        if fractional.any():
            raise InvalidSubmissionError(
                f"column {column!r} must hold integers; {int(fractional.sum())} value(s) do not, "
                f"e.g. {_examples(numbers[fractional])}"
            )
        return pd.Series(numbers.astype(np.int64), index=values.index)
    if dtype == "probability" and check_range:
        outside = (numbers < 0) | (numbers > 1)
        if outside.any():
            raise InvalidSubmissionError(
                f"column {column!r} holds probabilities, but {int(outside.sum())} value(s) are "
                f"outside [0, 1] (min {numbers.min():.6g}, max {numbers.max():.6g})"
            )
    return pd.Series(numbers, index=values.index)


def _check_columns(comp: Competition, submission: pd.DataFrame) -> None:
    expected = list(comp.submission_columns)
    missing = [c for c in expected if c not in submission.columns]
    extra = [c for c in submission.columns if c not in comp.submission_columns]
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"missing column(s) {_examples(missing)}")
        if extra:
            problems.append(f"unexpected column(s) {_examples(extra)}")
        raise InvalidSubmissionError(
            f"submission has {' and '.join(problems)}; expected exactly: {', '.join(expected)}"
        )


def _occurrence_keys(ids: pd.Series) -> pd.MultiIndex:
    """(id, how many times it appeared before): unique keys for ids that repeat."""
    return pd.MultiIndex.from_arrays([ids, ids.groupby(ids, sort=False).cumcount()])


def _align(answers: pd.DataFrame, submission: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """The submission's rows in the answers' row order, matched by id.

    Answer ids are unique in every competition but the insults one, whose id is the comment
    text; if the answers repeat an id, its copies are paired in order of appearance.
    """
    counts = f"(submission has {len(submission)} rows, answers {len(answers)})"
    if submission.empty:
        raise InvalidSubmissionError(f"submission has no rows {counts}")
    answer_ids, sub_ids = answers[id_column], submission[id_column]
    sub_index = pd.Index(sub_ids)  # one hash table serves the uniqueness check and the lookup
    if sub_index.is_unique:
        positions = sub_index.get_indexer(answer_ids)
        found = positions[positions >= 0]
        repeated = bool(np.bincount(found).max(initial=0) > 1)  # answers hold an id twice
    else:
        repeated = not answer_ids.is_unique
        if not repeated:
            duplicated = sub_ids[sub_ids.duplicated()]
            raise InvalidSubmissionError(
                f"{len(duplicated)} duplicated id(s) in column {id_column!r}, "
                f"e.g. {_examples(duplicated.unique())} {counts}"
            )
    if repeated:
        positions = _occurrence_keys(sub_ids).get_indexer(_occurrence_keys(answer_ids))
    missing = positions < 0
    if missing.any():
        raise InvalidSubmissionError(
            f"{int(missing.sum())} id(s) of the answers are missing from the submission, "
            f"e.g. {_examples(answers[id_column][missing])} {counts}"
        )
    if len(submission) > len(answers):
        matched = np.zeros(len(submission), dtype=bool)
        matched[positions] = True
        raise InvalidSubmissionError(
            f"{int((~matched).sum())} id(s) of the submission are not in the answers, "
            f"e.g. {_examples(sub_ids[~matched])} {counts}"
        )
    return submission.iloc[positions].reset_index(drop=True)


def _typed(
    frame: pd.DataFrame, comp: Competition, columns: Sequence[str], *, strict: bool
) -> pd.DataFrame:
    return pd.DataFrame(
        {c: _coerce(frame[c], comp.submission_columns[c], c, check_range=strict) for c in columns}
    )


def _typed_answers(comp: Competition, answers: pd.DataFrame) -> pd.DataFrame:
    columns = [comp.id_column, *comp.target_columns]
    absent = [c for c in columns if c not in answers.columns]
    if absent:
        raise DataNotPreparedError(
            f"{comp.id}: the answers lack column(s) {_examples(absent)}; "
            f"run `gome prepare {comp.id}` again"
        )
    try:
        return _typed(answers, comp, columns, strict=False)
    except InvalidSubmissionError as exc:
        raise DataNotPreparedError(
            f"{comp.id}: the answers do not fit the spec ({exc}); "
            f"run `gome prepare {comp.id}` again"
        ) from exc


def typed_ids(comp: Competition, ids: pd.Series) -> pd.Series:
    """An id column converted to the spec's id type, as the grader matches ids; raises
    `InvalidSubmissionError` on a value that does not fit."""
    return _coerce(ids, comp.submission_columns[comp.id_column], comp.id_column, check_range=True)


def align_submission(
    comp: Competition, submission: pd.DataFrame, answers: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(answers, submission values): typed and row-aligned by id, as a metric takes them.

    Checks run in this order: columns, ids (duplicated, missing, extra), values; any problem
    raises `InvalidSubmissionError`.
    """
    _check_columns(comp, submission)
    truth = _typed_answers(comp, answers)
    id_column = comp.id_column
    ids = typed_ids(comp, submission[id_column])
    aligned = _align(truth, submission.assign(**{id_column: ids}), id_column)
    values = [c for c in comp.submission_columns if c != id_column]
    return truth, _typed(aligned, comp, values, strict=True)


def score_submission(comp: Competition, submission: pd.DataFrame, answers: pd.DataFrame) -> float:
    """The metric value (not rounded) of a submission; raises `InvalidSubmissionError`.

    `submission` is read by `load_submission`; `answers` is the answers file (extra columns
    are ignored). The checks are `align_submission`'s.
    """
    truth, typed = align_submission(comp, submission, answers)
    metric = METRICS[comp.metric]
    score = metric(truth, typed, comp.target_columns, comp.metric_params)
    if not np.isfinite(score):
        raise InvalidSubmissionError(f"{metric.name} is not defined for this submission ({score})")
    return score


# == answers, data source =======================================================================
def load_answers(comp: Competition, data_dir: Path | str | None = None) -> pd.DataFrame:
    """The private answers, as MLE-bench checks them: `private/` exists and holds the file."""
    private = comp.private_dir(data_dir)
    path = comp.answers_path(data_dir)
    if not private.is_dir() or not path.is_file():
        raise DataNotPreparedError(
            f"{comp.id}: no prepared answers at {path}; run `gome prepare {comp.id}` first"
        )
    try:
        return load_submission(
            path, comp.submission_columns, columns={comp.id_column, *comp.target_columns}
        )
    except InvalidSubmissionError as exc:
        raise DataNotPreparedError(
            f"{comp.id}: unreadable answers ({exc}); run `gome prepare {comp.id}` again"
        ) from exc


def read_data_source(comp: Competition, data_dir: Path | str | None = None) -> dict[str, Any]:
    """{"data_source", "note"} of the prepared data; Kaggle when gome recorded nothing."""
    info = comp.prepared_source(data_dir)
    return {"data_source": str(info.get("data_source", "kaggle")), "note": info.get("note")}


# == validate and grade =========================================================================
def _resolve(comp: Competition | str) -> Competition:
    return comp if isinstance(comp, Competition) else load_competition(comp)


def _submission_file(path: Path) -> Path:
    if not path.is_file():
        raise InvalidSubmissionError(f"no submission file at {path}")
    if path.suffix.lower() != ".csv":
        raise InvalidSubmissionError(f"{path.name}: a submission must be a .csv file")
    return path


def validate_submission(
    comp: Competition | str, submission_path: Path | str, data_dir: Path | str | None = None
) -> tuple[bool, str]:
    """(is valid, message): what an agent may learn about its submission; never a score."""
    comp = _resolve(comp)
    answers = load_answers(comp, data_dir)
    try:
        path = _submission_file(Path(submission_path))
        submission = load_submission(path, comp.submission_columns)
        score_submission(comp, submission, answers)
    except InvalidSubmissionError as exc:
        return False, str(exc)
    return True, f"{path.name} is valid: {len(submission)} rows, columns as expected"


@dataclass(frozen=True)
class CompetitionReport:
    """One graded submission: MLE-bench's report fields, then gome's extras."""

    competition_id: str
    score: float | None
    gold_threshold: float | None
    silver_threshold: float | None
    bronze_threshold: float | None
    median_threshold: float | None
    any_medal: bool
    gold_medal: bool
    silver_medal: bool
    bronze_medal: bool
    above_median: bool
    submission_exists: bool
    valid_submission: bool
    is_lower_better: bool
    created_at: str
    submission_path: str
    # gome extras
    has_leaderboard: bool  # False for practice competitions: no thresholds, no medals
    reference_score: float | None  # the spec's reference model score (practice competitions)
    data_source: str  # "kaggle", or how `gome prepare` obtained the data ("mirror", ...)
    data_source_note: str | None
    error: str | None  # why the submission is missing or invalid

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def grade_submission(
    comp: Competition | str, submission_path: Path | str, data_dir: Path | str | None = None
) -> CompetitionReport:
    """Score a submission and award medals; a missing or invalid submission gets score None."""
    comp = _resolve(comp)
    answers = load_answers(comp, data_dir)
    path = Path(submission_path)
    exists = path.is_file() and path.suffix.lower() == ".csv"
    score: float | None = None
    error: str | None = None
    try:
        submission = load_submission(_submission_file(path), comp.submission_columns)
        score = round(score_submission(comp, submission, answers), SCORE_DECIMALS)
    except InvalidSubmissionError as exc:
        error = str(exc)
    return competition_report(
        comp,
        score,
        submission_path=path,
        submission_exists=exists,
        error=error,
        data_dir=data_dir,
        created_at=datetime.now(UTC).isoformat(),
    )


def competition_report(
    comp: Competition,
    score: float | None,
    *,
    submission_path: Path,
    submission_exists: bool,
    error: str | None,
    data_dir: Path | str | None,
    created_at: str,
) -> CompetitionReport:
    """MLE-bench's report of a (rounded) score, None for a missing or invalid submission."""
    thresholds = competition_thresholds(comp)
    medals = thresholds.award(score)
    source = read_data_source(comp, data_dir)
    return CompetitionReport(
        competition_id=comp.id,
        score=score,
        gold_threshold=thresholds.gold,
        silver_threshold=thresholds.silver,
        bronze_threshold=thresholds.bronze,
        median_threshold=thresholds.median,
        any_medal=medals.any,
        gold_medal=medals.gold,
        silver_medal=medals.silver,
        bronze_medal=medals.bronze,
        above_median=medals.above_median,
        submission_exists=submission_exists,
        valid_submission=score is not None,
        is_lower_better=not thresholds.direction.higher_is_better,
        created_at=created_at,
        submission_path=str(submission_path),
        has_leaderboard=thresholds.has_leaderboard,
        reference_score=comp.reference_score if comp.is_practice else None,
        data_source=source["data_source"],
        data_source_note=source["note"],
        error=error,
    )


# == batches (MLE-bench's jsonl) ================================================================
@dataclass(frozen=True)
class BatchReport:
    """MLE-bench's aggregate report over many graded submissions."""

    total_runs: int
    total_runs_with_submissions: int
    total_valid_submissions: int
    total_medals: int
    total_gold_medals: int
    total_silver_medals: int
    total_bronze_medals: int
    total_above_median: int
    competition_reports: list[CompetitionReport]
    report_path: str | None = None  # where `grade_batch` wrote it; not part of the JSON

    @classmethod
    def of(cls, reports: Sequence[CompetitionReport]) -> BatchReport:
        return cls(
            total_runs=len(reports),
            total_runs_with_submissions=sum(r.submission_exists for r in reports),
            total_valid_submissions=sum(r.valid_submission for r in reports),
            total_medals=sum(r.any_medal for r in reports),
            total_gold_medals=sum(r.gold_medal for r in reports),
            total_silver_medals=sum(r.silver_medal for r in reports),
            total_bronze_medals=sum(r.bronze_medal for r in reports),
            total_above_median=sum(r.above_median for r in reports),
            competition_reports=list(reports),
        )

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        del data["report_path"]
        return data


def read_batch(path: Path | str) -> list[dict[str, str]]:
    """The entries of an MLE-bench jsonl file: one {competition_id, submission_path} per line."""
    path = Path(path)
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GomeError(f"{path}:{number}: not a JSON line ({exc.msg})") from exc
        if not isinstance(entry, dict) or not {"competition_id", "submission_path"} <= entry.keys():
            raise GomeError(f"{path}:{number}: needs keys competition_id and submission_path")
        entries.append(entry)
    return entries


def write_json(data: Mapping[str, Any], path: Path) -> Path:
    """Write a report as indented JSON (creating the folder); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path


def grade_batch(
    entries: Path | str | Iterable[Mapping[str, str]],
    output_dir: Path | str,
    data_dir: Path | str | None = None,
) -> BatchReport:
    """Grade every entry and write `<output_dir>/<timestamp>_grading_report.json`."""
    if isinstance(entries, str | Path):
        entries = read_batch(entries)
    reports = [
        grade_submission(e["competition_id"], e["submission_path"], data_dir) for e in entries
    ]
    batch = BatchReport.of(reports)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S-GMT")
    path = write_json(batch.to_dict(), Path(output_dir) / f"{stamp}_grading_report.json")
    return dataclasses.replace(batch, report_path=str(path))
