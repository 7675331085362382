"""Where a bench's runs execute: each run is one `gome solve` subprocess, so a run that crashes
(or is killed) cannot take the bench down with it.

- `LocalExecutor`: a pool on this machine that starts a run only when its CPU and GPU slots are
  free (and pins it to its GPU with `--gpu N`).
- `RayExecutor` (`gome/bench/ray_executor.py`): one Ray task per run, with `num_cpus`/`num_gpus`.

Both start a run through `launch`, which decides *at start time* whether the run is fresh or
resumes from its journal: a retry, on any machine, continues the run instead of redoing it.
Each run folder gets `bench_console.log` (the run's console output, every attempt appended) and
`bench_attempts.jsonl` (when, where and how each attempt started).
"""

from __future__ import annotations

import ctypes
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from gome.errors import GomeError
from gome.models.server import cpu_count
from gome.solve import RUN_CONFIG_FILE

CONSOLE_LOG = "bench_console.log"
ATTEMPTS_FILE = "bench_attempts.jsonl"
# how long a run stopped by Ctrl-C may take to grade its best submission before it is killed
INTERRUPT_GRACE_S = 60.0
MESSAGE_LINES = 3

# Linux: a run dies with the thread that started it (prctl PR_SET_PDEATHSIG), so a bench or a
# Ray worker killed with -9 leaves no orphan writing to the journal while a retry resumes it.
# Looked up once here: the child may not import or allocate between fork and exec.
_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass(frozen=True)
class RunTask:
    """One run to execute: its folder and the two commands that start or continue it.

    `session` holds run.json config fields that belong to this bench session rather than to
    the run (the shared model server's address); a resumed run gets them rewritten before it
    starts, as it gets the GPU it was given now.
    """

    name: str
    run_dir: Path
    fresh: tuple[str, ...]
    resume: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    session: tuple[tuple[str, Any], ...] = ()
    cpus: float = 1.0
    gpus: int = 0

    @property
    def started(self) -> bool:
        return (self.run_dir / RUN_CONFIG_FILE).is_file()

    def attempt_argv(self, gpu_ids: Sequence[int]) -> list[str]:
        """The command of an attempt starting now (rewrites a started run's session fields)."""
        if not self.started:
            return [*self.fresh, *(("--gpu", str(gpu_ids[0])) if gpu_ids else ())]
        fields = dict(self.session) | ({"gpu": gpu_ids[0]} if gpu_ids else {})
        if fields:
            path = self.run_dir / RUN_CONFIG_FILE
            payload = json.loads(path.read_text(encoding="utf-8"))
            payload["config"].update(fields)
            tmp = path.with_name(path.name + ".bench.tmp")
            tmp.write_text(json.dumps(payload, indent=2), encoding="utf-8")
            os.replace(tmp, path)
        return list(self.resume)


@dataclass(frozen=True)
class RunOutcome:
    """How one execution of a run ended."""

    name: str
    returncode: int | None  # None: no exit code (interrupted, or lost with its retries)
    wall_s: float
    attempts: int  # attempts ever started for this run, this one included
    interrupted: bool = False
    message: str = ""  # why it failed: the last lines of its console output

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.interrupted


OnStart = Callable[[str], None]
OnDone = Callable[[RunOutcome], None]


class Executor(Protocol):
    """Runs tasks to the end; reports each start and end; returns the outcomes.

    On Ctrl-C it stops the runs in flight (each grades its best submission so far), reports
    them as interrupted, and returns without starting more.
    """

    def run(
        self, tasks: Sequence[RunTask], on_start: OnStart, on_done: OnDone
    ) -> list[RunOutcome]: ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def launch(task: RunTask, gpu_ids: Sequence[int] = ()) -> subprocess.Popen[bytes]:
    """Start one attempt of a run (fresh or resumed) in its own session; log how and where."""
    task.run_dir.mkdir(parents=True, exist_ok=True)
    argv = task.attempt_argv(gpu_ids)
    attempt = {"started_at": _now(), "host": socket.gethostname(), "gpus": list(gpu_ids)}
    with (task.run_dir / ATTEMPTS_FILE).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(attempt | {"argv": argv}) + "\n")
    with (task.run_dir / CONSOLE_LOG).open("ab") as log:
        log.write(f"--- {attempt['started_at']} {' '.join(argv)}\n".encode())
        log.flush()
        return subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=os.environ | dict(task.env),
            start_new_session=True,  # a terminal's Ctrl-C reaches the bench, which stops runs
            preexec_fn=_die_with_parent,
        )


def attempts_of(run_dir: Path) -> int:
    path = run_dir / ATTEMPTS_FILE
    return len(path.read_text(encoding="utf-8").splitlines()) if path.is_file() else 0


def _tail(path: Path, lines: int = MESSAGE_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


def outcome_of(task: RunTask, proc: subprocess.Popen[bytes], wall_s: float) -> RunOutcome:
    code = proc.returncode
    message = ""
    if code != 0:
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit {code}"
        message = f"{how}: {_tail(task.run_dir / CONSOLE_LOG)}"
    return RunOutcome(task.name, code, wall_s, attempts_of(task.run_dir), message=message)


def interrupt(procs: Sequence[subprocess.Popen[bytes]], grace_s: float = INTERRUPT_GRACE_S) -> None:
    """Ctrl-C for runs: SIGINT (each stops its trials and grades), then SIGKILL after grace."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + grace_s
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_task(task: RunTask, gpu_ids: Sequence[int] = ()) -> RunOutcome:
    """One attempt of a run, start to end, in the calling thread (what a Ray task does)."""
    started = time.monotonic()
    proc = launch(task, gpu_ids)
    try:
        proc.wait()
    except KeyboardInterrupt:
        interrupt([proc])
        return RunOutcome(
            task.name, None, time.monotonic() - started, attempts_of(task.run_dir), True
        )
    return outcome_of(task, proc, time.monotonic() - started)


@dataclass
class _Running:
    task: RunTask
    proc: subprocess.Popen[bytes]
    gpu_ids: list[int]
    started: float


class LocalExecutor:
    """A pool of run subprocesses on this machine.

    A run starts when it fits: fewer than `max_parallel` running, its `cpus` within the CPUs
    left (a run asking for more than the machine has runs alone) and `gpus` free GPU ids,
    which it holds until it ends. Runs start in the order given.
    """

    def __init__(
        self,
        *,
        cpus: float | None = None,
        gpu_ids: Sequence[int] = (),
        max_parallel: int | None = None,
    ) -> None:
        self.cpus = float(cpus if cpus is not None else cpu_count())
        self.gpu_ids = list(gpu_ids)
        self.max_parallel = max_parallel

    def run(self, tasks: Sequence[RunTask], on_start: OnStart, on_done: OnDone) -> list[RunOutcome]:
        short = next((t for t in tasks if t.gpus > len(self.gpu_ids)), None)
        if short is not None:
            raise GomeError(
                f"{short.name} needs {short.gpus} GPU(s); this machine offers "
                f"{len(self.gpu_ids)} (see --gpus)."
            )
        pending = deque(tasks)
        running: dict[int, _Running] = {}
        free_gpus = list(self.gpu_ids)
        ended: queue.Queue[int] = queue.Queue()
        outcomes: list[RunOutcome] = []

        def fits(task: RunTask) -> bool:
            if self.max_parallel is not None and len(running) >= self.max_parallel:
                return False
            used = sum(r.task.cpus for r in running.values())
            return task.gpus <= len(free_gpus) and (not running or used + task.cpus <= self.cpus)

        def watch(proc: subprocess.Popen[bytes]) -> None:
            proc.wait()
            ended.put(proc.pid)

        try:
            while pending or running:
                while pending and fits(pending[0]):
                    task = pending.popleft()
                    gpu_ids = [free_gpus.pop(0) for _ in range(task.gpus)]
                    proc = launch(task, gpu_ids)
                    running[proc.pid] = _Running(task, proc, gpu_ids, time.monotonic())
                    threading.Thread(target=watch, args=(proc,), daemon=True).start()
                    on_start(task.name)
                entry = running.pop(ended.get())
                free_gpus.extend(entry.gpu_ids)
                outcome = outcome_of(entry.task, entry.proc, time.monotonic() - entry.started)
                outcomes.append(outcome)
                on_done(outcome)
        except KeyboardInterrupt:
            interrupt([entry.proc for entry in running.values()])
            for entry in running.values():
                wall = time.monotonic() - entry.started
                outcome = RunOutcome(
                    entry.task.name, None, wall, attempts_of(entry.task.run_dir), True
                )
                outcomes.append(outcome)
                on_done(outcome)
        return outcomes
