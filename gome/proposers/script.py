"""Render a recipe into a standalone `solution.py`, and profile a competition's public data.

The script is `templates/solution.py` with its TASK / RECIPE / TIME_BUDGET_S block replaced.
The proposer types the columns with the template's own functions, so what it plans for (which
feature blocks apply) is what the script will find at run time.
"""

from __future__ import annotations

import os
import pprint
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gome.proposers.recipes import OMEGA_PREFIX
from gome.proposers.templates import solution as template

TEMPLATE_PATH = Path(template.__file__)
BLOCK_START = "# >>> recipe (written by the proposer)"
BLOCK_END = "# <<< recipe"
PROFILE_ROWS = 50_000  # enough rows to type columns; keeps proposing fast on big data
SMALL_DATA_ROWS = 50_000  # below this, one model thread is faster than several


def threads_for(n_rows: int) -> int:
    """Model threads: one on small data (thread overhead exceeds the work), else every core."""
    return 1 if n_rows < SMALL_DATA_ROWS else os.cpu_count() or 1


@dataclass(frozen=True)
class OmegaEstimator:
    """An OMEGA registry algorithm a recipe can use as family `omega:<name>`: the sandbox
    does not mount the registry, so its module is pasted into the script."""

    name: str
    class_name: str
    code: str

    @property
    def family(self) -> str:
        return OMEGA_PREFIX + self.name


def render(
    task: dict[str, Any],
    recipe: dict[str, Any],
    time_budget_s: float,
    n_jobs: int,
    why: str,
    omega: Sequence[OmegaEstimator] = (),
) -> str:
    """The template with this task, recipe, budget and thread count in its recipe block, and
    the modules of the OMEGA estimators its members use."""
    source = TEMPLATE_PATH.read_text(encoding="utf-8")
    head, rest = source.split(BLOCK_START + "\n", 1)
    _, tail = rest.split(BLOCK_END + "\n", 1)
    script_recipe = {k: v for k, v in recipe.items() if k != "proposer"}
    used = {member["family"] for member in recipe["members"]}
    pasted = [e for e in omega if e.family in used]
    estimators = ", ".join(f"{e.name!r}: {e.class_name}" for e in pasted)
    block = "\n".join(
        [
            BLOCK_START,
            f"# Hypothesis: {why}",
            f"TASK: dict[str, Any] = {pprint.pformat(task, width=96, sort_dicts=False)}",
            f"RECIPE: dict[str, Any] = {pprint.pformat(script_recipe, width=96, sort_dicts=False)}",
            f"TIME_BUDGET_S = {time_budget_s:.0f}.0  # the script trims seeds/members past it",
            f"N_JOBS = {n_jobs}  # model threads",
            *[f"\n# OMEGA registry algorithm {e.name}\n{e.code.strip()}\n\n" for e in pasted],
            f"OMEGA_ESTIMATORS: dict[str, Any] = {{{estimators}}}",
            BLOCK_END,
            "",
        ]
    )
    return head + block + tail


def profile_public_data(public_dir: Path, task: dict[str, Any]) -> dict[str, Any]:
    """Column types of the public train+test features, plus the number of training rows."""
    train = pd.read_csv(public_dir / "train.csv", nrows=PROFILE_ROWS)
    test = pd.read_csv(public_dir / "test.csv", nrows=PROFILE_ROWS)
    targets = template.train_targets(train, test, task)
    frame = pd.concat(
        [train.drop(columns=targets, errors="ignore"), test.drop(columns=targets, errors="ignore")],
        ignore_index=True,
    )
    profile = template.profile_columns(frame, task["id_column"])
    profile["n_train"] = count_rows(public_dir / "train.csv")
    return profile


def count_rows(path: Path) -> int:
    with path.open("rb") as fh:
        return max(sum(1 for _ in fh) - 1, 0)
