"""`jigsaw`: jigsaw-toxic-comment-classification-challenge as MLE-bench prepares it (no split).

Kaggle's test set and its released labels (`test_labels.csv`, -1 in every class for unscored
rows) are used; every raw file is a zipped CSV. The sample submission is Kaggle's with each
class set to 0.5.

params: classes (the six label columns).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gome.preparers import register
from gome.preparers.csv_split import read_csv, write_csv


@register("jigsaw")
def prepare(raw: Path, public: Path, private: Path, params: dict[str, Any]) -> None:
    write_csv(read_csv(raw / "train.csv.zip"), public / "train.csv")
    write_csv(read_csv(raw / "test.csv.zip"), public / "test.csv")
    sample = read_csv(raw / "sample_submission.csv.zip")
    sample[params["classes"]] = 0.5
    write_csv(sample, public / "sample_submission.csv")
    write_csv(read_csv(raw / "test_labels.csv.zip"), private / "test.csv")
