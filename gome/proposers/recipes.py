"""The built-in proposer's catalogue: recipes, and the task block a competition spec implies.

A recipe is what one generated script does: which feature blocks feed which model families
(one member, or several averaged), with what parameters, how many Optuna trials, CV folds and
seeds. It is stored as a plain dict in `Proposal.recipe` / `Trial.recipe`, tagged so the
proposer recognises its own trials in a shared history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from gome.competitions import Competition

TAG = "builtin/1"

FAMILIES = ("lightgbm", "xgboost", "hgb", "linear")  # each with an Optuna search space
# "omega:<name>": an OMEGA registry algorithm on the linear family's preprocessing, with its
# own defaults (no search space)
OMEGA_PREFIX = "omega:"
FAMILY_NAMES = {
    "lightgbm": "LightGBM",
    "xgboost": "XGBoost",
    "hgb": "HistGradientBoosting",
    "linear": "linear (logistic/ridge)",
}
# Starting parameters; tree counts come from early stopping in the script.
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "lightgbm": {"learning_rate": 0.05, "num_leaves": 31, "colsample_bytree": 0.8},
    "xgboost": {"learning_rate": 0.05, "max_depth": 6, "colsample_bytree": 0.8, "subsample": 0.8},
    "hgb": {"learning_rate": 0.05},
    "linear": {},
}
# Feature blocks of the template, in the order the levels add them.
BLOCKS = ("base", "split", "counts", "aggregates", "text")

REGRESSION_METRICS = ("rmse", "rmsle", "mean_column_rmsle")
PROBABILITY_METRICS = ("roc_auc", "mean_column_roc_auc", "log_loss", "multiclass_log_loss")


@dataclass(frozen=True)
class Member:
    """One model of a recipe: a family fed by some feature blocks."""

    family: str
    features: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    tune_trials: int = 0
    tune_seed: int = 0

    @property
    def tunable(self) -> bool:
        """Whether the family has an Optuna search space (OMEGA families have none)."""
        return self.family in FAMILIES

    @property
    def signature(self) -> tuple[str, tuple[str, ...], bool]:
        """What makes two members different models (ignoring tuning budgets and seeds)."""
        return self.family, self.features, self.tune_trials > 0

    def to_dict(self) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "family": self.family,
            "features": list(self.features),
            "params": dict(self.params),
            "tune_trials": self.tune_trials,
        }
        if self.tune_trials:
            raw["tune_seed"] = self.tune_seed
        return raw

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Member:
        return cls(
            family=raw["family"],
            features=tuple(raw["features"]),
            params=dict(raw.get("params", {})),
            tune_trials=int(raw.get("tune_trials", 0)),
            tune_seed=int(raw.get("tune_seed", 0)),
        )


@dataclass(frozen=True)
class Recipe:
    """A whole script: members averaged over seeds, scored by K-fold CV."""

    members: tuple[Member, ...]
    folds: int = 5
    seeds: tuple[int, ...] = (0,)
    group_cv: bool = False

    @property
    def is_ensemble(self) -> bool:
        return len(self.members) > 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "proposer": TAG,
            "members": [m.to_dict() for m in self.members],
            "folds": self.folds,
            "seeds": list(self.seeds),
            "group_cv": self.group_cv,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Recipe | None:
        """The recipe of one of our trials; None for anything another agent recorded."""
        if raw.get("proposer") != TAG:
            return None
        return cls(
            members=tuple(Member.from_dict(m) for m in raw["members"]),
            folds=int(raw["folds"]),
            seeds=tuple(raw["seeds"]),
            group_cv=bool(raw["group_cv"]),
        )

    def key(self) -> str:
        """Canonical text: two recipes with the same key are the same experiment."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def with_seeds(self, seeds: tuple[int, ...]) -> Recipe:
        return replace(self, seeds=seeds)

    def describe(self, profile: dict[str, Any]) -> str:
        """One line for `Proposal.hypothesis`."""
        models = " + ".join(
            f"{family_name(m.family)} on {describe_features(m.features, profile)}"
            + (f", Optuna-tuned (up to {m.tune_trials} trials)" if m.tune_trials else "")
            for m in self.members
        )
        cv = f"{self.folds}-fold {'group ' if self.group_cv else ''}CV"
        seeds = f"{len(self.seeds)} seed{'s' if len(self.seeds) > 1 else ''} averaged"
        return f"{'Average of ' if self.is_ensemble else ''}{models}; {cv}, {seeds}"


def family_name(family: str) -> str:
    if family.startswith(OMEGA_PREFIX):
        return f"OMEGA {family.removeprefix(OMEGA_PREFIX)}"
    return FAMILY_NAMES[family]


def describe_features(blocks: tuple[str, ...], profile: dict[str, Any]) -> str:
    """Feature blocks named with the columns they touch, e.g. 'split (Cabin by "/")'."""
    words = []
    for block in blocks:
        if block == "split":
            cols = ", ".join(f'{c} by "{s["sep"]}"' for c, s in profile["split"].items())
            words.append(f"split ({cols})")
        elif block == "counts":
            words.append("group counts")
        elif block == "aggregates":
            words.append("amount totals/logs")
        else:
            words.append(block)
    return " + ".join(words)


def applicable_blocks(profile: dict[str, Any]) -> tuple[str, ...]:
    """The feature blocks that produce at least one column on this data."""
    has_counts = bool(profile["high_card"]) or any(
        part["count"] for split in profile["split"].values() for part in split["parts"]
    )
    present = {
        "base": True,
        "split": bool(profile["split"]),
        "counts": has_counts,
        "aggregates": bool(profile["nonneg_skewed"]) or profile["has_missing"],
        "text": bool(profile["text"]),
    }
    return tuple(block for block in BLOCKS if present[block])


def feature_levels(profile: dict[str, Any]) -> list[tuple[str, ...]]:
    """Cumulative feature sets: base, base+split, ... up to every applicable block."""
    blocks = applicable_blocks(profile)
    return [blocks[: i + 1] for i in range(len(blocks))]


def task_config(competition: Competition) -> dict[str, Any]:
    """The script's TASK block: what to predict and how it is scored, from the spec."""
    regression = competition.metric in REGRESSION_METRICS
    wants_probability = competition.metric in PROBABILITY_METRICS or (
        "probability" in competition.submission_columns.values()
    )
    output = "value" if regression else "probability" if wants_probability else "label"
    return {
        "id_column": competition.id_column,
        "target_columns": list(competition.target_columns),
        "submission_columns": dict(competition.submission_columns),
        "sample_submission": competition.sample_submission_file,
        "metric": competition.metric,
        "problem": "regression" if regression else "classification",
        "output": output,
        "log_target": "rmsle" in competition.metric,
    }
