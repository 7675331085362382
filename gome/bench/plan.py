"""What a bench runs: a split of competitions, the agents, the seeds, one budget.

A split names competitions; each is *ready* (its data is prepared, or was just prepared offline)
or *skipped* with the reason, never silently dropped. The plan is the ready competitions ×
agents × seeds, one `gome solve` run each, named `<competition>_<agent>_s<seed>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from gome.competitions import Competition, list_competitions, load_competition
from gome.errors import GomeError
from gome.prepare import kaggle_credentials_present, prepare_competition

# lite: MLE-bench's low-complexity split; offline: all data gome can make with no credentials
SPLITS = ("lite", "tabular", "offline", "practice")


@dataclass(frozen=True)
class Skipped:
    """A competition of the split that the bench does not run, and why."""

    competition_id: str
    reason: str


@dataclass(frozen=True)
class RunSpec:
    """One run of the bench."""

    competition_id: str
    agent: str
    seed: int

    @property
    def name(self) -> str:
        """The run's folder name under the bench folder (and its key in bench.json)."""
        return f"{self.competition_id}_{self.agent}_s{self.seed}"


@dataclass(frozen=True)
class BenchPlan:
    """The runs of a bench and the settings every run shares (saved in bench.json)."""

    split: str
    competitions: tuple[str, ...]  # the ready ones; skipped ones are not planned
    agents: tuple[str, ...]
    seeds: int
    budget_s: float
    model: str | None = None
    api_base: str | None = None
    max_dollars: float | None = None
    trial_timeout_s: float | None = None
    max_steps: int | None = None
    data_dir: str | None = None

    def runs(self) -> list[RunSpec]:
        """Seed by seed, then competition, then agent: a bench cut short stays balanced
        across agents and has whole seeds first."""
        return [
            RunSpec(competition, agent, seed)
            for seed in range(self.seeds)
            for competition in self.competitions
            for agent in self.agents
        ]


# settings that must not change between two invocations of the same bench
SHARED_SETTINGS = (
    "budget_s",
    "model",
    "api_base",
    "max_dollars",
    "trial_timeout_s",
    "max_steps",
    "data_dir",
)


def offline_source(comp: Competition) -> str | None:
    """How `gome prepare` makes this competition's data with no credentials (mirror,
    practice), or None when it needs Kaggle (or a zip the user downloaded)."""
    if comp.mirror is not None:
        return "mirror"
    if comp.is_practice or comp.practice_source is not None:
        return "practice"
    return None


def split_competitions(split: str) -> list[Competition]:
    """The competitions a split names: one of `SPLITS`, or a file of ids (one per line, `#`
    comments). An unknown id in a file is an error (with the closest ids), not a skip."""
    if split in SPLITS:
        everything = list_competitions()
        if split == "lite":
            return [c for c in everything if c.suite == "lite"]
        if split == "tabular":
            # the lite competitions whose data is CSV tables: the specs' `modality` says so
            return [c for c in everything if c.suite == "lite" and c.modality == "tabular"]
        if split == "practice":
            return [c for c in everything if c.is_practice]
        return [c for c in everything if offline_source(c) is not None]
    path = Path(split)
    if not path.is_file():
        raise GomeError(f"--split must be one of {', '.join(SPLITS)} or a file of ids: {split}.")
    ids = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    ids = [cid for cid in ids if cid]
    if not ids:
        raise GomeError(f"{path} names no competition (one id per line).")
    if len(set(ids)) != len(ids):
        raise GomeError(f"{path} names a competition twice.")
    return [load_competition(cid) for cid in ids]


def split_name(split: str) -> str:
    """A folder-friendly name of the split: itself, or the stem of the file of ids."""
    return split if split in SPLITS else Path(split).stem


def ready_competitions(
    comps: Sequence[Competition], data_dir: Path | str | None, console: Console
) -> tuple[list[str], list[Skipped]]:
    """(ids whose data is there, skipped with reasons). Data that can be made offline is
    prepared now, one competition at a time, so that parallel runs never race to prepare it."""
    ready: list[str] = []
    skipped: list[Skipped] = []
    for comp in comps:
        if comp.is_prepared(data_dir):
            ready.append(comp.id)
            continue
        source = offline_source(comp)
        if source is None:
            how = "needs Kaggle data:" + (
                " run" if kaggle_credentials_present() else " set Kaggle credentials, then run"
            )
            skipped.append(Skipped(comp.id, f"data not prepared ({how} `gome prepare {comp.id}`)"))
            continue
        try:
            result = prepare_competition(comp, data_dir=data_dir, console=console)
        except (GomeError, OSError) as exc:  # OSError: no network, no disk space
            skipped.append(Skipped(comp.id, f"offline preparation ({source}) failed: {exc}"))
            continue
        console.print(result.message, highlight=False)
        ready.append(comp.id)
    return ready, skipped
