"""Generic preparers: `csv_split` (MLE-bench's random split of one labelled CSV) and `no_split`
(Kaggle's own labelled test set is used whole).

Both reproduce MLE-bench byte for byte where MLE-bench's prepare.py follows the pattern: CSVs
are read with round-trip float parsing (MLE-bench's `read_csv`) and written with
`to_csv(index=False)`, and the split is scikit-learn's `train_test_split(df, test_size=...,
random_state=0)` (shuffle on, no stratify), so the output's MD5s can match `checksums.yaml`:
the test rows are the first ceil(test_size * n) of `RandomState(0).permutation(n)`, in that
order, the train rows the rest.

`gome.prepare` passes the spec's `id_column`, `target_columns`, `answers_file` (as
`private_answers`) and `sample_submission_file` as defaults; `split.params` override them.
File names are relative to `raw/`, `public/` or `private/`.

csv_split params
----------------
source: str                 raw CSV holding the labelled rows (required).
extract: [str]              raw archives unpacked into raw/ first (once), e.g. spooky's
                            `train.zip` holding `train.csv`.
test_size: float | int      required; a float gives ceil(test_size * n) test rows, an int exactly
                            that many (sklearn's rule).
random_state: int = 0
id_column: str              the id column (spec default).
target_columns: [str]       dropped from the public test CSV (spec default); set it in params
                            when the raw label column differs from the submission columns
                            (spooky: `[author]`).
drop_from_public: [str]     also removed from the public train and test CSVs.
public_train: str = train.csv      the new train rows, all columns (minus drop_from_public).
public_test: str | null = test.csv test rows minus target_columns; null: no public test CSV
                            (aerial-cactus, ranzcr).
private_answers: str        test rows, all columns (spec's `answers_file` by default).
answer_columns: [str]       write only these answer columns, in this order.
answers_one_hot: {column: str, classes: [str]}
                            answers become `id_column` + one 0/1 column per class, in the order
                            given (MLE-bench's `df_to_one_hot`; spooky, dog-breed).
extra_private: {file: [columns]}
                            further private CSVs holding these columns of the test rows
                            (e.g. `gold_submission.csv`).
sample_submission: {column: constant | null}
                            one row per test row, in split order; the id column comes first
                            unless the mapping names it; `null` copies that column from the
                            test rows (insults: `{Insult: 0, Date: null, Comment: null}`).
                            Omit it for no sample submission.
sample_submission_file: str (spec default) its file name in public/.
media: {raw_dir: str, raw_archive: str?, public_train_dir: str, public_test_dir: str,
        filename: str = "{id}", zip: bool = false}
                            per-row files `raw_dir/<filename>` (filename formatted with
                            `id=<id value>`) hard-linked (copied across file systems) into the
                            public train/test dirs. `raw_archive` (a zip in raw/) is unpacked
                            to a scratch dir when `raw_dir` is absent. `zip: true` replaces each
                            public dir by `<dir>.zip` with the files at the archive root
                            (MLE-bench's `compress`; aerial-cactus).
copy: [str]                 raw files or folders linked (or copied) into public/ unchanged.

no_split params
---------------
train: str                  raw train file, copied byte for byte to `public_train`.
test: str                   raw labelled test file, copied byte for byte to `private_answers`.
public_train, public_test, private_answers, target_columns, extra_private, sample_submission,
sample_submission_file, extract, copy: as for csv_split. drop_from_public applies to the public
test only (the train copy is unchanged). `answer_columns`, `answers_one_hot` and `media` are
csv_split only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from gome.errors import PreparationError
from gome.preparers import register

# pandas >= 3.1 parses every float round-trip and deprecates the option; older needs asking.
_ROUND_TRIP: dict[str, Any] = (
    {}
    if tuple(map(int, pd.__version__.split(".")[:2])) >= (3, 1)
    else {"float_precision": "round_trip"}
)


def read_csv(path: Path) -> pd.DataFrame:
    """MLE-bench's `read_csv`: round-trip float parsing, so written floats keep their digits."""
    return pd.read_csv(path, **_ROUND_TRIP)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)


def split_frame(
    df: pd.DataFrame, test_size: float | int, random_state: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) exactly as MLE-bench's prepare.py calls `train_test_split`."""
    train, test = train_test_split(df, test_size=test_size, random_state=random_state)
    return train, test


def link_or_copy(src: Path | str, dst: Path | str) -> None:
    """Hard-link `src` to `dst` (no extra disk), copying when linking is impossible."""
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def extract_zip(archive: Path, dest: Path) -> None:
    """Unpack one zip (non-recursively) into `dest`, as MLE-bench's `extract`."""
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest)
    except zipfile.BadZipFile as exc:
        raise PreparationError(f"{archive.name} is not a valid zip file: {exc}") from exc


def compress_dir(folder: Path, archive: Path) -> None:
    """Zip the files of `folder` with names relative to it (MLE-bench's `compress`)."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder))


def one_hot(df: pd.DataFrame, id_column: str, column: str, classes: list[str]) -> pd.DataFrame:
    """`id_column` + one 0/1 int column per class (MLE-bench's `df_to_one_hot`)."""
    unknown = sorted(set(df[column].astype(str)) - set(classes))
    if unknown:
        raise PreparationError(f"labels {unknown[:5]} of {column!r} are not in answers_one_hot")
    encoded = pd.DataFrame(0, index=df.index, columns=[id_column, *classes])
    encoded[id_column] = df[id_column]
    for cls in classes:
        encoded[cls] = (df[column] == cls).astype(int)
    return encoded


def sample_submission(
    test: pd.DataFrame, id_column: str, values: Mapping[str, Any]
) -> pd.DataFrame:
    """One row per test row: id column (unless named) + constants or copied columns."""
    columns = list(values) if id_column in values else [id_column, *values]
    sample = pd.DataFrame(index=test.index)
    for col in columns:
        value = values.get(col)
        sample[col] = test[col] if value is None else value
    return sample


def _drop(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise PreparationError(f"columns {missing} are not in the data ({list(df.columns)[:8]})")
    return df.drop(columns=columns)


def _write_test_side(
    test: pd.DataFrame, raw: Path, public: Path, private: Path, params: Mapping[str, Any]
) -> None:
    """Everything derived from the labelled test rows except the private answers file."""
    hidden = list(params.get("drop_from_public", []))
    public_test = params.get("public_test", "test.csv")
    if public_test:
        write_csv(_drop(test, list(params["target_columns"]) + hidden), public / public_test)
    for name, columns in params.get("extra_private", {}).items():
        write_csv(test[list(columns)], private / name)
    if params.get("sample_submission") is not None:
        sample = sample_submission(test, params["id_column"], params["sample_submission"])
        write_csv(sample, public / params.get("sample_submission_file", "sample_submission.csv"))
    for name in params.get("copy", []):
        src = raw / name
        if src.is_dir():
            shutil.copytree(src, public / name, copy_function=link_or_copy)
        else:
            link_or_copy(src, public / name)


def _answers(test: pd.DataFrame, params: Mapping[str, Any]) -> pd.DataFrame:
    if "answers_one_hot" in params:
        spec = params["answers_one_hot"]
        return one_hot(test, params["id_column"], spec["column"], list(spec["classes"]))
    if "answer_columns" in params:
        return test[list(params["answer_columns"])]
    return test


def _copy_media(
    raw: Path,
    public: Path,
    splits: Mapping[str, pd.DataFrame],
    id_column: str,
    media: Mapping[str, Any],
) -> None:
    """Link each row's file into the public dir of its side (`splits`: media key -> rows)."""
    pattern = media.get("filename", "{id}")
    with tempfile.TemporaryDirectory(dir=public.parent, prefix=".media-") as scratch:
        source = raw / media["raw_dir"]
        if not source.is_dir() and media.get("raw_archive"):
            extract_zip(raw / media["raw_archive"], Path(scratch))
            source = Path(scratch) / media["raw_dir"]
        if not source.is_dir():
            raise PreparationError(f"raw media folder {media['raw_dir']!r} is missing")
        for key, rows in splits.items():
            target = public / media[key]
            target.mkdir(parents=True, exist_ok=True)
            for value in rows[id_column]:
                name = pattern.format(id=value)
                src = source / name
                if not src.is_file():
                    raise PreparationError(f"media file {media['raw_dir']}/{name} is missing")
                link_or_copy(src, target / name)
            if media.get("zip", False):
                compress_dir(target, public / f"{media[key]}.zip")
                shutil.rmtree(target)


def _extract_raw_archives(raw: Path, archives: list[str]) -> None:
    for name in archives:
        marker = raw / f".{name}.extracted"
        if not marker.exists():
            extract_zip(raw / name, raw)
            marker.touch()


@register("csv_split")
def csv_split(raw: Path, public: Path, private: Path, params: dict[str, Any]) -> None:
    """Split one labelled CSV into public train/test + private answers (see module doc)."""
    _extract_raw_archives(raw, list(params.get("extract", [])))
    labelled = read_csv(raw / params["source"])
    train, test = split_frame(labelled, params["test_size"], params.get("random_state", 0))
    hidden = list(params.get("drop_from_public", []))
    write_csv(_drop(train, hidden), public / params.get("public_train", "train.csv"))
    write_csv(_answers(test, params), private / params["private_answers"])
    _write_test_side(test, raw, public, private, params)
    if "media" in params:
        splits = {"public_train_dir": train, "public_test_dir": test}
        _copy_media(raw, public, splits, params["id_column"], params["media"])


@register("no_split")
def no_split(raw: Path, public: Path, private: Path, params: dict[str, Any]) -> None:
    """Kaggle's labelled test set is the private answers; train is published unchanged."""
    _extract_raw_archives(raw, list(params.get("extract", [])))
    public.mkdir(parents=True, exist_ok=True)
    private.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(raw / params["train"], public / params.get("public_train", "train.csv"))
    shutil.copyfile(raw / params["test"], private / params["private_answers"])
    test = read_csv(raw / params["test"])
    _write_test_side(test, raw, public, private, params)
