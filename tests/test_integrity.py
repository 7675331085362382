"""The integrity audit flags cheating patterns in code and submissions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gome.competitions import Competition, KnownLeak, SplitSpec
from gome.integrity import check_submission, scan_code


@pytest.fixture
def competition() -> Competition:
    return Competition(
        id="toy",
        name="Toy",
        suite="practice",
        modality="tabular",
        metric="accuracy",
        higher_is_better=True,
        id_column="id",
        target_columns=["y"],
        submission_columns={"id": "int", "y": "int"},
        split=SplitSpec(kind="csv_split"),
        known_leaks=[KnownLeak(description="leaky", fields=["giver_username_if_known"])],
    )


CLEAN = """
import pandas as pd
train = pd.read_csv("./input/train.csv")
train["deck"] = train["Cabin"].str.split("/").str[0]
train.to_csv("/tmp/scratch.csv")
print("validation_score: 0.8")
"""


def test_clean_script_has_no_flags(competition: Competition) -> None:
    assert scan_code(CLEAN, competition) == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import socket\n", "network"),
        ("from urllib.request import urlopen\n", "network"),
        ("open('/root/.cache/gome/data/toy/prepared/private/test.csv')\n", "private-data"),
        ("open('/etc/passwd')\n", "outside-path"),
        ("open('../../answers.csv')\n", "outside-path"),
        ("x = df['giver_username_if_known']\n", "known-leak"),
    ],
)
def test_suspicious_scripts_are_flagged(code: str, expected: str, competition: Competition) -> None:
    flags = scan_code(code, competition)
    assert any(flag.startswith(expected) for flag in flags), flags


def test_copy_of_sample_and_constant_predictions(tmp_path: Path, competition: Competition) -> None:
    public = tmp_path / "public"
    public.mkdir()
    sample = pd.DataFrame({"id": [1, 2, 3], "y": [0, 0, 0]})
    sample.to_csv(public / "sample_submission.csv", index=False)
    copy = tmp_path / "copy.csv"
    sample.to_csv(copy, index=False)
    assert set(check_submission(copy, competition, public)) == {
        "copy-of-sample-submission",
        "constant-predictions",
    }
    varied = tmp_path / "varied.csv"
    pd.DataFrame({"id": [1, 2, 3], "y": [0, 1, 0]}).to_csv(varied, index=False)
    assert check_submission(varied, competition, public) == []
