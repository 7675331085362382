"""The command line: listings, grading, and one-line errors (exit 2) for bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import TOY_ID


def gome(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gome", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or os.environ.copy(),
    )


def assert_one_line_error(done: subprocess.CompletedProcess, *needles: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_competitions_lists_the_23_and_the_practice_ones() -> None:
    ids = gome("competitions", "--ids").stdout.split()
    tsv = Path(__file__).parent / "data" / "mlebench_competitions.tsv"
    expected = set(pd.read_csv(tsv, sep="\t", comment="#")["id"])
    assert len(expected) == 23
    assert expected <= set(ids)
    practice = gome("competitions", "--ids", "--practice").stdout.split()
    assert len(practice) >= 4 and all(p.startswith("practice-") for p in practice)
    assert set(practice) <= set(ids)


def test_competitions_table_names_the_mirror_and_leaks() -> None:
    done = gome("competitions", env=os.environ.copy() | {"COLUMNS": "220"})
    assert done.returncode == 0
    row = next(line for line in done.stdout.splitlines() if "spaceship-titanic" in line)
    assert "mirror" in row and "0.80967" in row
    assert "giver_username_if_known" in done.stdout
    assert "Group leakage" in done.stdout


def test_wrong_competition_id_suggests_the_closest() -> None:
    assert_one_line_error(gome("grade", "spaceship-titanik", "x.csv"), "spaceship-titanic")


@pytest.fixture
def toy_env(toy_competition) -> dict:
    return os.environ.copy()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def answers(toy_competition) -> pd.DataFrame:
    _, data = toy_competition
    return pd.read_csv(data / TOY_ID / "prepared" / "private" / "test.csv")


def test_grade_valid_submission_with_bom_and_spaced_headers(
    toy_competition, toy_env, tmp_path: Path
) -> None:
    truth = answers(toy_competition)
    body = truth.to_csv(index=False).replace("id,label", " id , label ")
    sub = write(tmp_path / "sub.csv", b"\xef\xbb\xbf" + body.encode())
    done = gome("grade", TOY_ID, str(sub), "--output-dir", str(tmp_path / "out"), env=toy_env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "grade.json").is_file()
    assert "1.0" in done.stdout


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02\x89PNG\x00\x00garbage", "CSV"),
    ],
)
def test_grade_rejects_unreadable_files_in_one_line(
    toy_competition, toy_env, tmp_path: Path, content: bytes, needle: str
) -> None:
    sub = write(tmp_path / "sub.csv", content)
    done = gome("grade", TOY_ID, str(sub), env=toy_env)
    assert done.returncode == 0  # an invalid submission is a graded outcome, not a crash
    assert "valid_submission" in done.stdout and "False" in done.stdout


def test_grade_reports_duplicated_ids(toy_competition, toy_env, tmp_path: Path) -> None:
    truth = answers(toy_competition)
    dup = pd.concat([truth, truth.head(3)])
    sub = tmp_path / "sub.csv"
    dup.to_csv(sub, index=False)
    done = gome("grade", TOY_ID, str(sub), env=toy_env)
    assert "False" in done.stdout and "duplicat" in done.stdout.lower()


def test_missing_private_dir_is_one_line(toy_competition, toy_env, tmp_path: Path) -> None:
    _, data = toy_competition
    private = data / TOY_ID / "prepared" / "private"
    for path in private.iterdir():
        path.unlink()
    private.rmdir()
    sub = tmp_path / "sub.csv"
    sub.write_text("id,label\n1,0\n")
    assert_one_line_error(gome("grade", TOY_ID, str(sub), env=toy_env), "gome prepare")


def test_unknown_metric_in_spec_is_one_line(toy_competition, toy_env, tmp_path: Path) -> None:
    comps, _ = toy_competition
    spec_path = comps / TOY_ID / "competition.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["metric"] = "f7-score"
    spec_path.write_text(yaml.safe_dump(spec))
    sub = tmp_path / "sub.csv"
    sub.write_text("id,label\n1,0\n")
    assert_one_line_error(gome("grade", TOY_ID, str(sub), env=toy_env), "unknown metric")


def test_prepare_without_any_source_names_the_ways_in(tmp_path: Path) -> None:
    env = os.environ.copy() | {"GOME_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}
    env.pop("KAGGLE_USERNAME", None)
    env.pop("KAGGLE_KEY", None)
    env.pop("KAGGLE_API_TOKEN", None)
    done = gome("prepare", "leaf-classification", env=env)
    assert_one_line_error(done, "--raw-zip")


def test_solve_resume_of_a_non_run_folder(tmp_path: Path) -> None:
    assert_one_line_error(gome("solve", "--resume", str(tmp_path)), "not a gome run folder")
