"""Sandboxed execution of one solution script: limits, GPU pinning, captured output, a result.

`run_script` runs `python <script>` with the trial folder as working directory, where `./input`
is the competition's public data and the script must write `./submission.csv`.

Isolation (detected once per process, see `isolation_mode()`; `GOME_SANDBOX=bwrap` requires
bubblewrap, `GOME_SANDBOX=none` forces the fallback):

- **bubblewrap** (`bwrap`): new network, pid, ipc and uts namespaces; a fresh root holding only
  the system (`/usr`, `/etc`, `/lib*`, `/bin`) and the Python prefixes read-only, the public data
  read-only, the trial folder writable, private tmpfs `/tmp` and `/dev/shm`. The private answers,
  the repository and the rest of the run folder do not exist inside. Killing bwrap kills the
  whole pid namespace at once (no SIGTERM grace), so no process of the script outlives the run.
  The public data must be readable by others (mode o+r), since the script is not its owner.
  Inside, a tiny launcher (`python -S`, kept as uid 0 with only CAP_SETUID/CAP_SETGID when gome
  is root) forks the script, switches it to the real uid 65534 (nobody) and reports its peak RSS
  through a pipe. A user namespace alone would leave the kernel uid at 0, which `RLIMIT_NPROC`
  exempts, so the real uid switch is what makes the process cap bite; the trial folder is chowned
  to that uid. The launcher, not the script, stays next to bwrap's init, which must share the
  outer bwrap's uid for `--die-with-parent` to reach it. As a normal user bwrap uses a user
  namespace instead and `RLIMIT_NPROC` counts the user's own processes too, so the cap is raised
  by those.
- **fallback** (no usable bwrap): the script runs in its own session as uid 65534 when gome is
  root and that uid can run the interpreter, otherwise as the current user. There is no network
  or filesystem isolation beyond file permissions; `./input` is a symlink to the public data.

Limits: the wall clock kills the whole process group (SIGTERM, then SIGKILL after a grace);
memory is capped with `RLIMIT_DATA` (private writable memory: heap and anonymous mmaps), not
`RLIMIT_AS`, because address-space reservations (glibc per-thread arenas, CUDA) would trip
`RLIMIT_AS` far below real use; cgroups are not used because gome usually cannot create them.
Each output stream is kept on disk up to `max_output_bytes` and drained past it.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import IO, Any

from gome.errors import GomeError

METRIC_LINE_PREFIX = "validation_score:"
METRIC_LINE_INSTRUCTION = (
    "After validating, print the local validation score to stdout on its own line, exactly "
    f"`{METRIC_LINE_PREFIX} <number>` (e.g. `print(f'{METRIC_LINE_PREFIX} {{score:.6f}}')`), "
    "in the competition metric's own units; the last such line counts."
)
_METRIC_RE = re.compile(rf"^\s*{re.escape(METRIC_LINE_PREFIX)}\s*(\S+)\s*$", re.IGNORECASE)

SANDBOX_ENV = "GOME_SANDBOX"  # "auto" (default), "bwrap" (required) or "none" (fallback)
SANDBOX_UID = 65534  # nobody
SUBMISSION_NAME = "submission.csv"
GIB = 1024**3
EXCERPT_HEAD_CHARS = 2000
EXCERPT_TAIL_CHARS = 3000
_CANCEL_POLL_S = 0.2
_KEEP_BYTES = 8000  # head and tail of each stream kept in memory for excerpts and parsing
_OOM_MARKERS = ("MemoryError", "std::bad_alloc", "Cannot allocate memory", "out of memory")


class FailureLabel(StrEnum):
    OK = "ok"
    CRASH = "crash"
    TIMEOUT = "timeout"
    OOM = "oom"
    NO_SUBMISSION = "no-submission"
    INVALID_SUBMISSION = "invalid-submission"
    NO_METRIC = "no-metric"


def _default_memory_bytes() -> int:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return min(16 * GIB, int(total * 0.75))


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run."""

    timeout_s: float = 3600.0
    memory_bytes: int = field(default_factory=_default_memory_bytes)
    max_output_bytes: int = 20_000_000  # per stream kept on disk; the rest is dropped
    gpu: int | None = None  # pinned via CUDA_VISIBLE_DEVICES; None hides every GPU
    nproc: int = 4096  # processes+threads of the sandbox uid (shared by concurrent runs)
    kill_grace_s: float = 2.0  # SIGTERM -> SIGKILL delay at timeout (fallback mode)

    def describe(self) -> str:
        """One line for prompts."""
        gpu = f"GPU {self.gpu}" if self.gpu is not None else "no GPU"
        return (
            f"Limits: {self.timeout_s / 60:.0f} min wall clock, "
            f"{self.memory_bytes / GIB:.1f} GiB memory, {gpu}, no network."
        )


@dataclass(frozen=True)
class RunResult:
    """What one run did. `validation_score` is what the script printed, whatever the label."""

    exit_code: int
    label: FailureLabel
    duration_s: float
    peak_rss_bytes: int
    validation_score: float | None
    submission_path: Path | None
    validity_message: str | None
    output_excerpt: str
    stdout_path: Path
    stderr_path: Path
    isolation: str
    timed_out: bool

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, Path):
                data[key] = str(value)
        data["label"] = str(self.label)
        return data


def parse_validation_score(text: str) -> float | None:
    """The number on the last `validation_score: <x>` line; None if absent or not finite."""
    for line in reversed(text.splitlines()):
        match = _METRIC_RE.match(line)
        if match:
            try:
                value = float(match.group(1))
            except ValueError:
                return None
            return value if math.isfinite(value) else None
    return None


def head_tail(text: str, head: int = EXCERPT_HEAD_CHARS, tail: int = EXCERPT_TAIL_CHARS) -> str:
    """`text` itself if short, else its first `head` and last `tail` characters."""
    if len(text) <= head + tail:
        return text
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[... {omitted} characters omitted ...]\n{text[-tail:]}"


# --- sandbox detection -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sandbox:
    bwrap: str | None  # path of bwrap when it is used
    drop_uid: bool  # the script runs as SANDBOX_UID
    description: str


def _as_sandbox_user() -> None:
    os.setgroups([])
    os.setgid(SANDBOX_UID)
    os.setuid(SANDBOX_UID)


def _python_runs_as_sandbox_user() -> bool:
    """Can uid 65534 start this interpreter (e.g. not when it lives under a 0700 /root)?"""
    try:
        done = subprocess.run(
            [sys.executable, "-c", "pass"],
            preexec_fn=_as_sandbox_user,
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _bwrap_sandbox(bwrap: str) -> _Sandbox | None:
    """The bwrap sandbox if a probe run of the interpreter inside it succeeds."""
    root = os.geteuid() == 0
    who = f"uid {SANDBOX_UID}" if root else "user namespace"
    sandbox = _Sandbox(
        bwrap=bwrap,
        drop_uid=root,
        description=f"bubblewrap: net+pid namespaces, read-only data, {who}, process cap",
    )
    with tempfile.TemporaryDirectory(prefix="gome-probe-") as tmp:
        probe = Path(tmp)
        (probe / "input").mkdir()
        (probe / "trial").mkdir()
        if sandbox.drop_uid:
            os.chown(probe / "trial", SANDBOX_UID, SANDBOX_UID)
        (probe / "trial" / "probe.py").write_text("import sys\n")
        command = _bwrap_command(sandbox, probe / "trial", probe / "input", Limits(), -1)
        try:
            done = subprocess.run([*command, "probe.py"], capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
    return sandbox if done.returncode == 0 else None


@cache
def _detect(mode: str) -> _Sandbox:
    if mode != "none":
        bwrap = shutil.which("bwrap")
        sandbox = _bwrap_sandbox(bwrap) if bwrap else None
        if sandbox is not None:
            return sandbox
        if mode == "bwrap":
            raise GomeError(f"{SANDBOX_ENV}=bwrap but bubblewrap is missing or unusable here")
    if os.geteuid() == 0 and _python_runs_as_sandbox_user():
        return _Sandbox(None, True, "fallback: uid nobody, no network isolation")
    return _Sandbox(None, False, "fallback: current user, no network or filesystem isolation")


def _sandbox() -> _Sandbox:
    return _detect(os.environ.get(SANDBOX_ENV, "auto"))


def isolation_mode() -> str:
    """What isolation runs get on this machine, e.g. 'bubblewrap: net+pid namespaces, ...'."""
    return _sandbox().description


# --- command line ------------------------------------------------------------------------------


def _python_prefixes() -> list[Path]:
    """Folders the interpreter and its packages live in (bound read-only into the sandbox)."""
    candidates = {
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(sys.exec_prefix),
        Path(os.path.realpath(sys.executable)).parent.parent,
    }
    resolved = sorted({p.resolve() for p in candidates if p.exists()})
    # Keep outermost folders only; those under a system folder are visible already.
    kept: list[Path] = []
    for path in resolved:
        if any(path.is_relative_to(k) for k in kept) or _under_system(path):
            continue
        kept.append(path)
    return kept


_SYSTEM_PATHS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def _under_system(path: Path) -> bool:
    return any(path.is_relative_to(p) for p in _SYSTEM_PATHS)


def _system_args() -> list[str]:
    args: list[str] = []
    for name in _SYSTEM_PATHS:
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    return args


class _Mounts:
    """Bind mounts at their host paths, creating world-traversable parent folders first.

    bwrap makes missing parents with mode 0700, which the sandbox uid could not traverse.
    """

    def __init__(self) -> None:
        self.args: list[str] = []
        self._dirs: set[Path] = {Path("/"), Path("/tmp")}

    def bind(self, path: Path, *, writable: bool = False) -> None:
        for parent in reversed(path.parents):
            if parent not in self._dirs:
                self._dirs.add(parent)
                self.args += ["--perms", "0755", "--dir", str(parent)]
        self._dirs.add(path)
        self.args += ["--bind" if writable else "--ro-bind", str(path), str(path)]


# Runs inside bwrap: fork the script (as uid argv[2] when >= 0), report its peak RSS in KiB on
# fd argv[1], exit with its status (128 + N for signal N, as bwrap reports signals).
_LAUNCHER = """
import os, sys
fd, uid, script = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
pid = os.fork()
if pid == 0:
    if fd >= 0:
        os.close(fd)
    if uid >= 0:
        os.setgroups([]); os.setgid(uid); os.setuid(uid)
    os.execv(sys.executable, [sys.executable, script])
_, status, usage = os.wait4(pid, 0)
if fd >= 0:
    os.write(fd, str(usage.ru_maxrss).encode())
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""


def _bwrap_command(
    sandbox: _Sandbox, trial_dir: Path, public_dir: Path, limits: Limits, rss_fd: int
) -> list[str]:
    """bwrap argv up to the launcher; the caller appends the script name.

    `rss_fd` is the inherited pipe the launcher writes the peak RSS to (-1: none).
    """
    assert sandbox.bwrap is not None
    tmpfs_size = str(limits.memory_bytes)
    args = [sandbox.bwrap, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    args += ["--die-with-parent", "--new-session"]
    if sandbox.drop_uid:
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user", "--cap-drop", "ALL"]
    args += _system_args()
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "1777", "--size", tmpfs_size, "--tmpfs", "/dev/shm"]
    args += ["--perms", "1777", "--size", tmpfs_size, "--tmpfs", "/tmp"]
    if limits.gpu is not None:
        for device in sorted(Path("/dev").glob("nvidia*")):
            args += ["--dev-bind", str(device), str(device)]
        args += ["--ro-bind", "/sys", "/sys"]
    mounts = _Mounts()
    for prefix in _python_prefixes():
        mounts.bind(prefix)
    mounts.bind(public_dir)
    for target in _link_targets(public_dir):
        mounts.bind(target)
    mounts.bind(trial_dir, writable=True)
    args += mounts.args
    args += ["--chdir", str(trial_dir), "--", sys.executable, "-S", "-c", _LAUNCHER, str(rss_fd)]
    return [*args, str(SANDBOX_UID if sandbox.drop_uid else -1)]


def _link_targets(public_dir: Path) -> list[Path]:
    """Where the data folder's own symlinks point outside it, each mounted alone (read-only)
    so the links resolve inside the sandbox: a guarded view (`gome/guard.py`) links the public
    files it does not rewrite. Only the targets are mounted, never their folders."""
    targets = []
    for entry in sorted(public_dir.iterdir()):
        target = entry.resolve()
        if entry.is_symlink() and target.exists() and not target.is_relative_to(public_dir):
            targets.append(target)
    return targets


def _check_public_dir_alone(public_dir: Path) -> None:
    """Refuse data under a folder the sandbox exposes whole: its `private/` sibling would leak."""
    for exposed in [*map(Path, _SYSTEM_PATHS), *_python_prefixes()]:
        if public_dir.is_relative_to(exposed.resolve()):
            raise GomeError(
                f"public data {public_dir} lies under {exposed}, which the sandbox exposes whole; "
                "move the data root elsewhere"
            )


# --- running -----------------------------------------------------------------------------------


class _StreamCapture(threading.Thread):
    """Copy a pipe to a file up to `cap` bytes, keep draining, remember head and tail."""

    def __init__(self, stream: IO[bytes], path: Path, cap: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.path, self.cap = stream, path, cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def run(self) -> None:
        fd = self.stream.fileno()
        with open(self.path, "wb") as out:
            while chunk := os.read(fd, 1 << 16):
                if self.total < self.cap:
                    out.write(chunk[: self.cap - self.total])
                if len(self.head) < _KEEP_BYTES:
                    self.head += chunk[: _KEEP_BYTES - len(self.head)]
                self.tail += chunk
                if len(self.tail) > 4 * _KEEP_BYTES:
                    del self.tail[:-_KEEP_BYTES]
                self.total += len(chunk)
            if self.total > self.cap:
                dropped = self.total - self.cap
                out.write(f"\n[gome: output truncated, {dropped} bytes dropped]\n".encode())
        self.stream.close()

    def text(self) -> str:
        """Everything if it was all kept in memory, else head and tail with a marker."""
        if len(self.tail) == self.total:
            return self.tail.decode(errors="replace")
        omitted = self.total - len(self.head) - _KEEP_BYTES
        return (
            self.head.decode(errors="replace")
            + f"\n[... {omitted} bytes omitted ...]\n"
            + self.tail_text()
        )

    def tail_text(self) -> str:
        return bytes(self.tail[-_KEEP_BYTES:]).decode(errors="replace")


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _user_task_count(uid: int) -> int:
    """Tasks (threads included) the uid runs now, as `RLIMIT_NPROC` counts them."""
    count = 0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                count += len(os.listdir(entry / "task"))
        except OSError:
            continue
    return count


def _preexec(limits: Limits, sandbox: _Sandbox) -> Callable[[], None]:
    nproc: int | None = limits.nproc
    if not sandbox.drop_uid:
        # Root is exempt from RLIMIT_NPROC; a normal user's own processes count against it.
        nproc = None if os.geteuid() == 0 else limits.nproc + _user_task_count(os.geteuid())
    drop_here = sandbox.drop_uid and sandbox.bwrap is None

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if nproc is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        if drop_here:
            _as_sandbox_user()

    return apply


def _prepare_trial_dir(script: Path, trial_dir: Path, public_dir: Path, sandbox: _Sandbox) -> str:
    """Put the script, `./input` and a home folder in place; return the script's name."""
    trial_dir.mkdir(parents=True, exist_ok=True)
    if script.resolve().parent != trial_dir:
        shutil.copy2(script, trial_dir / script.name)
    link = trial_dir / "input"
    if link.is_symlink() or link.exists():
        if not (link.is_symlink() and link.resolve() == public_dir):
            raise ValueError(f"{link} exists and is not a link to {public_dir}")
    else:
        link.symlink_to(public_dir, target_is_directory=True)
    (trial_dir / ".home").mkdir(exist_ok=True)
    if not sandbox.bwrap:  # bwrap gives a private /tmp instead
        (trial_dir / ".tmp").mkdir(exist_ok=True)
    if sandbox.drop_uid:
        for folder, dirs, files in os.walk(trial_dir):
            for name in [*dirs, *files]:
                os.chown(
                    os.path.join(folder, name), SANDBOX_UID, SANDBOX_UID, follow_symlinks=False
                )
        os.chown(trial_dir, SANDBOX_UID, SANDBOX_UID)
    return script.name


def _environment(
    trial_dir: Path, limits: Limits, sandbox: _Sandbox, extra: dict[str, str] | None
) -> dict[str, str]:
    """A clean environment: nothing of gome's (API keys included) leaks into the script."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(trial_dir / ".home"),
        "TMPDIR": "/tmp" if sandbox.bwrap else str(trial_dir / ".tmp"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "CUDA_VISIBLE_DEVICES": "" if limits.gpu is None else str(limits.gpu),
    }
    env.update(extra or {})
    return env


def _killed_by_sigkill(exit_code: int, sandbox: _Sandbox) -> bool:
    # bwrap reports a child killed by signal N as exit code 128 + N.
    return exit_code == -signal.SIGKILL or (
        sandbox.bwrap is not None and exit_code == 128 + signal.SIGKILL
    )


def _label(
    *,
    timed_out: bool,
    exit_code: int,
    oom: bool,
    submission: Path | None,
    valid: bool,
    score: float | None,
) -> FailureLabel:
    if timed_out:
        return FailureLabel.TIMEOUT
    if exit_code != 0:
        return FailureLabel.OOM if oom else FailureLabel.CRASH
    if submission is None:
        return FailureLabel.NO_SUBMISSION
    if not valid:
        return FailureLabel.INVALID_SUBMISSION
    return FailureLabel.NO_METRIC if score is None else FailureLabel.OK


def _stdout_text(capture: _StreamCapture) -> str:
    """All of stdout we have: the file on disk, plus the in-memory tail when truncated."""
    text = capture.path.read_text(errors="replace")
    if capture.total > capture.cap:
        tail_lines = capture.tail_text().split("\n", 1)
        text += "\n" + (tail_lines[1] if len(tail_lines) > 1 else "")  # drop the cut line
    return text


def _reported_rss_kib(fd: int) -> int:
    """What the launcher wrote on the pipe; 0 when it was killed before writing."""
    os.set_blocking(fd, False)
    with os.fdopen(fd, "rb") as pipe:
        try:
            return int(pipe.read() or 0)
        except (BlockingIOError, ValueError):
            return 0


def _wait(
    proc: subprocess.Popen[bytes], start: float, limits: Limits, cancel: threading.Event | None
) -> tuple[int, resource.struct_rusage, bool]:
    """Wait for the process, killing its group at the deadline or on `cancel`.

    Returns (exit code, rusage, timed out). The leader is waited for without reaping first,
    so its group id cannot be reused while stragglers are killed.
    """
    finished, timed_out = threading.Event(), threading.Event()

    def watchdog() -> None:
        deadline = start + limits.timeout_s
        while not finished.wait(max(0.0, min(_CANCEL_POLL_S, deadline - time.monotonic()))):
            if time.monotonic() >= deadline or (cancel is not None and cancel.is_set()):
                break
        else:
            return
        timed_out.set()
        _signal_group(proc.pid, signal.SIGTERM)
        if not finished.wait(limits.kill_grace_s):
            _signal_group(proc.pid, signal.SIGKILL)

    guard = threading.Thread(target=watchdog, daemon=True)
    guard.start()
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    finished.set()
    guard.join()
    _signal_group(proc.pid, signal.SIGKILL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = exit_code = os.waitstatus_to_exitcode(status)
    return exit_code, usage, timed_out.is_set()


def run_script(
    script: Path,
    trial_dir: Path,
    public_dir: Path,
    limits: Limits,
    *,
    validate: Callable[[Path], tuple[bool, str]] | None = None,
    env: dict[str, str] | None = None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Run `python <script>` in `trial_dir` under the sandbox and limits.

    Never raises for anything the script does. The script is copied into `trial_dir` when it
    lives elsewhere; `env` adds variables to the clean environment the script gets. Setting
    `cancel` stops the run like a timeout (`timed_out` is true).
    """
    sandbox = _sandbox()
    trial_dir, public_dir = trial_dir.resolve(), public_dir.resolve()
    if sandbox.bwrap:
        _check_public_dir_alone(public_dir)
    name = _prepare_trial_dir(script, trial_dir, public_dir, sandbox)
    stdout_path, stderr_path = trial_dir / "stdout.txt", trial_dir / "stderr.txt"
    rss_read, rss_write = os.pipe() if sandbox.bwrap else (-1, -1)
    if sandbox.bwrap:
        command = [*_bwrap_command(sandbox, trial_dir, public_dir, limits, rss_write), name]
    else:
        command = [sys.executable, name]

    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            command,
            cwd=trial_dir,
            env=_environment(trial_dir, limits, sandbox, env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            pass_fds=(rss_write,) if sandbox.bwrap else (),
            preexec_fn=_preexec(limits, sandbox),
        )
    except BaseException:
        if sandbox.bwrap:
            os.close(rss_read)
        raise
    finally:
        if sandbox.bwrap:
            os.close(rss_write)
    assert proc.stdout is not None and proc.stderr is not None
    captures = [
        _StreamCapture(proc.stdout, stdout_path, limits.max_output_bytes),
        _StreamCapture(proc.stderr, stderr_path, limits.max_output_bytes),
    ]
    for capture in captures:
        capture.start()
    exit_code, usage, timed_out = _wait(proc, start, limits, cancel)
    duration = time.monotonic() - start
    for capture in captures:
        capture.join(timeout=5)  # a writer that escaped the group may hold a pipe open
    peak_rss_kib = _reported_rss_kib(rss_read) if sandbox.bwrap else usage.ru_maxrss

    stdout, stderr = captures
    peak_rss = peak_rss_kib * 1024
    oom = any(marker in stderr.tail_text() for marker in _OOM_MARKERS) or (
        _killed_by_sigkill(exit_code, sandbox) and peak_rss >= 0.9 * limits.memory_bytes
    )
    score = parse_validation_score(_stdout_text(stdout))
    submission = trial_dir / SUBMISSION_NAME
    submission_path = submission if submission.is_file() else None
    valid, message = True, None
    if submission_path is not None and validate is not None and exit_code == 0:
        valid, message = validate(submission_path)
    label = _label(
        timed_out=timed_out,
        exit_code=exit_code,
        oom=oom,
        submission=submission_path,
        valid=valid,
        score=score,
    )
    excerpt = head_tail(f"{stdout.text()}\n--- stderr ---\n{stderr.text()}")
    return RunResult(
        exit_code=exit_code,
        label=label,
        duration_s=duration,
        peak_rss_bytes=peak_rss,
        validation_score=score,
        submission_path=submission_path,
        validity_message=message,
        output_excerpt=excerpt,
        stdout_path=stdout_path,
        stderr_path=stderr_path,
        isolation=sandbox.description,
        timed_out=timed_out,
    )
