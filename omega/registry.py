"""Accepted algorithms: one module and one metadata file each, in a registry folder.

Default folder: `<cache>/omega/registry` (`GOME_OMEGA_REGISTRY` or `--registry` elsewhere).
`<name>.py` is the candidate's module, self-contained; `<name>.json` holds its class, task,
idea, lineage (origin, principle, parents, repairs) and scores (mean rank against the
reference models, per-dataset means, wins/ties/losses). Agents get them through
`prompt_snippet` (GoME's prompts, `GomeConfig.omega_models`): a solution script runs in the
sandbox, where the registry is not mounted, so the snippet carries the code to paste.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

from gome.settings import cache_root
from omega.candidate import Candidate
from omega.evaluate import Scores
from omega.report import mean_table, records_against_baselines
from omega.stats import rank_table


def default_registry() -> Path:
    """`GOME_OMEGA_REGISTRY` (a registry shared by a team, or a test's own), else
    `<cache>/omega/registry`."""
    override = os.environ.get("GOME_OMEGA_REGISTRY")
    return Path(override) if override else cache_root() / "omega" / "registry"


@dataclass(frozen=True)
class Verdict:
    """Accepted when valid on every dataset and its mean rank is no worse than the median
    reference model's, both ranked among the reference models and this candidate only."""

    accepted: bool
    mean_rank: float
    median_baseline_rank: float
    reason: str
    baseline_ranks: dict[str, float] = field(default_factory=dict)


def judge(candidate: Scores, baselines: list[Scores]) -> Verdict:
    ranks = rank_table(mean_table([*baselines, candidate])).mean(axis=0)
    own = float(ranks[candidate.name])
    others = {b.name: float(ranks[b.name]) for b in baselines}
    bar = float(median(others.values()))
    if not candidate.valid:
        failed = ", ".join(candidate.failed_datasets[:5])
        return Verdict(False, own, bar, f"failed on {failed}", others)
    if own > bar:
        return Verdict(False, own, bar, f"mean rank {own:.2f} > median baseline {bar:.2f}", others)
    return Verdict(True, own, bar, f"mean rank {own:.2f} <= median baseline {bar:.2f}", others)


@dataclass(frozen=True)
class Entry:
    """A registry algorithm as its metadata file describes it."""

    name: str
    class_name: str
    task: str
    idea: str
    origin: str
    principle: str
    parents: list[str]
    repairs: int
    mean_rank: float
    median_baseline_rank: float
    scores: dict[str, float]
    wtl: dict[str, list[int]]
    created: str
    folder: Path

    @property
    def module_path(self) -> Path:
        return self.folder / f"{self.name}.py"

    @property
    def code(self) -> str:
        return self.module_path.read_text(encoding="utf-8")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save(
    folder: Path,
    candidate: Candidate,
    scores: Scores,
    baselines: list[Scores],
    verdict: Verdict,
    repairs: int,
) -> Entry:
    """Write `<name>.py` then `<name>.json` (the metadata last: its presence means complete)."""
    folder.mkdir(parents=True, exist_ok=True)
    name = candidate.registry_name
    inspection = candidate.inspection
    wtl = {r.b: [r.wins, r.ties, r.losses] for r in records_against_baselines([*baselines, scores])}
    meta: dict[str, Any] = {
        "name": name,
        "class_name": inspection.class_name,
        "task": candidate.task,
        "idea": inspection.idea,
        "origin": candidate.origin,
        "principle": candidate.principle,
        "parents": list(candidate.parents),
        "repairs": repairs,
        "mean_rank": verdict.mean_rank,
        "median_baseline_rank": verdict.median_baseline_rank,
        "scores": {d: scores.mean(d) for d in scores.folds},
        "wtl": wtl,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _atomic_write(folder / f"{name}.py", candidate.code)
    _atomic_write(folder / f"{name}.json", json.dumps(meta, indent=1))
    return Entry(**meta, folder=folder)


def entries(folder: Path | None = None, task: str | None = None) -> list[Entry]:
    """Registry algorithms, best mean rank first."""
    folder = folder or default_registry()
    found = []
    for meta_path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if (folder / f"{meta['name']}.py").is_file() and task in (None, meta["task"]):
            found.append(Entry(**meta, folder=folder))
    return sorted(found, key=lambda e: (e.task, e.mean_rank))


def as_dict(entry: Entry) -> dict[str, Any]:
    data = asdict(entry)
    data["folder"] = str(entry.folder)
    return data


def prompt_snippet(
    task: str, folder: Path | None = None, limit: int = 3, *, with_code: bool = True
) -> str:
    """Text an agent's prompt can include: the best registry algorithms for `task`, each with
    its idea, its standing and (`with_code`) its code to paste into a solution script; without
    code it suits prompts that only choose what to try. Empty when none."""
    chosen = entries(folder, task)[:limit]
    if not chosen:
        return ""
    parts = [
        "Extra model choices: scikit-learn estimators invented and validated by OMEGA (mean "
        "rank against 7 reference models over many datasets; lower is better). To use one, "
        "paste its class into the script and use it like any scikit-learn estimator."
    ]
    for e in chosen:
        code = f"\n```python\n{e.code.strip()}\n```" if with_code else ""
        parts.append(
            f"- `{e.class_name}` (mean rank {e.mean_rank:.2f} vs median baseline "
            f"{e.median_baseline_rank:.2f}): {e.idea}{code}"
        )
    return "\n".join(parts)
