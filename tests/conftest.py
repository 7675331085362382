"""Shared fixtures: a small synthetic competition, prepared on disk, for end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

TOY_ID = "toy-tabular"


def write_toy_competition(root: Path, rows: int = 400, seed: int = 0) -> tuple[Path, Path]:
    """A binary classification task with numeric, categorical and missing values.

    Returns (competitions_root, data_root), prepared in MLE-bench's layout.
    """
    comps = root / "competitions"
    folder = comps / TOY_ID
    folder.mkdir(parents=True)
    spec = {
        "id": TOY_ID,
        "name": "Toy tabular",
        "suite": "practice",
        "modality": "tabular",
        "metric": "accuracy",
        "higher_is_better": True,
        "id_column": "id",
        "target_columns": ["label"],
        "submission_columns": {"id": "int", "label": "int"},
        "split": {"kind": "csv_split", "params": {"source": "train.csv", "test_size": 0.2}},
        "reference_score": 0.8,
    }
    (folder / "competition.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    (folder / "description.md").write_text(
        "# Toy\nPredict `label` (0/1) for each `id` in test.csv. Metric: accuracy.\n",
        encoding="utf-8",
    )
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=rows)
    x2 = rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    label = ((x1 + 0.5 * x2 + (colour == "red")) > 0.3).astype(int)
    x2[rng.random(rows) < 0.1] = np.nan
    frame = pd.DataFrame({"id": np.arange(rows), "x1": x1, "x2": x2, "colour": colour})
    frame["label"] = label
    test = frame.sample(frac=0.2, random_state=0)
    train = frame.drop(test.index)
    data = root / "data"
    public = data / TOY_ID / "prepared" / "public"
    private = data / TOY_ID / "prepared" / "private"
    public.mkdir(parents=True)
    private.mkdir(parents=True)
    train.to_csv(public / "train.csv", index=False)
    test.drop(columns=["label"]).to_csv(public / "test.csv", index=False)
    test[["id"]].assign(label=0).to_csv(public / "sample_submission.csv", index=False)
    test[["id", "label"]].to_csv(private / "test.csv", index=False)
    return comps, data


@pytest.fixture
def toy_competition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The toy competition, visible to gome through GOME_COMPETITIONS_DIR / GOME_DATA_DIR."""
    from gome import competitions

    comps, data = write_toy_competition(tmp_path)
    monkeypatch.setenv("GOME_COMPETITIONS_DIR", str(comps))
    monkeypatch.setenv("GOME_DATA_DIR", str(data))
    competitions.list_competition_ids.cache_clear()
    competitions.load_competition.cache_clear()
    yield comps, data
    competitions.list_competition_ids.cache_clear()
    competitions.load_competition.cache_clear()
