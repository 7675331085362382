"""Run one of `omega/sandbox`'s workers through gome's sandboxed runner.

A job folder receives the worker, the files it imports, the candidate's module (as
`candidate.py`) and a JSON config; `./input` is the prepared datasets folder (read-only).
BLAS and OpenMP pools are pinned to one thread: the workers parallelise on their own.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gome.runner import Limits, RunResult, run_script
from omega.datasets import datasets_folder

SANDBOX_DIR = Path(__file__).parent / "sandbox"
CANDIDATE_MODULE = "candidate"
SINGLE_THREAD_ENV = {
    name: "1"
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_MAX_THREADS",
    )
}


@dataclass(frozen=True)
class WorkerRun:
    """The runner's result and the worker's JSON output (None when it wrote none)."""

    run: RunResult
    output: dict[str, Any] | None

    @property
    def output_tail(self) -> str:
        return self.run.output_excerpt[-1500:]


def run_worker(
    worker: str,
    folder: Path,
    config: dict[str, Any],
    *,
    timeout_s: float,
    candidate_code: str | None = None,
    input_dir: Path | None = None,
) -> WorkerRun:
    """Stage `folder` and run `omega/sandbox/<worker>.py` in it under the sandbox."""
    from omega.sandbox import check_worker, eval_worker

    module = {"check_worker": check_worker, "eval_worker": eval_worker}[worker]
    folder.mkdir(parents=True, exist_ok=True)
    for name in (worker, "reference"):
        shutil.copyfile(SANDBOX_DIR / f"{name}.py", folder / f"{name}.py")
    if candidate_code is not None:
        (folder / f"{CANDIDATE_MODULE}.py").write_text(candidate_code, encoding="utf-8")
    (folder / module.CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    result_path = folder / module.RESULT_FILE
    result_path.unlink(missing_ok=True)
    public = input_dir or datasets_folder()
    public.mkdir(parents=True, exist_ok=True)
    run = run_script(
        folder / f"{worker}.py", folder, public, Limits(timeout_s=timeout_s), env=SINGLE_THREAD_ENV
    )
    output = json.loads(result_path.read_text()) if result_path.is_file() else None
    return WorkerRun(run, output)
