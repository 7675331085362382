"""Practice competitions: specs, offline data fetch, split integrity, reference scores."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from gome.competitions import Competition, list_competitions, load_competition
from gome.errors import PreparationError
from gome.practice import PracticeSource, fetch_practice_raw, practice_source, reshape
from gome.prepare import prepare_competition, preparer_params

REPO = Path(__file__).resolve().parent.parent
PRACTICE = [c for c in list_competitions() if c.is_practice]
BUNDLED = [c.id for c in PRACTICE if practice_source(c).loader]
DOWNLOADED = [c.id for c in PRACTICE if practice_source(c).package]


def _benchmark():
    path = REPO / "benchmarks" / "practice_reference.py"
    spec = importlib.util.spec_from_file_location("practice_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One download cache for the whole session, so each package is fetched once."""
    return tmp_path_factory.mktemp("gome-cache")


def _prepare(comp: Competition, data_dir: Path) -> None:
    fetch_practice_raw(comp, comp.raw_dir(data_dir))
    prepare_competition(comp, data_dir=data_dir, source="practice")


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _check_prepared(comp: Competition, data_dir: Path) -> None:
    """Nothing of the answers in public files; the sample submission is well formed."""
    public = comp.public_dir(data_dir)
    train = pd.read_csv(public / "train.csv")
    test = pd.read_csv(public / "test.csv")
    sample = pd.read_csv(public / comp.sample_submission_file)
    answers = pd.read_csv(comp.answers_path(data_dir))
    labels = set(comp.target_columns) | set(preparer_params(comp)["target_columns"])

    assert len(test) == math.ceil(0.2 * (len(train) + len(test)))
    assert not labels & set(test.columns)
    assert labels & set(train.columns)
    assert set(answers[comp.id_column]) == set(test[comp.id_column])
    assert not set(answers[comp.id_column]) & set(train[comp.id_column])
    assert train[comp.id_column].is_unique and test[comp.id_column].is_unique
    assert list(sample.columns) == list(comp.submission_columns)
    assert list(sample[comp.id_column]) == list(test[comp.id_column])
    assert all(sample[column].nunique() == 1 for column in comp.target_columns)
    assert set(comp.target_columns) <= set(answers.columns)


def _check_deterministic(comp: Competition, tmp_path: Path) -> None:
    for name in ("a", "b"):
        _prepare(comp, tmp_path / name)
    for side in ("public", "private"):
        first = _digests(tmp_path / "a" / comp.id / "prepared" / side)
        assert first == _digests(tmp_path / "b" / comp.id / "prepared" / side)


def test_there_are_practice_competitions_of_each_kind() -> None:
    metrics = {c.metric for c in PRACTICE}
    assert len(PRACTICE) >= 4
    assert {"accuracy", "roc_auc", "multiclass_log_loss"} <= metrics
    assert metrics & {"rmse", "mean_column_rmsle"}
    assert BUNDLED, "one practice competition must work without any download"


@pytest.mark.parametrize("comp", PRACTICE, ids=lambda c: c.id)
def test_practice_spec_is_complete(comp: Competition) -> None:
    assert comp.modality == "tabular"
    assert comp.split.kind == "csv_split"
    assert comp.split.params["test_size"] == 0.2
    assert comp.split.params["random_state"] == 0
    assert comp.id_column in comp.submission_columns
    assert set(comp.target_columns) <= set(comp.submission_columns)
    assert comp.description_path.is_file()
    assert not comp.leaderboard_path.exists()
    assert comp.reference_model and "LightGBM defaults" in comp.reference_model
    assert comp.reference_score is not None and math.isfinite(comp.reference_score)


def test_reference_scores_match_the_benchmark_results() -> None:
    results = json.loads((REPO / "benchmarks/results/practice_reference.json").read_text())
    for comp in PRACTICE:
        assert comp.reference_score == results["scores"][comp.id]["test_score"]


def test_practice_source_needs_exactly_one_origin() -> None:
    with pytest.raises(ValueError):
        PracticeSource.model_validate({})
    with pytest.raises(ValueError):
        PracticeSource.model_validate({"loader": "fetch_openml"})
    with pytest.raises(ValueError):
        PracticeSource.model_validate(
            {
                "loader": "load_diabetes",
                "package": "p",
                "version": "1",
                "member": "m",
                "sha256": "0",
            }
        )


def test_reshape_steps() -> None:
    table = pd.DataFrame({"rownames": [1, 2, 3], "Status": ["bad", "good", "bad"], "x": [1, 2, 3]})
    source = PracticeSource(
        loader="load_diabetes",
        drop=["rownames"],
        rename={"Status": "defaulted"},
        recode={"defaulted": {"bad": 1, "good": 0}},
        synthetic_id="id",
    )
    out = reshape(table, source)
    assert list(out.columns) == ["id", "defaulted", "x"]
    assert list(out["defaulted"]) == [1, 0, 1]
    assert sorted(out["id"]) == [0, 1, 2]
    assert list(reshape(table, source)["id"]) == list(out["id"])
    with pytest.raises(PreparationError, match="misses values"):
        reshape(table, source.model_copy(update={"recode": {"defaulted": {"bad": 1}}}))
    with pytest.raises(PreparationError, match="lacks"):
        reshape(table, source.model_copy(update={"drop": ["nope"]}))


@pytest.mark.parametrize("competition_id", BUNDLED)
def test_bundled_practice_prepares_offline(
    competition_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOME_CACHE_DIR", str(tmp_path / "cache"))
    comp = load_competition(competition_id)
    _check_deterministic(comp, tmp_path)
    _check_prepared(comp, tmp_path / "a")


@pytest.mark.network_registry
@pytest.mark.parametrize("competition_id", DOWNLOADED)
def test_downloaded_practice_prepares(
    competition_id: str, tmp_path: Path, session_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOME_CACHE_DIR", str(session_cache))
    comp = load_competition(competition_id)
    _check_deterministic(comp, tmp_path)
    _check_prepared(comp, tmp_path / "a")


def test_reference_score_reproduces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOME_CACHE_DIR", str(tmp_path / "cache"))
    comp = load_competition(BUNDLED[0])
    row = _benchmark().reference_score(comp, tmp_path)
    assert math.isfinite(row["test_score"]) and math.isfinite(row["cv_mean"])
    assert row["test_score"] == pytest.approx(comp.reference_score, abs=1e-6)
