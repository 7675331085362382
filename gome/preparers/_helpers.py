"""Pieces the irregular preparers share beyond `csv_split`'s helpers: nested archives in `raw/`,
per-row files placed under new names, and zips written from chosen files."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gome.preparers.csv_split import link_or_copy


def unpacked(raw: Path, archive: str | None) -> Path:
    """Root of a nested archive's contents.

    Kaggle's competition zip is unpacked once into `raw/`, but zips inside it stay zipped. The
    archive is extracted once under `raw/_unpacked/<archive>/`; when it is absent, `raw` itself
    is taken to hold the unpacked files already.
    """
    if archive is None or not (raw / archive).is_file():
        return raw
    dest = raw / "_unpacked" / archive
    done = dest / ".complete"
    if not done.is_file():
        shutil.rmtree(dest, ignore_errors=True)
        with zipfile.ZipFile(raw / archive) as zf:
            zf.extractall(dest)
        done.touch()
    return dest


def place_media(
    raw: Path, public: Path, media: dict[str, str], moves: Iterable[tuple[Any, Any, str]]
) -> None:
    """Link per-row files under new names. `media` holds path templates with `{id}`: `source`
    (relative to the unpacked `archive`, if given, else to raw/), `train` and `test` (relative
    to public/). `moves` yields (source id, destination id, "train" | "test")."""
    root = unpacked(raw, media.get("archive"))
    for src_id, dst_id, part in moves:
        dst = public / media[part].format(id=dst_id)
        link_or_copy(root / media["source"].format(id=src_id), dst)


def zip_files(archive: Path, members: Iterable[tuple[Path, str]]) -> None:
    """Write a deflated zip of (file, name inside the archive) pairs, in the order given."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path, name in members:
            zf.write(path, arcname=name)
