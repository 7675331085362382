"""`ranzcr`: ranzcr-clip-catheter-line-classification as MLE-bench prepares it.

`train.csv` is split (not grouped by PatientID, so patients can sit on both sides);
`train_annotations.csv` keeps only the new train studies; there is no public test table. The
sample submission and the grading use only the `scored_classes` (9 of the 11 labels), while the
answers keep every column.

params: test_size, random_state, scored_classes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gome.preparers import register
from gome.preparers._helpers import place_media
from gome.preparers.csv_split import read_csv, split_frame, write_csv

ID = "StudyInstanceUID"
MEDIA = {"source": "train/{id}.jpg", "train": "train/{id}.jpg", "test": "test/{id}.jpg"}


@register("ranzcr")
def prepare(raw: Path, public: Path, private: Path, params: dict[str, Any]) -> None:
    train, test = split_frame(
        read_csv(raw / "train.csv"), params["test_size"], params["random_state"]
    )
    annotations = read_csv(raw / "train_annotations.csv")
    write_csv(train, public / "train.csv")
    write_csv(annotations[annotations[ID].isin(train[ID])], public / "train_annotations.csv")
    sample = test[[ID]].copy()
    sample[params["scored_classes"]] = 0
    write_csv(sample, public / "sample_submission.csv")
    write_csv(test, private / "test.csv")
    moves = [(i, i, "train") for i in train[ID]] + [(i, i, "test") for i in test[ID]]
    place_media(raw, public, MEDIA, moves)
