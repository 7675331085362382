"""`text_normalization`: the English and Russian text-normalization challenges as MLE-bench
prepares them.

Only `<lang>_train.csv` (inside `<lang>_train.csv.zip`) is used. The unique sentence ids are
split, rows are picked per part so each keeps the file's row order, and sentence ids are
renumbered from 0 by first appearance within each part. Every CSV is written with all
non-numeric fields quoted; public files are zips each holding one same-named CSV.

params: language ("en" | "ru"), test_size, random_state.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from gome.preparers import register
from gome.preparers._helpers import zip_files
from gome.preparers.csv_split import read_csv

QUOTED = {"index": False, "quotechar": '"', "quoting": csv.QUOTE_NONNUMERIC}


def _renumber(rows: pd.DataFrame) -> pd.DataFrame:
    mapping = {old: new for new, old in enumerate(rows["sentence_id"].unique())}
    return rows.assign(sentence_id=rows["sentence_id"].map(mapping))


def _submission(rows: pd.DataFrame, value_column: str) -> pd.DataFrame:
    ids = rows["sentence_id"].astype(str) + "_" + rows["token_id"].astype(str)
    return pd.DataFrame({"id": ids, "after": rows[value_column]})


@register("text_normalization")
def prepare(raw: Path, public: Path, private: Path, params: dict[str, Any]) -> None:
    lang = params["language"]
    table = read_csv(raw / f"{lang}_train.csv.zip")
    train_ids, test_ids = train_test_split(
        table["sentence_id"].unique(),
        test_size=params["test_size"],
        random_state=params["random_state"],
    )
    train = _renumber(table[table["sentence_id"].isin(train_ids)])
    test = _renumber(table[table["sentence_id"].isin(test_ids)])
    sample = _submission(test, "before")

    private.mkdir(parents=True, exist_ok=True)
    _submission(test, "after").to_csv(private / "answers.csv", **QUOTED)
    sample.to_csv(private / "sample_submission.csv", **QUOTED)
    public.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=public) as tmp:
        for name, frame in (
            (f"{lang}_train.csv", train),
            (f"{lang}_test_2.csv", test.drop(columns=["class", "after"])),
            (f"{lang}_sample_submission_2.csv", sample),
        ):
            frame.to_csv(Path(tmp) / name, **QUOTED)
            zip_files(public / f"{name}.zip", [(Path(tmp) / name, name)])
