"""`histopathologic`: histopathologic-cancer-detection as MLE-bench prepares it.

The test fraction is Kaggle's own: (raw test tifs) / (train rows + raw test tifs). The split
runs on the id column only; rows are then picked from the original table, so every CSV keeps
the raw file's row order, not the shuffled one.

params: random_state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sklearn.model_selection import train_test_split

from gome.preparers import register
from gome.preparers._helpers import place_media
from gome.preparers.csv_split import read_csv, write_csv

MEDIA = {"source": "train/{id}.tif", "train": "train/{id}.tif", "test": "test/{id}.tif"}


@register("histopathologic")
def prepare(raw: Path, public: Path, private: Path, params: dict[str, Any]) -> None:
    labels = read_csv(raw / "train_labels.csv")
    n_kaggle_test = sum(1 for _ in (raw / "test").glob("*.tif"))
    ratio = n_kaggle_test / (len(labels) + n_kaggle_test)
    _, test_ids = train_test_split(
        labels["id"], test_size=ratio, random_state=params["random_state"]
    )
    is_test = labels["id"].isin(test_ids)
    train, test = labels[~is_test], labels[is_test]

    write_csv(train, public / "train_labels.csv")
    write_csv(test.assign(label=0), public / "sample_submission.csv")
    write_csv(test, private / "answers.csv")
    moves = [(i, i, "train") for i in train["id"]] + [(i, i, "test") for i in test["id"]]
    place_media(raw, public, MEDIA, moves)
