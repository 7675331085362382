"""A managed llama.cpp server: one child process per run, health-checked, never orphaned.

`LocalModelServer` starts `gome.models.serve_process` in its own session (so a terminal's
Ctrl-C reaches only gome, which then stops the server through `__exit__`), waits for it to
listen and answer `/health`, and stops it on every way out: the context manager's exit (normal
end, exception, KeyboardInterrupt), an `atexit` hook, and, when gome itself is killed (-9
included), the child's own watchdog on its parent pid.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from types import TracebackType

from rich.console import Console

from gome.models.catalogue import WAYS_ON, ModelSpec, ModelUnavailableError, get_spec
from gome.models.fetch import pull
from gome.models.serve_process import ServerSettings, start_server

STARTUP_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 10.0
MIN_N_CTX = 2048
MAX_THREADS = 8
MAX_BATCH_THREADS = 16
# Share of available memory the model file plus its KV cache may take.
MEMORY_SHARE = 0.5


class ModelServerError(ModelUnavailableError):
    """The local model server did not start or stopped answering."""


def cpu_count() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def available_memory() -> int:
    """Bytes of memory available without swapping (MemAvailable on Linux)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def choose_settings(
    spec: ModelSpec,
    *,
    n_ctx: int | None = None,
    n_parallel: int | None = None,
    threads: int | None = None,
    threads_batch: int | None = None,
) -> ServerSettings:
    """Settings for this machine; each argument given overrides the machine's choice.

    Decode threads: half the CPUs, at most 8, leaving the rest to the trial scripts that run
    beside the model. Decode meets at a barrier per layer per token, so one thread losing its
    core stalls all of them: on 2 cores with one busy with another job, decode ran 37 (0.5B)
    and 20 (1.5B) tokens/s on 1 thread but 1 and 0.8 on 2. Prefill threads (big batches,
    little barrier cost): all CPUs, at most 16; on 2 cores prefill ran 129 vs 77 tokens/s
    (0.5B, idle) and 30 vs 31 (1.5B, one core busy). Slots: one per 4 CPUs, at most 4.
    Context: the catalogue's `n_ctx`, halved (down to 2048) until model plus KV cache fit in
    half the available memory.
    """
    cpus = cpu_count()
    threads = threads or min(MAX_THREADS, max(1, cpus // 2))
    threads_batch = threads_batch or min(MAX_BATCH_THREADS, cpus)
    n_parallel = n_parallel or min(4, max(1, cpus // 4))
    if n_ctx is None:
        budget = available_memory() * MEMORY_SHARE - spec.size
        n_ctx = spec.n_ctx
        while n_ctx > MIN_N_CTX and n_ctx * n_parallel * spec.kv_bytes_per_token > budget:
            n_ctx //= 2
    return ServerSettings(n_ctx, n_parallel, threads, threads_batch)


class LocalModelServer:
    """One local model behind llama.cpp's OpenAI-compatible API on 127.0.0.1.

    Use as a context manager, or call `start()` and `stop()`; `api_base` and `model_name`
    are what an OpenAI client (litellm's `openai/<model_name>`) needs.
    """

    def __init__(
        self,
        spec: ModelSpec,
        path: Path,
        settings: ServerSettings | None = None,
        *,
        log_path: Path | None = None,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
    ) -> None:
        self.spec = spec
        self.path = Path(path)
        self.settings = settings or choose_settings(spec)
        self.startup_timeout_s = startup_timeout_s
        self._log_path = Path(log_path) if log_path else None
        self._own_log = log_path is None
        self._process: subprocess.Popen[bytes] | None = None
        self._owner_pid = os.getpid()
        self._address: str | None = None

    @property
    def model_name(self) -> str:
        return self.spec.served_name

    @property
    def api_base(self) -> str:
        if self._address is None:
            raise ModelServerError(f"The {self.spec.name} server is not running.")
        return f"{self._address}/v1"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    def start(self) -> LocalModelServer:
        """Launch the child and return once it answers `/health`; idempotent."""
        if self._process is not None:
            return self
        self._owner_pid = os.getpid()
        if self._log_path is None:
            fd, name = tempfile.mkstemp(prefix=f"gome-{self.spec.name}-", suffix=".log")
            os.close(fd)
            self._log_path = Path(name)
        s = self.settings
        cmd = [
            *(sys.executable, "-m", "gome.models.serve_process", "--model", str(self.path)),
            *("--alias", self.model_name, "--n-ctx", str(s.n_ctx), "--parallel", str(s.n_parallel)),
            *("--threads", str(s.threads), "--threads-batch", str(s.threads_batch)),
            *("--parent-pid", str(os.getpid())),
        ]
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        atexit.register(self.stop)
        try:
            self._address = self._read_address(time.monotonic() + self.startup_timeout_s)
            self._wait_healthy(time.monotonic() + self.startup_timeout_s)
        except BaseException:
            self.stop(keep_log=True)
            raise
        return self

    def stop(self, *, keep_log: bool = False) -> None:
        """Terminate the child (SIGTERM, then SIGKILL) and reap it; safe to call twice."""
        if os.getpid() != self._owner_pid:  # a forked copy of the owner must not stop it
            return
        process, self._process, self._address = self._process, None, None
        atexit.unregister(self.stop)
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout:
            process.stdout.close()
        if self._own_log and not keep_log and self._log_path:
            self._log_path.unlink(missing_ok=True)

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` by the model's own tokenizer (llama.cpp's `/tokenize`)."""
        reply = self._post("/tokenize", {"content": text, "add_special": False})
        return len(reply["tokens"])

    def count_message_tokens(self, messages: list[dict]) -> int:
        """Tokens of a chat prompt, chat template included (`/apply-template`, `/tokenize`)."""
        prompt = self._post("/apply-template", {"messages": messages})["prompt"]
        return len(self._post("/tokenize", {"content": prompt, "add_special": True})["tokens"])

    def _post(self, endpoint: str, body: dict) -> dict:
        if self._address is None:
            raise ModelServerError(f"The {self.spec.name} server is not running.")
        request = urllib.request.Request(
            self._address + endpoint,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def _read_address(self, deadline: float) -> str:
        """The child's one stdout line, `{"address": ...}`, once the model is loaded."""
        assert self._process and self._process.stdout
        out = self._process.stdout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([out], [], [], 0.5)
            line = out.readline() if ready else b""
            if line.startswith(b'{"address"'):  # anything else on stdout is not ours
                return json.loads(line)["address"]
            if self._process.poll() is not None:
                raise self._failure(f"exited with code {self._process.returncode}")
        raise self._failure(f"did not listen within {self.startup_timeout_s:.0f} s")

    def _wait_healthy(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self._address}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if self._process is None or self._process.poll() is not None:
                raise self._failure("exited before it was healthy")
            time.sleep(0.2)
        raise self._failure(f"was not healthy within {self.startup_timeout_s:.0f} s")

    def _failure(self, what: str) -> ModelServerError:
        tail = _log_tail(self._log_path) if self._log_path else ""
        detail = f": {tail}" if tail else ""
        return ModelServerError(
            f"The {self.spec.name} server {what} (log {self._log_path}){detail}; {WAYS_ON}."
        )


def _log_tail(path: Path) -> str:
    """The last non-empty log line, for a one-line error."""
    try:
        with path.open(errors="replace") as f:
            lines = deque((line.strip() for line in f if line.strip()), maxlen=1)
    except OSError:
        return ""
    return lines[0][:200] if lines else ""


def serve_forever(
    name: str, port: int = 8080, console: Console | None = None, **overrides: int
) -> None:
    """`gome models serve NAME`: serve in the foreground, in this process, until Ctrl-C.

    `overrides` are `choose_settings`' keywords (n_ctx, n_parallel, threads).
    """
    console = console or Console(stderr=True)
    spec = get_spec(name)
    path = pull(name, console)
    settings = choose_settings(spec, **overrides)
    server, address = start_server(path, spec.served_name, settings, port)
    # llama.cpp installs its own SIGINT handler, which would swallow Ctrl-C.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    console.print(
        f"Serving [bold]{spec.served_name}[/] at {address}/v1 (n_ctx {settings.n_ctx}, "
        f"{settings.n_parallel} slot(s), {settings.threads} threads); Ctrl-C stops it."
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    del server  # llama.cpp shuts down (finishing replies in flight) before we say so
    console.print("Stopped.")
