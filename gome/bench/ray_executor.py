"""`--executor ray`: one Ray task per run (`pip install 'gome[ray]'`, ray 2.60).

Each task asks Ray for the run's `num_cpus`/`num_gpus`, runs the run's `gome solve` subprocess
(`run_task`, as the local pool does) and writes into the run's folder under the bench folder:
that folder is the storage path, so on a cluster it must be a path every node sees (NFS, a
shared disk). When a node or a worker dies, or the run's process is killed by a signal (the
OOM killer), Ray retries the task (`max_retries`) on any node, and the retry resumes the run
from its journal: finished trials are neither lost nor rerun. A run that exits with an error
of its own is not retried; the bench reports it as failed.

Ray, not gome, starts tasks: a run counts as running from the moment it is submitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gome.bench.executors import OnDone, OnStart, RunOutcome, RunTask, attempts_of, run_task
from gome.errors import GomeError

DEFAULT_MAX_RETRIES = 3


class RunKilledError(RuntimeError):
    """A run's process died from a signal: worth retrying elsewhere (Ray retries this)."""


def run_on_worker(task: RunTask) -> RunOutcome:
    """The body of the Ray task: one attempt of the run on the GPUs Ray assigned."""
    import ray

    gpu_ids = [int(gpu) for gpu in ray.get_gpu_ids()][: task.gpus]
    outcome = run_task(task, gpu_ids)
    code = outcome.returncode
    if not outcome.interrupted and code is not None and code < 0:
        raise RunKilledError(f"{task.name}: {outcome.message}")
    return outcome


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise GomeError("--executor ray needs Ray: pip install 'gome[ray]' (ray==2.60.0).") from exc
    return ray


class RayExecutor:
    """Runs on a Ray cluster: `address` (None: the one this process is connected to, else a
    new local one; "auto": the cluster started with `ray start` on this machine)."""

    def __init__(
        self,
        address: str | None = None,
        *,
        max_retries: int = DEFAULT_MAX_RETRIES,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.address = address
        self.max_retries = max_retries
        self.init_kwargs = init_kwargs or {}

    def run(self, tasks: Sequence[RunTask], on_start: OnStart, on_done: OnDone) -> list[RunOutcome]:
        ray = _import_ray()
        own = not ray.is_initialized()
        if own:
            ray.init(
                address=self.address,
                include_dashboard=False,
                log_to_driver=False,
                **self.init_kwargs,
            )
        try:
            return self._run(ray, tasks, on_start, on_done)
        finally:
            if own:
                ray.shutdown()

    def _run(
        self, ray: Any, tasks: Sequence[RunTask], on_start: OnStart, on_done: OnDone
    ) -> list[RunOutcome]:
        remote = ray.remote(run_on_worker)
        refs: dict[Any, RunTask] = {}
        for task in tasks:
            ref = remote.options(
                num_cpus=task.cpus,
                num_gpus=task.gpus,
                max_retries=self.max_retries,
                retry_exceptions=[RunKilledError],
                name=task.name,
            ).remote(task)
            refs[ref] = task
            on_start(task.name)
        outcomes: list[RunOutcome] = []
        try:
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1)
                for ref in ready:
                    outcome = self._outcome(ray, ref, refs.pop(ref))
                    outcomes.append(outcome)
                    on_done(outcome)
        except KeyboardInterrupt:
            for ref in refs:
                ray.cancel(ref)  # a KeyboardInterrupt in the task: its run grades and stops
            for ref, task in refs.items():
                outcome = self._outcome(ray, ref, task, interrupted=True)
                outcomes.append(outcome)
                on_done(outcome)
        return outcomes

    @staticmethod
    def _outcome(ray: Any, ref: Any, task: RunTask, interrupted: bool = False) -> RunOutcome:
        try:
            outcome = ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            return RunOutcome(task.name, None, 0.0, attempts_of(task.run_dir), True)
        except ray.exceptions.RayError as exc:  # retries spent, or the cluster lost the task
            lines = [line for line in str(exc).splitlines() if line.strip()]
            reason = lines[-1].strip() if lines else type(exc).__name__
            return RunOutcome(
                task.name, None, 0.0, attempts_of(task.run_dir), interrupted, reason[:300]
            )
        return outcome
