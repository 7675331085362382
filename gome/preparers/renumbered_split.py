"""`renumbered_split`: a labelled table split as MLE-bench does, then given fresh ids.

Some MLE-bench preparers rename every row after the split so that ids reveal nothing about the
original Kaggle file: plant pathology (`Train_i` / `Test_i`), nomad2018 (1..N within each part),
tabular-playground-may-2022 (0..n-1 through train, then on through test). Per-row files are
copied under the new ids.

params: source, id_column, test_size, random_state, new_ids ({train, test}: templates with
`{i}`; start: first number; continue: test numbering continues after train), drop_from_test
(columns removed from the public test table), public_train, public_test, private_answers
(all columns), sample_submission ({file, values: {column: constant}}), gold_submission (optional
{file, columns}: the answers cut to these columns, kept private), media (optional).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from gome.preparers import register
from gome.preparers._helpers import place_media
from gome.preparers.csv_split import read_csv, split_frame, write_csv


def _new_ids(n_train: int, n_test: int, spec: dict[str, Any]) -> tuple[list[str], list[str]]:
    start = spec.get("start", 0)
    test_start = start + n_train if spec.get("continue", False) else start
    train = [spec["train"].format(i=start + k) for k in range(n_train)]
    test = [spec["test"].format(i=test_start + k) for k in range(n_test)]
    return train, test


@register("renumbered_split")
def prepare(raw: Path, public: Path, private: Path, params: dict[str, Any]) -> None:
    id_col = params["id_column"]
    table = read_csv(raw / params["source"])
    train, test = split_frame(table, params["test_size"], params["random_state"])
    old_train, old_test = train[id_col].tolist(), test[id_col].tolist()
    new_train, new_test = _new_ids(len(train), len(test), params["new_ids"])
    train = train.assign(**{id_col: new_train})
    test = test.assign(**{id_col: new_test})

    write_csv(train, public / params["public_train"])
    write_csv(test.drop(columns=params["drop_from_test"]), public / params["public_test"])
    write_csv(test, private / params["private_answers"])
    sample = params["sample_submission"]
    write_csv(pd.DataFrame({id_col: new_test, **sample["values"]}), public / sample["file"])
    gold = params.get("gold_submission")
    if gold:
        write_csv(test[gold["columns"]], private / gold["file"])

    if "media" in params:
        moves = [(o, n, "train") for o, n in zip(old_train, new_train, strict=True)]
        moves += [(o, n, "test") for o, n in zip(old_test, new_test, strict=True)]
        place_media(raw, public, params["media"], moves)
