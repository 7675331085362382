"""Scripts that misbehave on purpose: each ends with the right label, leaves no process behind
and changes nothing outside its trial folder. Limits are kept small so a failure of the sandbox
cannot hurt the machine (a 1 GiB memory cap, a 64-process cap, seconds-long timeouts).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from gome import runner
from gome.runner import FailureLabel, Limits, RunResult, run_script

GIB = 1024**3
SECRET = "answer-row-7f3c9d"  # content of the private answers; must never reach the output

needs_bwrap = pytest.mark.skipif(
    runner._sandbox().bwrap is None, reason="filesystem and network isolation need bubblewrap"
)


@dataclass
class Arena:
    """A run folder with public data, private answers and one trial folder."""

    root: Path
    token: str

    @property
    def public(self) -> Path:
        return self.root / "data" / "public"

    @property
    def private(self) -> Path:
        return self.root / "data" / "private"

    @property
    def trial(self) -> Path:
        return self.root / "run" / "trial"

    def run(self, code: str, limits: Limits) -> RunResult:
        script = self.trial / f"hostile_{self.token}.py"
        script.write_text(code)
        return run_script(script, self.trial, self.public, limits)

    def output(self, result: RunResult) -> str:
        return result.stdout_path.read_text() + result.stderr_path.read_text()

    def snapshot(self) -> dict[str, tuple[int, int]]:
        """(size, mtime) of every path under the arena except the trial folder."""
        return {
            str(path.relative_to(self.root)): (path.lstat().st_size, path.lstat().st_mtime_ns)
            for path in sorted(self.root.rglob("*"))
            if not path.is_relative_to(self.trial)
        }

    def survivors(self, wait_s: float = 3.0) -> list[int]:
        """Pids still running this arena's script, after letting a dying sandbox settle."""
        deadline = time.monotonic() + wait_s
        while True:
            pids = [
                int(entry.name)
                for entry in Path("/proc").iterdir()
                if entry.name.isdigit() and self.token.encode() in _cmdline(entry)
            ]
            if not pids or time.monotonic() > deadline:
                return pids
            time.sleep(0.1)


def _cmdline(proc_entry: Path) -> bytes:
    try:
        return (proc_entry / "cmdline").read_bytes()
    except OSError:
        return b""


@pytest.fixture
def arena(tmp_path: Path) -> Arena:
    made = Arena(tmp_path, uuid.uuid4().hex[:12])
    made.public.mkdir(parents=True)
    made.private.mkdir(parents=True)
    made.trial.mkdir(parents=True)
    (made.public / "train.csv").write_text("id,x\n1,2\n")
    (made.private / "answers.csv").write_text(f"id,y\n1,{SECRET}\n")
    return made


def test_infinite_loop_times_out(arena: Arena) -> None:
    before = arena.snapshot()
    result = arena.run("while True:\n    pass\n", Limits(timeout_s=2, kill_grace_s=0.5))
    assert result.label is FailureLabel.TIMEOUT and result.timed_out
    assert result.duration_s < 8
    assert arena.survivors() == []
    assert arena.snapshot() == before


def test_fork_of_200_sleepers_is_capped_or_killed(arena: Arena) -> None:
    code = (
        "import os, time\n"
        "for _ in range(200):\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "time.sleep(60)\n"
    )
    before = arena.snapshot()
    result = arena.run(code, Limits(timeout_s=4, kill_grace_s=0.5, nproc=64))
    # Under the process cap fork fails (crash); without one, the timeout kills the group.
    assert result.label in (FailureLabel.CRASH, FailureLabel.TIMEOUT)
    if result.label is FailureLabel.CRASH:
        assert "Resource temporarily unavailable" in result.output_excerpt
    assert result.duration_s < 10
    assert arena.survivors() == []
    assert arena.snapshot() == before


def test_64_gib_allocation_is_oom(arena: Arena) -> None:
    before = arena.snapshot()
    result = arena.run("buffer = bytearray(64 * 2**30)\n", Limits(timeout_s=30, memory_bytes=GIB))
    assert result.label is FailureLabel.OOM
    assert "MemoryError" in result.output_excerpt
    assert result.duration_s < 20
    assert result.peak_rss_bytes < GIB
    assert arena.snapshot() == before


def test_printing_1_gb_is_capped_on_disk(arena: Arena) -> None:
    code = (
        "import sys\n"
        "line = b'x' * (1 << 20) + b'\\n'\n"
        "for _ in range(1024):\n"
        "    sys.stdout.buffer.write(line)\n"
        "open('submission.csv', 'w').write('id,y\\n1,0\\n')\n"
        "print('validation_score: 0.5')\n"
    )
    cap = 1_000_000
    result = arena.run(code, Limits(timeout_s=120, max_output_bytes=cap))
    assert result.label is FailureLabel.OK  # the metric after the flood is still found
    assert result.validation_score == 0.5
    assert cap <= result.stdout_path.stat().st_size <= cap + 200
    assert "output truncated" in result.stdout_path.read_text()[-200:]
    assert len(result.output_excerpt) < 6000


@needs_bwrap
def test_private_answers_are_not_reachable(arena: Arena) -> None:
    code = (
        "import os\n"
        f"print('siblings:', sorted(os.listdir({str(arena.public.parent)!r})))\n"
        f"print(open({str(arena.private / 'answers.csv')!r}).read())\n"
    )
    before = arena.snapshot()
    result = arena.run(code, Limits(timeout_s=30))
    assert result.label is FailureLabel.CRASH
    output = arena.output(result)
    assert "siblings: ['public']" in output
    assert "FileNotFoundError" in output
    assert SECRET not in output and SECRET not in result.output_excerpt
    assert arena.snapshot() == before


@needs_bwrap
def test_writes_outside_the_trial_folder_do_not_land(arena: Arena) -> None:
    host_tmp = Path(f"/tmp/gome-hostile-{arena.token}.txt")
    targets = [
        arena.public / "evil.txt",
        arena.root / "outside.txt",
        arena.trial.parent / "sibling.txt",
        host_tmp,
    ]
    code = (
        "for path in " + repr([str(t) for t in targets]) + " + ['input/evil2.txt']:\n"
        "    try:\n"
        "        open(path, 'w').write('pwned')\n"
        "        print('wrote', path)\n"
        "    except OSError as error:\n"
        "        print('blocked', path, type(error).__name__)\n"
    )
    before = arena.snapshot()
    result = arena.run(code, Limits(timeout_s=30))
    assert result.label is FailureLabel.NO_SUBMISSION
    assert "blocked input/evil2.txt" in result.stdout_path.read_text()
    for target in targets:
        assert not target.exists(), target
    assert arena.snapshot() == before


@needs_bwrap
def test_network_is_unreachable(arena: Arena) -> None:
    accepted: list[object] = []
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.2)
        port = server.getsockname()[1]
        stop = threading.Event()

        def accept() -> None:
            while not stop.is_set():
                try:
                    accepted.append(server.accept())
                except TimeoutError:
                    continue

        listener = threading.Thread(target=accept)
        listener.start()
        code = (
            "import socket, sys\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=3).sendall(b'hi')\n"
            "except OSError as error:\n"
            "    print('connect failed', type(error).__name__)\n"
            "    sys.exit(3)\n"
        )
        result = arena.run(code, Limits(timeout_s=30))
        stop.set()
        listener.join()
    assert result.label is FailureLabel.CRASH and result.exit_code == 3
    assert "connect failed" in result.stdout_path.read_text()
    assert accepted == []


def test_exit_zero_without_submission(arena: Arena) -> None:
    code = (
        "import os\n"
        "open('predictions.csv', 'w').write('id,y\\n1,0\\n')\n"
        "print('validation_score: 0.99', flush=True)\n"
        "os._exit(0)\n"
    )
    before = arena.snapshot()
    result = arena.run(code, Limits(timeout_s=30))
    assert result.label is FailureLabel.NO_SUBMISSION
    assert result.submission_path is None and result.exit_code == 0
    assert (arena.trial / "predictions.csv").exists()
    assert arena.snapshot() == before
