"""`dogs_vs_cats`: dogs-vs-cats-redux-kernels-edition as MLE-bench prepares it.

The sorted list of `train/*.jpg` from the nested `train.zip` is split. Train images are renamed
`cat.<k>.jpg` / `dog.<k>.jpg` with one counter per class, test images `1.jpg..N.jpg`, both in
split order; public holds the folders and flat zips of them. The answer is 1 for a dog.

params: test_size, random_state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from gome.preparers import register
from gome.preparers._helpers import unpacked
from gome.preparers.csv_split import compress_dir, link_or_copy, write_csv


@register("dogs_vs_cats")
def prepare(raw: Path, public: Path, private: Path, params: dict[str, Any]) -> None:
    images = sorted(unpacked(raw, "train.zip").joinpath("train").glob("*.jpg"))
    train, test = train_test_split(
        images, test_size=params["test_size"], random_state=params["random_state"]
    )

    counters = {"cat": 0, "dog": 0}
    for image in train:
        animal = "cat" if "cat" in image.name else "dog"
        link_or_copy(image, public / "train" / f"{animal}.{counters[animal]}.jpg")
        counters[animal] += 1
    for number, image in enumerate(test, start=1):
        link_or_copy(image, public / "test" / f"{number}.jpg")
    for part in ("train", "test"):
        compress_dir(public / part, public / f"{part}.zip")

    ids = list(range(1, len(test) + 1))
    labels = [int("dog" in image.name) for image in test]
    write_csv(pd.DataFrame({"id": ids, "label": labels}), private / "answers.csv")
    write_csv(pd.DataFrame({"id": ids, "label": 0.5}), public / "sample_submission.csv")
