"""Competition specs: one folder per competition, read from `competitions/<id>/`.

A folder holds `competition.yaml` (the spec below), `description.md` (the task text shown to
agents), `leaderboard.csv` (the Kaggle leaderboard MLE-bench grades against; absent for practice
competitions) and, for Kaggle competitions, `checksums.yaml` (MLE-bench's MD5s of the prepared
files). Adding a competition whose metric and split kind exist needs no Python code.
"""

from __future__ import annotations

import difflib
import functools
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gome.direction import Direction
from gome.errors import CompetitionConfigError, DataNotPreparedError, UnknownCompetitionError
from gome.settings import competitions_root, data_root

PREPARED_SOURCE_FILE = "gome_source.json"  # written by `gome prepare` beside public/

SubmissionDtype = Literal["str", "int", "float", "bool", "probability"]


class KnownLeak(BaseModel):
    """A documented way to cheat or to overfit; the integrity audit flags code that uses it."""

    model_config = ConfigDict(extra="forbid")
    description: str
    fields: list[str] = Field(default_factory=list, description="column names that leak")


class SplitSpec(BaseModel):
    """How raw data becomes `prepared/public` + `prepared/private`.

    `kind` names a preparer in `gome.prepare` (e.g. `csv_split`); `params` are its arguments,
    chosen so that the split is row-for-row MLE-bench's (test size, seed, columns moved).
    """

    model_config = ConfigDict(extra="forbid")
    kind: str
    params: dict[str, Any] = Field(default_factory=dict)


class Competition(BaseModel):
    """The spec in `competition.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    suite: Literal["lite", "other", "practice"]
    modality: str
    metric: str
    metric_params: dict[str, Any] = Field(default_factory=dict)
    higher_is_better: bool
    id_column: str
    target_columns: list[str]
    submission_columns: dict[str, SubmissionDtype]
    answers_file: str = "test.csv"
    sample_submission_file: str = "sample_submission.csv"
    split: SplitSpec
    known_leaks: list[KnownLeak] = Field(default_factory=list)
    mirror: dict[str, Any] | None = None
    practice_source: dict[str, Any] | None = None
    reference_model: str | None = None
    reference_score: float | None = None
    source_note: str = ""

    @field_validator("metric")
    @classmethod
    def _metric_exists(cls, name: str) -> str:
        from gome.metrics import METRICS

        if name not in METRICS:
            known = ", ".join(sorted(METRICS))
            raise ValueError(f"unknown metric {name!r} (known: {known})")
        return name

    # -- files of the spec folder -------------------------------------------------------------
    @property
    def folder(self) -> Path:
        return competitions_root() / self.id

    @property
    def description_path(self) -> Path:
        return self.folder / "description.md"

    @property
    def leaderboard_path(self) -> Path:
        return self.folder / "leaderboard.csv"

    @property
    def checksums_path(self) -> Path:
        return self.folder / "checksums.yaml"

    @property
    def direction(self) -> Direction:
        return Direction.of(self.higher_is_better)

    @property
    def is_practice(self) -> bool:
        return self.suite == "practice"

    @property
    def description(self) -> str:
        return self.description_path.read_text(encoding="utf-8")

    # -- data dirs (MLE-bench layout) -----------------------------------------------------------
    def data_dir(self, root: Path | str | None = None) -> Path:
        return data_root(root) / self.id

    def raw_dir(self, root: Path | str | None = None) -> Path:
        return self.data_dir(root) / "raw"

    def public_dir(self, root: Path | str | None = None) -> Path:
        return self.data_dir(root) / "prepared" / "public"

    def private_dir(self, root: Path | str | None = None) -> Path:
        return self.data_dir(root) / "prepared" / "private"

    def answers_path(self, root: Path | str | None = None) -> Path:
        return self.private_dir(root) / self.answers_file

    def is_prepared(self, root: Path | str | None = None) -> bool:
        return self.answers_path(root).is_file() and self.public_dir(root).is_dir()

    def prepared_source(self, root: Path | str | None = None) -> dict[str, Any]:
        """Where the prepared data came from (`gome_source.json`); {} when gome did not write it."""
        path = self.data_dir(root) / "prepared" / PREPARED_SOURCE_FILE
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataNotPreparedError(
                f"{path} is not valid JSON; run `gome prepare {self.id} --force`"
            ) from exc


def _yaml_path(competition_id: str) -> Path:
    return competitions_root() / competition_id / "competition.yaml"


@functools.cache
def list_competition_ids() -> tuple[str, ...]:
    root = competitions_root()
    return tuple(sorted(p.parent.name for p in root.glob("*/competition.yaml")))


@functools.cache
def load_competition(competition_id: str) -> Competition:
    """Load a spec by id; a wrong id raises an error suggesting the closest ids."""
    path = _yaml_path(competition_id)
    if not path.is_file():
        close = difflib.get_close_matches(competition_id, list_competition_ids(), n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else " See `gome competitions --ids`."
        raise UnknownCompetitionError(f"Unknown competition id {competition_id!r}.{hint}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Competition.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        first = str(exc).splitlines()
        detail = "; ".join(line.strip() for line in first[1:3]) if len(first) > 1 else str(exc)
        raise CompetitionConfigError(f"{path}: invalid competition spec: {detail}") from exc


def list_competitions(include_practice: bool = True) -> list[Competition]:
    comps = [load_competition(cid) for cid in list_competition_ids()]
    return [c for c in comps if include_practice or not c.is_practice]
