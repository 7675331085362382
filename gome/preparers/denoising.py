"""`denoising`: denoising-dirty-documents as MLE-bench prepares it.

The sorted noisy pages of the nested `train.zip` are split; the clean versions of the test pages
(from `train_cleaned.zip`) become the answers: one row per pixel, id `<stem>_<row>_<col>`
(1-based), value the grayscale intensity / 255, images in sorted name order, pixels row-major.

params: test_size, random_state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.model_selection import train_test_split

from gome.preparers import register
from gome.preparers._helpers import unpacked
from gome.preparers.csv_split import link_or_copy, write_csv


def pixel_table(image: Path) -> pd.DataFrame:
    """One row per pixel of a grayscale page: `<stem>_<row>_<col>` and intensity in [0, 1]."""
    with Image.open(image) as img:
        values = np.asarray(img.convert("L")) / 255.0
    rows, cols = values.shape
    row_idx = np.repeat(np.arange(1, rows + 1), cols).astype(str)
    col_idx = np.tile(np.arange(1, cols + 1), rows).astype(str)
    ids = pd.Series(row_idx, dtype=object).radd(f"{image.stem}_") + "_" + col_idx
    return pd.DataFrame({"id": ids.to_numpy(), "value": values.ravel()})


@register("denoising")
def prepare(raw: Path, public: Path, private: Path, params: dict[str, Any]) -> None:
    noisy = sorted(unpacked(raw, "train.zip").joinpath("train").glob("*.png"))
    clean = unpacked(raw, "train_cleaned.zip") / "train_cleaned"
    train, test = train_test_split(
        noisy, test_size=params["test_size"], random_state=params["random_state"]
    )
    for image in train:
        link_or_copy(image, public / "train" / image.name)
        link_or_copy(clean / image.name, public / "train_cleaned" / image.name)
    for image in test:
        link_or_copy(image, public / "test" / image.name)

    answers = pd.concat([pixel_table(clean / p.name) for p in sorted(test)], ignore_index=True)
    write_csv(answers, private / "answers.csv")
    write_csv(answers.assign(value=1), public / "sampleSubmission.csv")
