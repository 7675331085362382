"""`random_acts_of_pizza`: random-acts-of-pizza as MLE-bench prepares it.

Kaggle's labelled `train.json` is split with Kaggle's own test fraction,
len(test) / (len(train) + len(test)). Public test records are cut to exactly the keys of
Kaggle's `test.json` (its first record's key order), which drops the label and the
retrieval-time fields, though not `giver_username_if_known` (a known leak).

params: random_state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from gome.preparers import register
from gome.preparers._helpers import zip_files
from gome.preparers.csv_split import write_csv

ID, TARGET = "request_id", "requester_received_pizza"


def _dump(records: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=4), encoding="utf-8")
    zip_files(path.with_suffix(".zip"), [(path, path.name)])


@register("random_acts_of_pizza")
def prepare(raw: Path, public: Path, private: Path, params: dict[str, Any]) -> None:
    train_records = json.loads((raw / "train.json").read_text(encoding="utf-8"))
    kaggle_test = json.loads((raw / "test.json").read_text(encoding="utf-8"))
    ratio = len(kaggle_test) / (len(train_records) + len(kaggle_test))
    test_keys = list(kaggle_test[0])
    train, test = train_test_split(
        train_records, test_size=ratio, random_state=params["random_state"]
    )

    _dump(train, public / "train.json")
    _dump([{key: record[key] for key in test_keys} for record in test], public / "test.json")
    answers = pd.DataFrame({ID: [r[ID] for r in test], TARGET: [int(r[TARGET]) for r in test]})
    write_csv(answers, private / "test.csv")
    write_csv(answers.assign(**{TARGET: 0}), public / "sampleSubmission.csv")
