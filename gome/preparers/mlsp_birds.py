"""`mlsp_birds`: mlsp-2013-birds as MLE-bench prepares it.

Only Kaggle's labelled recordings (fold 0 of `CVfolds_2.txt`) are kept; pandas
`sample(frac, random_state)` marks the new test fold. rec_ids are renumbered from 0 in row order
and every text file is filtered and remapped to match; test labels show `?` in the public label
file. Answers have one row per (recording, species): Id = rec_id * 100 + species.

params: test_fraction, random_state, n_species.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from gome.preparers import register
from gome.preparers._helpers import unpacked
from gome.preparers.csv_split import link_or_copy, read_csv, write_csv

SEGMENT_FILES = ("histogram_of_segments.txt", "segment_features.txt", "segment_rectangles.txt")
PER_RECORDING_BMPS = ("filtered_spectrograms", "spectrograms", "supervised_segmentation")


def _id_and_rest(lines: list[str]) -> list[tuple[int, str]]:
    """(rec_id, text after the first comma) for each line below the header."""
    pairs = []
    for line in lines[1:]:
        rec_id, _, rest = line.partition(",")
        pairs.append((int(rec_id), rest))
    return pairs


def _filter_segments(src: Path, dst: Path, new_ids: dict[int, int]) -> None:
    rows = _id_and_rest(src.read_text().splitlines())
    body = "".join(f"{new_ids[i]},{rest}\n" for i, rest in rows if i in new_ids)
    dst.write_text("rec_id,[histogram of segment features]\n" + body)


@register("mlsp_birds")
def prepare(raw: Path, public: Path, private: Path, params: dict[str, Any]) -> None:
    root = unpacked(raw, "mlsp_contest_dataset.zip") / "mlsp_contest_dataset"
    essential, supplemental = root / "essential_data", root / "supplemental_data"
    out_essential, out_supplemental = public / "essential_data", public / "supplemental_data"
    out_essential.mkdir(parents=True, exist_ok=True)
    out_supplemental.mkdir(parents=True, exist_ok=True)

    folds = read_csv(essential / "CVfolds_2.txt")
    folds = folds[folds["fold"] == 0].reset_index(drop=True)
    sampled = folds.sample(frac=params["test_fraction"], random_state=params["random_state"])
    folds.loc[sampled.index, "fold"] = 1
    new_ids = {old: new for new, old in enumerate(folds["rec_id"])}
    folds["rec_id"] = folds.index
    write_csv(folds, out_essential / "CVfolds_2.txt")
    test_ids = set(folds.loc[folds["fold"] == 1, "rec_id"])

    names = read_csv(essential / "rec_id2filename.txt")
    names = names[names["rec_id"].isin(new_ids)].assign(rec_id=lambda f: f["rec_id"].map(new_ids))
    write_csv(names, out_essential / "rec_id2filename.txt")

    labels = [
        (new_ids[i], rest)
        for i, rest in _id_and_rest(
            (essential / "rec_labels_test_hidden.txt").read_text().splitlines()
        )
        if i in new_ids
    ]
    lines = ["rec_id,[labels]"]
    for rec_id, rest in labels:
        shown = "?" if rec_id in test_ids else rest
        lines.append(f"{rec_id},{shown}" if shown else str(rec_id))
    (out_essential / "rec_labels_test_hidden.txt").write_text("\n".join(lines) + "\n")

    species = range(params["n_species"])
    answers = [
        (rec_id * 100 + s, int(str(s) in rest.split(",")))
        for rec_id, rest in labels
        if rec_id in test_ids
        for s in species
    ]
    write_csv(pd.DataFrame(answers, columns=["Id", "Probability"]), private / "answers.csv")
    sample_ids = [rec_id * 100 + s for rec_id in sorted(test_ids) for s in species]
    write_csv(pd.DataFrame({"Id": sample_ids, "Probability": 0}), public / "sample_submission.csv")

    shutil.copyfile(essential / "species_list.txt", out_essential / "species_list.txt")
    for name in names["filename"]:
        link_or_copy(
            essential / "src_wavs" / f"{name}.wav", out_essential / "src_wavs" / f"{name}.wav"
        )
        for folder in PER_RECORDING_BMPS:
            link_or_copy(
                supplemental / folder / f"{name}.bmp", out_supplemental / folder / f"{name}.bmp"
            )
        example = supplemental / "segmentation_examples" / f"{name}.bmp"
        if example.is_file():
            link_or_copy(example, out_supplemental / "segmentation_examples" / example.name)
    (out_supplemental / "segmentation_examples").mkdir(exist_ok=True)
    for name in ("segment_clusters.bmp", "segment_mosaic.bmp"):
        shutil.copyfile(supplemental / name, out_supplemental / name)
    for name in SEGMENT_FILES:
        _filter_segments(supplemental / name, out_supplemental / name, new_ids)
