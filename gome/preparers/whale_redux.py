"""`whale_redux`: the-icml-2013-whale-challenge-right-whale-redux as MLE-bench prepares it.

No randomness: the clips of the nested `train2.zip` (`YYYYMMDD_HHMMSS_<secs>_TRAIN<k>_<0|1>.aif`)
span four dates; the two earliest become train, the two latest test, each sorted by name (time
order). Train clips get `TRAIN<position>` and keep their label suffix; test clips become
`<prefix before TRAIN>Test<position>.aif`. Public holds `train2.zip` / `test2.zip`, each with
its folder inside.

params: none.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd

from gome.preparers import register
from gome.preparers._helpers import unpacked, zip_files
from gome.preparers.csv_split import write_csv


@register("whale_redux")
def prepare(raw: Path, public: Path, private: Path, params: dict[str, Any]) -> None:
    by_date: dict[str, list[Path]] = defaultdict(list)
    for clip in unpacked(raw, "train2.zip").joinpath("train2").glob("*.aif"):
        by_date[clip.name.split("_")[0]].append(clip)
    dates = sorted(by_date)
    if len(dates) != 4:
        raise ValueError(f"expected clips from 4 dates, found {len(dates)}")
    train = sorted(by_date[dates[0]] + by_date[dates[1]])
    test = sorted(by_date[dates[2]] + by_date[dates[3]])

    train_names = [re.sub(r"TRAIN\d+", f"TRAIN{idx}", clip.name) for idx, clip in enumerate(train)]
    names = [clip.name.split("TRAIN")[0] + f"Test{idx}.aif" for idx, clip in enumerate(test)]
    for folder, clips, new_names in (("train2", train, train_names), ("test2", test, names)):
        members = ((clip, f"{folder}/{name}") for clip, name in zip(clips, new_names, strict=True))
        zip_files(public / f"{folder}.zip", members)

    labels = [1 if clip.stem.endswith("_1") else 0 for clip in test]
    answers = pd.DataFrame({"clip": names, "probability": labels})
    write_csv(answers, private / "test.csv")
    write_csv(answers.assign(probability=0), public / "sampleSubmission.csv")
