"""The evaluation suite: every estimator cross-validated on the same folds of every dataset.

One sandboxed run of `sandbox/eval_worker.py` per estimator parallelises its (dataset, fold)
fits over `n_jobs` processes with a time cap per fit. Reference models' scores are cached per
suite fingerprint (datasets, folds, seed, cap and library versions), so a candidate's
evaluation costs only its own fits; `fresh=True` measures them again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from gome.settings import cache_root
from omega.candidate import Candidate
from omega.datasets import Dataset
from omega.execute import CANDIDATE_MODULE, run_worker
from omega.sandbox.reference import BASELINES

# Slack on top of the sum of fit caps, for start-up and dataset loading.
RUN_OVERHEAD_S = 120.0


def _version(distribution: str) -> str:
    """Installed version; xgboost may come as the `xgboost-cpu` distribution."""
    for name in (distribution, f"{distribution}-cpu"):
        with contextlib.suppress(PackageNotFoundError):
            return version(name)
    return "absent"


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)))


@dataclass(frozen=True)
class Suite:
    """Datasets (prepared) and the protocol: `n_repeats` x `n_splits`-fold CV, a seed, a cap."""

    datasets: tuple[Dataset, ...]
    n_splits: int = 2
    n_repeats: int = 5
    seed: int = 0
    fit_timeout_s: float = 60.0
    n_jobs: int = field(default_factory=default_jobs)

    def of_task(self, task: str) -> list[Dataset]:
        return [d for d in self.datasets if d.task == task]

    @property
    def tasks(self) -> list[str]:
        return list(dict.fromkeys(d.task for d in self.datasets))

    def fingerprint(self, task: str) -> str:
        """What a task's scores depend on: its datasets, the protocol, library versions."""
        libraries = [_version(name) for name in ("scikit-learn", "lightgbm", "xgboost")]
        text = json.dumps(
            [
                sorted(d.spec.fingerprint for d in self.of_task(task)),
                self.n_splits,
                self.n_repeats,
                self.seed,
                self.fit_timeout_s,
                libraries,
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Entrant:
    """Something to evaluate: a reference model by name, or a candidate's module."""

    name: str
    task: str
    baseline: str | None = None
    code: str | None = None
    class_name: str | None = None

    @classmethod
    def of_candidate(cls, name: str, candidate: Candidate) -> Entrant:
        class_name = candidate.inspection.class_name
        return cls(name, candidate.task, code=candidate.code, class_name=class_name)

    @property
    def worker_spec(self) -> dict[str, str]:
        if self.baseline is not None:
            return {"baseline": self.baseline}
        assert self.class_name is not None
        return {"module": CANDIDATE_MODULE, "class_name": self.class_name}


def baselines(task: str) -> list[Entrant]:
    return [Entrant(name, task, baseline=name) for name in BASELINES[task]]


@dataclass(frozen=True)
class Scores:
    """One estimator's fold scores per dataset (NaN where a fold failed) and how it went."""

    name: str
    task: str
    folds: dict[str, list[float]]
    status: dict[str, str]  # dataset -> ok | error | timeout
    errors: dict[str, str]
    seconds: float
    is_baseline: bool

    def fold_array(self, dataset: str) -> np.ndarray:
        return np.asarray(self.folds[dataset], dtype=float)

    def mean(self, dataset: str) -> float:
        values = self.fold_array(dataset)
        return float("nan") if np.isnan(values).any() else float(values.mean())

    @property
    def valid(self) -> bool:
        return all(s == "ok" for s in self.status.values())

    @property
    def failed_datasets(self) -> list[str]:
        return [name for name, s in self.status.items() if s != "ok"]


def _scores_from(
    entrant: Entrant, names: list[str], output: dict | None, tail: str, seconds: float
) -> Scores:
    folds: dict[str, list[float]] = {}
    status: dict[str, str] = {}
    errors: dict[str, str] = {}
    per_dataset = (output or {}).get("datasets", {})
    for name in names:
        outcomes = per_dataset.get(name)
        if not outcomes:
            folds[name], status[name], errors[name] = [float("nan")], "error", tail
            continue
        folds[name] = [o["score"] if o["status"] == "ok" else float("nan") for o in outcomes]
        bad = [o for o in outcomes if o["status"] != "ok"]
        status[name] = bad[0]["status"] if bad else "ok"
        if bad:
            errors[name] = bad[0]["error"]
    is_baseline = entrant.baseline is not None
    return Scores(entrant.name, entrant.task, folds, status, errors, seconds, is_baseline)


def _cache_path(suite: Suite, entrant: Entrant) -> Path:
    folder = cache_root() / "omega" / "scores" / suite.fingerprint(entrant.task)
    return folder / f"{entrant.name}.json"


def evaluate(entrant: Entrant, suite: Suite, work_dir: Path, *, fresh: bool = False) -> Scores:
    """Cross-validate one entrant on the suite's datasets of its task (baselines: cached)."""
    datasets = suite.of_task(entrant.task)
    names = [d.name for d in datasets]
    cache = _cache_path(suite, entrant) if entrant.baseline is not None else None
    if cache is not None and cache.is_file() and not fresh:
        return Scores(**json.loads(cache.read_text()))
    fits = sum(suite.n_splits * suite.n_repeats for _ in datasets)
    config = {
        "estimator": entrant.worker_spec,
        "task": entrant.task,
        "datasets": names,
        "n_splits": suite.n_splits,
        "n_repeats": suite.n_repeats,
        "seed": suite.seed,
        "fit_timeout_s": suite.fit_timeout_s,
        "n_jobs": suite.n_jobs,
    }
    done = run_worker(
        "eval_worker",
        work_dir / f"{entrant.task}_{entrant.name}",
        config,
        timeout_s=fits * suite.fit_timeout_s / suite.n_jobs + RUN_OVERHEAD_S,
        candidate_code=entrant.code,
        input_dir=datasets[0].folder if datasets else None,
    )
    scores = _scores_from(entrant, names, done.output, done.output_tail, done.run.duration_s)
    if cache is not None and done.output is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(asdict(scores)))
    return scores
