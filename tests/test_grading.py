"""Grading: thresholds vs MLE-bench, submission reading and validation, reports and batches."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gome import competitions
from gome.errors import DataNotPreparedError, GomeError, InvalidSubmissionError
from gome.grading import (
    BatchReport,
    grade_batch,
    grade_submission,
    load_answers,
    load_submission,
    medal_thresholds,
    score_submission,
    thresholds_from_scores,
    validate_submission,
)

REPO_COMPETITIONS = Path(__file__).resolve().parent.parent / "competitions"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "mlebench"
TSV = SHARED / "competitions.tsv"
if not TSV.is_file():
    TSV = Path(__file__).parent / "data" / "mlebench_competitions.tsv"
MLEBENCH = pd.read_csv(TSV, sep="\t")
KEYS = ("gold", "silver", "bronze", "median")
REPO_IDS = sorted(p.parent.name for p in REPO_COMPETITIONS.glob("*/competition.yaml"))

# -- a small registry of toy competitions ------------------------------------------------------
LEADERBOARD = [round(0.1 * i, 1) for i in range(1, 21)]  # 20 rows, lower is better
# 20 rows: gold = row 2, silver = row 4, bronze = row 8, median = mean of rows 10 and 11
REG_THRESHOLDS = {"gold": 0.2, "silver": 0.4, "bronze": 0.8, "median": 1.05}
SPLIT = {"kind": "csv_split", "params": {}}
SPECS = {
    "toy-reg": {
        "metric": "rmse",
        "higher_is_better": False,
        "id_column": "key",
        "target_columns": ["y"],
        "submission_columns": {"key": "str", "y": "float"},
    },
    "toy-prob": {
        "metric": "roc_auc",
        "higher_is_better": True,
        "id_column": "id",
        "target_columns": ["p"],
        "submission_columns": {"id": "int", "p": "probability"},
    },
    "toy-bool": {
        "metric": "accuracy",
        "higher_is_better": True,
        "id_column": "id",
        "target_columns": ["flag"],
        "submission_columns": {"id": "str", "flag": "bool"},
    },
    "toy-practice": {
        "suite": "practice",
        "metric": "accuracy",
        "higher_is_better": True,
        "id_column": "id",
        "target_columns": ["label"],
        "submission_columns": {"id": "int", "label": "int"},
        "reference_score": 0.75,
    },
}
ANSWERS = {
    "toy-reg": pd.DataFrame({"key": [f"2015-01-0{i} 10:00:00.{i}" for i in range(8)], "y": 0.0}),
    "toy-prob": pd.DataFrame({"id": range(10), "p": [0, 1] * 5, "extra": "x"}),
    "toy-bool": pd.DataFrame(
        {"id": ["0001_01", "0002_01", "0003_01", "0004_01"], "flag": [True, False] * 2}
    ),
    "toy-practice": pd.DataFrame({"id": range(4), "label": [0, 1, 1, 0]}),
}


@pytest.fixture
def toys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Four toy competitions with prepared answers; returns the data root."""
    comps, data = tmp_path / "competitions", tmp_path / "data"
    for cid, spec in SPECS.items():
        folder = comps / cid
        folder.mkdir(parents=True)
        full = {"id": cid, "name": cid, "suite": "lite", "modality": "tabular", "split": SPLIT}
        (folder / "competition.yaml").write_text(yaml.safe_dump(full | spec), encoding="utf-8")
        if spec.get("suite") != "practice":
            scores = LEADERBOARD if not spec["higher_is_better"] else LEADERBOARD[::-1]
            pd.DataFrame({"teamId": range(20), "score": scores}).to_csv(
                folder / "leaderboard.csv", index=False
            )
        private = data / cid / "prepared" / "private"
        private.mkdir(parents=True)
        (data / cid / "prepared" / "public").mkdir()
        ANSWERS[cid].to_csv(private / "test.csv", index=False)
    monkeypatch.setenv("GOME_COMPETITIONS_DIR", str(comps))
    monkeypatch.setenv("GOME_DATA_DIR", str(data))
    competitions.list_competition_ids.cache_clear()
    competitions.load_competition.cache_clear()
    yield data
    competitions.list_competition_ids.cache_clear()
    competitions.load_competition.cache_clear()


@pytest.fixture
def repo_specs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The repository's own competition specs."""
    monkeypatch.setenv("GOME_COMPETITIONS_DIR", str(REPO_COMPETITIONS))
    competitions.list_competition_ids.cache_clear()
    competitions.load_competition.cache_clear()
    yield
    competitions.list_competition_ids.cache_clear()
    competitions.load_competition.cache_clear()


def write(tmp_path: Path, frame: pd.DataFrame, name: str = "submission.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def score(cid: str, frame: pd.DataFrame) -> float:
    comp = competitions.load_competition(cid)
    return score_submission(comp, frame, load_answers(comp))


def reg_submission(value: float) -> pd.DataFrame:
    return ANSWERS["toy-reg"].assign(y=value)


# -- medal thresholds ---------------------------------------------------------------------------
def leaderboard_path(cid: str) -> Path:
    repo = REPO_COMPETITIONS / cid / "leaderboard.csv"
    return repo if repo.is_file() else SHARED / "leaderboards" / f"{cid}.csv"


@pytest.mark.parametrize("row", MLEBENCH.to_dict("records"), ids=lambda r: r["id"])
def test_thresholds_reproduce_mlebench(row: dict) -> None:
    thresholds = thresholds_from_scores(pd.read_csv(leaderboard_path(row["id"]))["score"])
    for key in KEYS:
        assert math.isclose(getattr(thresholds, key), row[f"{key}_threshold"], abs_tol=1e-12), key
    assert thresholds.direction.higher_is_better == row["higher_is_better"]


def test_all_23_competitions_are_covered() -> None:
    assert len(MLEBENCH) == 23 and MLEBENCH["id"].is_unique


@pytest.mark.parametrize("row", MLEBENCH.to_dict("records"), ids=lambda r: r["id"])
def test_medal_thresholds_of_specs_in_the_repo(row: dict, repo_specs: None) -> None:
    if row["id"] not in REPO_IDS:
        pytest.skip("competition spec not written yet")
    got = medal_thresholds(row["id"])
    assert all(math.isclose(got[k], row[f"{k}_threshold"], abs_tol=1e-12) for k in KEYS)
    spec = competitions.load_competition(row["id"])
    assert spec.higher_is_better == row["higher_is_better"], "spec disagrees with leaderboard order"


@pytest.mark.parametrize(
    ("n", "rows"),
    [
        (5, (1, 1, 2)),
        (50, (5, 10, 20)),
        (162, (10, 32, 64)),
        (462, (10, 50, 100)),
        (1485, (12, 74, 148)),
    ],
)
def test_medal_rows_follow_kaggle_progression(n: int, rows: tuple[int, int, int]) -> None:
    thresholds = thresholds_from_scores(np.arange(1, n + 1, dtype=float))  # score = row number
    assert (thresholds.gold, thresholds.silver, thresholds.bronze) == rows
    assert not thresholds.direction.higher_is_better


def test_practice_competition_has_no_thresholds(toys: Path) -> None:
    assert medal_thresholds("toy-practice") == dict.fromkeys(KEYS)
    assert medal_thresholds("toy-reg") == REG_THRESHOLDS


# -- reading a submission file ------------------------------------------------------------------
def test_bom_and_padded_headers_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes("\ufeff key , y\na,1.5\n".encode())
    frame = load_submission(path, {"key": "str", "y": "float"})
    assert list(frame.columns) == ["key", "y"]
    assert frame["y"].tolist() == [1.5]


def test_str_columns_are_read_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("id,after\n007,NA\n8,\n", encoding="utf-8")
    frame = load_submission(path, {"id": "str", "after": "str"})
    assert frame["id"].tolist() == ["007", "8"] and frame["after"].tolist() == ["NA", ""]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"is empty \(0 bytes\)"),
        (b"PK\x03\x04\x00\x00binary", "holds binary data"),
        (b"id,p\n1,\xff\xfe\n", r"is not UTF-8 text \(invalid start byte\)"),
        (b"\xffid,p\n1,2\n", "is not UTF-8 text"),
        (b"id,p\n1,0.5,7\n2,0.5,8,9\n", "could not be parsed as CSV"),
        (b",id,p\n0,1,0.5\n", "column 1 has no name; was the DataFrame index written"),
        (b"id,p, p\n1,0.5,0.5\n", "duplicated column name"),
        (b"\n\n", "no header line"),
    ],
)
def test_unreadable_files_are_rejected(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidSubmissionError, match=message) as info:
        load_submission(path)
    assert "\n" not in str(info.value)


# -- checking a submission against the answers --------------------------------------------------
def test_rows_are_matched_by_id_not_position(toys: Path) -> None:
    answers = ANSWERS["toy-prob"]
    submission = pd.DataFrame({"id": answers["id"], "p": np.linspace(0.05, 0.95, 10)})
    shuffled = submission.sample(frac=1.0, random_state=3)
    assert not shuffled["id"].equals(submission["id"])
    assert score("toy-prob", shuffled) == score("toy-prob", submission)
    assert score("toy-prob", submission.assign(p=answers["p"].astype(float))) == 1.0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.drop(columns="p"), r"missing column\(s\) 'p'; expected exactly: id, p"),
        (lambda s: s.assign(q=1), r"unexpected column\(s\) 'q'"),
        (lambda s: s.iloc[:0], "submission has no rows"),
        (
            lambda s: s.iloc[2:],
            r"2 id\(s\) of the answers are missing .* e.g. 0, 1 \(submission has 8 rows",
        ),
        (
            lambda s: pd.concat([s, s.iloc[:3].assign(id=[97, 98, 99])]),
            r"3 id\(s\) of the submission are not in",
        ),
        (lambda s: pd.concat([s, s.iloc[[4]]]), r"1 duplicated id\(s\) in column 'id', e.g. 4"),
        (lambda s: s.assign(p=[np.nan] + [0.5] * 9), r"column 'p' has 1 blank or NaN value"),
        (lambda s: s.assign(p=["0.5"] * 9 + [""]), r"column 'p' has 1 blank or NaN value"),
        (
            lambda s: s.assign(p=["0.5"] * 8 + ["abc", "x"]),
            r"must hold numbers; 2 value\(s\) do not, e.g. 'abc', 'x'",
        ),
        (
            lambda s: s.assign(p=[1.5] + [0.5] * 9),
            r"holds probabilities, but 1 value\(s\) are outside \[0, 1\]",
        ),
        (lambda s: s.assign(p=[np.inf] + [0.5] * 9), r"1 infinite value"),
        (lambda s: s.assign(id=s["id"] + 0.5), r"column 'id' must hold integers"),
    ],
)
def test_invalid_submissions_get_one_line_messages(toys: Path, edit, message: str) -> None:
    base = pd.DataFrame({"id": range(10), "p": 0.5})
    with pytest.raises(InvalidSubmissionError, match=message) as info:
        score("toy-prob", edit(base))
    assert "\n" not in str(info.value)


def test_values_are_checked_after_ids(toys: Path) -> None:
    # a NaN in a row whose id is wrong is reported as the id problem, the root cause
    bad = pd.DataFrame({"id": [*range(9), 42], "p": [0.5] * 9 + [np.nan]})
    with pytest.raises(InvalidSubmissionError, match="missing from the submission"):
        score("toy-prob", bad)


def test_bool_targets_accept_written_booleans(toys: Path, tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "id,flag\n0002_01,false\n0001_01,True\n0003_01,1\n0004_01,FALSE\n", encoding="utf-8"
    )
    comp = competitions.load_competition("toy-bool")
    assert (
        score_submission(comp, load_submission(path, comp.submission_columns), load_answers(comp))
        == 1.0
    )
    with pytest.raises(InvalidSubmissionError, match="must hold True or False.*'maybe'"):
        score("toy-bool", ANSWERS["toy-bool"].assign(flag=["maybe", True, True, True]))


def test_float_ids_of_an_int_column_align(toys: Path) -> None:
    submission = pd.DataFrame({"id": np.arange(10, dtype=float), "p": ANSWERS["toy-prob"]["p"]})
    assert score("toy-prob", submission) == 1.0


def test_repeated_answer_ids_pair_in_order(toys: Path, tmp_path: Path) -> None:
    # the insults competition keys rows by comment text, which could repeat
    answers = pd.DataFrame({"key": ["a", "b", "a"], "y": [1.0, 2.0, 3.0]})
    comp = competitions.load_competition("toy-reg")
    same = answers.iloc[[1, 0, 2]]
    assert score_submission(comp, same, answers) == 0.0
    with pytest.raises(InvalidSubmissionError, match="not in the answers"):
        score_submission(comp, pd.concat([answers, answers.iloc[[0]]]), answers)


def test_missing_private_dir_names_prepare(toys: Path, tmp_path: Path) -> None:
    empty = tmp_path / "nowhere"
    with pytest.raises(DataNotPreparedError, match="run `gome prepare toy-reg` first"):
        validate_submission("toy-reg", write(tmp_path, reg_submission(0.1)), empty)
    with pytest.raises(DataNotPreparedError, match="gome prepare toy-reg"):
        grade_submission("toy-reg", write(tmp_path, reg_submission(0.1)), empty)


def test_answers_without_a_target_column_are_a_preparation_error(toys: Path) -> None:
    comp = competitions.load_competition("toy-prob")
    with pytest.raises(DataNotPreparedError, match="answers lack column"):
        score_submission(comp, ANSWERS["toy-prob"][["id", "p"]], ANSWERS["toy-prob"][["id"]])


def synthetic_answers(comp: competitions.Competition, n: int = 40) -> pd.DataFrame:
    """Answers that fit a spec: both classes in every probability column, one-hot for log loss."""
    rows = np.arange(n)
    columns: dict[str, object] = {}
    for column, dtype in comp.submission_columns.items():
        if column == comp.id_column:
            columns[column] = rows if dtype == "int" else [f"id-{i}" for i in rows]
        elif comp.metric == "multiclass_log_loss" and column in comp.target_columns:
            k = len(comp.target_columns)
            columns[column] = (rows % k == comp.target_columns.index(column)).astype(int)
        else:
            columns[column] = {
                "probability": rows % 2,
                "float": 0.5 + rows / 7,
                "int": rows % 5,
                "bool": rows % 3 == 0,
                "str": [f"w{i % 7}" for i in rows],
            }[dtype]
    return pd.DataFrame(columns)


@pytest.mark.parametrize("cid", REPO_IDS)
def test_perfect_submission_scores_best_on_every_spec(
    cid: str, tmp_path: Path, repo_specs: None
) -> None:
    comp = competitions.load_competition(cid)
    answers = synthetic_answers(comp)
    answers_path = comp.answers_path(tmp_path)
    answers_path.parent.mkdir(parents=True)
    answers.to_csv(answers_path, index=False)
    submission = write(tmp_path, answers.sample(frac=1.0, random_state=0))
    report = grade_submission(comp, submission, tmp_path)
    assert report.valid_submission, report.error
    assert report.score == (1.0 if comp.higher_is_better else 0.0)
    assert report.has_leaderboard == (not comp.is_practice)


# -- validate and grade -------------------------------------------------------------------------
def test_validate_submission_never_reveals_a_score(toys: Path, tmp_path: Path) -> None:
    ok, message = validate_submission("toy-reg", write(tmp_path, reg_submission(0.3)))
    assert ok and "valid" in message and "0.3" not in message
    ok, message = validate_submission("toy-reg", write(tmp_path, reg_submission(0.3).iloc[1:]))
    assert not ok and "1 id(s) of the answers are missing" in message
    ok, message = validate_submission("toy-reg", tmp_path / "absent.csv")
    assert not ok and "no submission file" in message


@pytest.mark.parametrize(
    ("value", "medal"),
    [
        (0.1, "gold"),
        (0.2, "gold"),  # a tie earns the medal
        (0.3, "silver"),
        (0.4, "silver"),
        (0.8, "bronze"),
        (0.9, None),
        (1.05, None),
        (1.5, None),
    ],
)
def test_grade_report_medals(toys: Path, tmp_path: Path, value: float, medal: str | None) -> None:
    report = grade_submission("toy-reg", write(tmp_path, reg_submission(value)))
    assert report.score == value and report.valid_submission and report.submission_exists
    flags = {m: getattr(report, f"{m}_medal") for m in ("gold", "silver", "bronze")}
    assert flags == {m: m == medal for m in flags}
    assert report.any_medal == (medal is not None)
    assert report.above_median == (value < 1.05)  # strictly better: a tie is not above
    assert report.is_lower_better and report.has_leaderboard and report.error is None
    assert {k: getattr(report, f"{k}_threshold") for k in KEYS} == REG_THRESHOLDS


def test_grade_rounds_the_score_to_five_places(toys: Path, tmp_path: Path) -> None:
    report = grade_submission("toy-reg", write(tmp_path, reg_submission(0.2000049)))
    assert report.score == 0.2 and report.gold_medal


def test_invalid_submission_report(toys: Path, tmp_path: Path) -> None:
    report = grade_submission("toy-reg", write(tmp_path, reg_submission(0.1).drop(columns="y")))
    assert report.submission_exists and not report.valid_submission
    assert report.score is None and not report.any_medal and not report.above_median
    assert "missing column(s) 'y'" in report.error
    assert report.gold_threshold == 0.2  # thresholds are still listed


def test_only_csv_files_exist_as_submissions(toys: Path, tmp_path: Path) -> None:
    path = write(tmp_path, reg_submission(0.1), name="submission.txt")
    report = grade_submission("toy-reg", path)
    assert not report.submission_exists and not report.valid_submission
    assert ".csv" in report.error
    upper = grade_submission("toy-reg", write(tmp_path, reg_submission(0.1), name="SUB.CSV"))
    assert upper.submission_exists and upper.valid_submission


def test_practice_report_gives_reference_score(toys: Path, tmp_path: Path) -> None:
    report = grade_submission("toy-practice", write(tmp_path, ANSWERS["toy-practice"]))
    assert report.score == 1.0 and report.valid_submission
    assert not report.has_leaderboard and report.reference_score == 0.75
    assert report.gold_threshold is None and report.median_threshold is None
    assert not report.any_medal and not report.above_median and not report.is_lower_better


def test_data_source_is_read_from_prepare_marker(toys: Path, tmp_path: Path) -> None:
    sub = write(tmp_path, reg_submission(0.5))
    assert grade_submission("toy-reg", sub).data_source == "kaggle"
    marker = toys / "toy-reg" / "prepared" / "gome_source.json"
    marker.write_text(
        json.dumps({"data_source": "mirror", "note": "80% of rows"}), encoding="utf-8"
    )
    report = grade_submission("toy-reg", sub)
    assert (report.data_source, report.data_source_note) == ("mirror", "80% of rows")


def test_report_to_dict_has_mlebench_fields(toys: Path, tmp_path: Path) -> None:
    data = grade_submission("toy-reg", write(tmp_path, reg_submission(0.5))).to_dict()
    mlebench_fields = {
        "competition_id", "score", "gold_threshold", "silver_threshold", "bronze_threshold",
        "median_threshold", "any_medal", "gold_medal", "silver_medal", "bronze_medal",
        "above_median", "submission_exists", "valid_submission", "is_lower_better",
        "created_at", "submission_path",
    }  # fmt: skip
    assert mlebench_fields <= data.keys()
    assert json.loads(json.dumps(data)) == data


# -- batches ------------------------------------------------------------------------------------
def test_grade_batch_writes_mlebench_totals(toys: Path, tmp_path: Path) -> None:
    entries = [
        {
            "competition_id": "toy-reg",
            "submission_path": str(write(tmp_path, reg_submission(0.1), "a.csv")),
        },
        {
            "competition_id": "toy-reg",
            "submission_path": str(write(tmp_path, reg_submission(0.9), "b.csv")),
        },
        {"competition_id": "toy-reg", "submission_path": str(tmp_path / "missing.csv")},
        {
            "competition_id": "toy-prob",
            "submission_path": str(write(tmp_path, ANSWERS["toy-prob"].iloc[1:], "c.csv")),
        },
    ]
    jsonl = tmp_path / "runs.jsonl"
    jsonl.write_text("\n".join(json.dumps(e) for e in entries) + "\n\n", encoding="utf-8")
    report = grade_batch(jsonl, tmp_path / "out")
    assert isinstance(report, BatchReport)
    written = Path(report.report_path)
    assert written.parent == tmp_path / "out" and written.name.endswith("_grading_report.json")
    data = json.loads(written.read_text(encoding="utf-8"))
    totals = {k: v for k, v in data.items() if k != "competition_reports"}
    assert totals == {
        "total_runs": 4,
        "total_runs_with_submissions": 3,
        "total_valid_submissions": 2,
        "total_medals": 1,
        "total_gold_medals": 1,
        "total_silver_medals": 0,
        "total_bronze_medals": 0,
        "total_above_median": 2,
    }
    assert [r["score"] for r in data["competition_reports"]] == [0.1, 0.9, None, None]


def test_grade_batch_rejects_malformed_lines(toys: Path, tmp_path: Path) -> None:
    jsonl = tmp_path / "runs.jsonl"
    jsonl.write_text('{"competition_id": "toy-reg"}\n', encoding="utf-8")
    with pytest.raises(
        GomeError, match=r"runs.jsonl:1: needs keys competition_id and submission_path"
    ):
        grade_batch(jsonl, tmp_path)
