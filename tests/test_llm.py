"""The LLM client (litellm mock responses and a local OpenAI-compatible server) and reply parsers.

Nothing here leaves 127.0.0.1: litellm is told to use its bundled price map, and HTTP calls go
to a tiny server started inside the test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gome.errors import GomeError
from gome.llm import (
    BudgetExceededError,
    ContextWindowError,
    LLMClient,
    LLMError,
    LLMReply,
    LLMTotals,
    MalformedReplyError,
    NoCodeBlockError,
    ReplyProblem,
    classify_reply,
    extract_code,
    extract_json,
    read_ledger,
)

MESSAGES = [{"role": "user", "content": "Write a script."}]
CODE_REPLY = "Here is the script:\n```python\nprint('hello')\n```\n"
PRICED_MODEL = "openai/gpt-4o-mini"  # in litellm's bundled price map


class FakeServer:
    """An OpenAI-compatible /v1/chat/completions that plays a script of HTTP statuses.

    The last status repeats once the script runs out; every request body is kept.
    """

    def __init__(self, statuses: list[int], *, content: str = CODE_REPLY, delay_s: float = 0):
        self.statuses = statuses
        self.content = content
        self.delay_s = delay_s
        self.error_message = "simulated failure"
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                n = len(server.requests)
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                status = server.statuses[min(n, len(server.statuses) - 1)]
                time.sleep(server.delay_s)
                if status == 200:
                    out = {
                        "id": f"chatcmpl-{n}",
                        "object": "chat.completion",
                        "created": 1,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": server.content},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
                    }
                else:
                    out = {"error": {"message": server.error_message, "type": "error"}}
                data = json.dumps(out).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and hung up

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        self.api_base = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def serve() -> Iterator:
    servers: list[FakeServer] = []

    def start(statuses: list[int], **kwargs: object) -> FakeServer:
        servers.append(FakeServer(statuses, **kwargs))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def local_client(server: FakeServer, **kwargs: object) -> LLMClient:
    kwargs.setdefault("backoff_base_s", 0.001)
    return LLMClient("openai/tiny", api_base=server.api_base, api_key="sk-test", **kwargs)


def ledger_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- the client -------------------------------------------------------------------------------


def test_mock_response_reply_ledger_and_totals(tmp_path: Path) -> None:
    ledger = tmp_path / "run" / "llm.jsonl"
    client = LLMClient(PRICED_MODEL, api_key="sk-test", ledger_path=ledger)
    reply = client.complete(MESSAGES, purpose="draft", mock_response=CODE_REPLY)
    assert isinstance(reply, LLMReply)
    assert extract_code(reply.text) == "print('hello')"
    assert reply.model == PRICED_MODEL and reply.finish_reason == "stop" and not reply.cached
    assert reply.prompt_tokens > 0 and reply.completion_tokens > 0
    assert reply.cost_usd > 0  # priced from litellm's bundled map

    client.complete(MESSAGES, purpose="improve", mock_response="no code here")
    lines = ledger_lines(ledger)
    assert [line["purpose"] for line in lines] == ["draft", "improve"]
    assert lines[0]["cost_usd"] == reply.cost_usd and lines[0]["cached"] is False
    assert {"time", "model", "prompt_tokens", "completion_tokens", "duration_s"} <= set(lines[0])
    totals = client.totals
    assert totals.calls == 2 and totals.cached_calls == 0
    assert totals.tokens == sum(line["prompt_tokens"] + line["completion_tokens"] for line in lines)
    assert totals.dollars == pytest.approx(sum(line["cost_usd"] for line in lines))
    assert read_ledger(ledger) == totals  # what a report reads back from the run folder
    assert read_ledger(tmp_path / "none.jsonl") == LLMTotals()  # the built-in agent's


def test_local_openai_compatible_server(serve) -> None:
    server = serve([200])
    client = local_client(server, temperature=0.2, max_tokens=64)
    reply = client.complete(MESSAGES, seed=7)
    assert reply.text == CODE_REPLY
    assert (reply.prompt_tokens, reply.completion_tokens) == (11, 7)
    assert reply.cost_usd == 0.0  # a local model has no price: zero, not a crash
    (body,) = server.requests
    assert body["model"] == "tiny" and body["messages"] == MESSAGES
    assert body["temperature"] == 0.2 and body["max_tokens"] == 64 and body["seed"] == 7
    assert server.headers[0]["Authorization"] == "Bearer sk-test"


def test_unknown_model_costs_nothing() -> None:
    client = LLMClient("openai/no-such-model-xyz", api_key="sk-test")
    reply = client.complete(MESSAGES, mock_response="hi")
    assert reply.cost_usd == 0.0 and client.totals.dollars == 0.0


@pytest.mark.parametrize("statuses", [[500, 500, 200], [429, 503, 200]])
def test_transient_errors_are_retried(serve, tmp_path: Path, statuses: list[int]) -> None:
    server = serve(statuses)
    client = local_client(server, ledger_path=tmp_path / "ledger.jsonl")
    reply = client.complete(MESSAGES)
    assert reply.text == CODE_REPLY
    assert len(server.requests) == 3
    assert client.totals.retries == 2 and client.totals.calls == 1
    assert ledger_lines(tmp_path / "ledger.jsonl")[0]["retries"] == 2


def test_retries_give_up_with_llm_error(serve) -> None:
    server = serve([500])
    client = local_client(server, max_retries=2)
    with pytest.raises(LLMError, match="gave up after 3 attempts"):
        client.complete(MESSAGES)
    assert len(server.requests) == 3 and client.totals.calls == 0


def test_timeout_is_retried_then_fails(serve) -> None:
    server = serve([200], delay_s=1.0)
    client = local_client(server, timeout_s=0.2, max_retries=1)
    with pytest.raises(LLMError, match="gave up after 2 attempts"):
        client.complete(MESSAGES)
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [401, 400])
def test_auth_and_bad_request_are_not_retried(serve, status: int) -> None:
    server = serve([status, 200])
    client = local_client(server)
    with pytest.raises(LLMError) as info:
        client.complete(MESSAGES)
    assert isinstance(info.value, GomeError) and not isinstance(info.value, ContextWindowError)
    assert "\n" not in str(info.value) and "tiny" in str(info.value)
    assert len(server.requests) == 1


def test_context_window_error_is_labelled(serve) -> None:
    server = serve([400])
    server.error_message = "This model's maximum context length is 4096 tokens."
    with pytest.raises(ContextWindowError):
        local_client(server).complete(MESSAGES)
    assert len(server.requests) == 1


def test_replay_cache_serves_identical_calls_for_free(serve, tmp_path: Path) -> None:
    server = serve([200])
    cache_dir = tmp_path / "cache"
    ledger = tmp_path / "ledger.jsonl"
    client = local_client(server, cache_dir=cache_dir, ledger_path=ledger)
    first = client.complete(MESSAGES, temperature=0.5)
    second = client.complete(MESSAGES, temperature=0.5)
    assert len(server.requests) == 1
    assert second.cached and not first.cached
    assert second.text == first.text and second.cost_usd == 0.0
    assert client.totals.calls == 2 and client.totals.cached_calls == 1
    assert client.totals.tokens == first.prompt_tokens + first.completion_tokens
    assert [line["cached"] for line in ledger_lines(ledger)] == [False, True]
    assert read_ledger(ledger) == client.totals  # a replayed call adds no tokens

    client.complete(MESSAGES, temperature=0.9)  # another request parameter: a miss
    assert len(server.requests) == 2

    # A later run replays from the same cache even with its server gone.
    replay = LLMClient("openai/tiny", api_base="http://127.0.0.1:9/v1", cache_dir=cache_dir)
    assert replay.complete(MESSAGES, temperature=0.5).text == first.text


def test_budget_stops_calls_once_spent(tmp_path: Path) -> None:
    client = LLMClient(PRICED_MODEL, api_key="sk-test", max_dollars=1e-9, cache_dir=tmp_path)
    first = client.complete(MESSAGES, mock_response="one")  # starts before anything is spent
    assert first.cost_usd > 0
    with pytest.raises(BudgetExceededError, match="budget"):
        client.complete(MESSAGES, mock_response="two")
    # Replays cost nothing and stay allowed.
    assert client.complete(MESSAGES, mock_response="one").cached
    assert client.totals.calls == 2


def test_importing_the_package_does_not_import_litellm() -> None:
    code = "import sys, gome.llm; assert 'litellm' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- reply parsing ----------------------------------------------------------------------------


def test_extract_code_takes_the_largest_python_block() -> None:
    text = (
        "Change this line:\n```python\nx = 1\n```\n"
        "Full script:\n```py\nimport pandas as pd\nx = 1\nprint(x)\n```\n"
        "Run it with:\n```bash\npython main.py --with-a-long-argument-list\n```\n"
        "Or the short form:\n```\nmain()\n```\n"
    )
    assert extract_code(text) == "import pandas as pd\nx = 1\nprint(x)"
    assert extract_code(text, language="bash") == "python main.py --with-a-long-argument-list"


def test_extract_code_ties_go_to_the_last_and_untagged_counts() -> None:
    assert extract_code("```\nprint(1)\n```\nthen\n```python\nprint(2)\n```") == "print(2)"
    assert extract_code("```\nprint(1)\n```") == "print(1)"


def test_extract_code_strips_an_indented_fence() -> None:
    text = "1. Save this:\n   ```python\n   def f():\n       return 1\n   ```\n"
    assert extract_code(text) == "def f():\n    return 1"


def test_extract_code_keeps_longer_fences_inside() -> None:
    text = "````python\ndoc = '''\n```\n'''\nprint(doc)\n````"
    assert extract_code(text) == "doc = '''\n```\n'''\nprint(doc)"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("Just use a random forest.", "no code block"),
        ("```python\nimport numpy as np\nx = np.", "not closed"),
        ('```json\n{"a": 1}\n```', "no code block"),
    ],
)
def test_extract_code_raises_without_a_complete_block(text: str, match: str) -> None:
    with pytest.raises(NoCodeBlockError, match=match):
        extract_code(text)


def reply(text: str, finish_reason: str | None = "stop") -> LLMReply:
    return LLMReply(text, "m", 1, 1, 0.0, 0.0, finish_reason)


@pytest.mark.parametrize(
    ("item", "label"),
    [
        (reply(CODE_REPLY), None),
        (CODE_REPLY, None),
        (reply("Let me think about the features first."), ReplyProblem.NO_CODE_BLOCK),
        (reply("```python\nimport pandas as pd\ndf = pd."), ReplyProblem.TRUNCATED),
        (reply("I will now write the full script, starting", "length"), ReplyProblem.TRUNCATED),
        (reply(CODE_REPLY + "This script first loads", "length"), None),
        (reply(CODE_REPLY + "Next version:\n```python\nimport os\n"), ReplyProblem.TRUNCATED),
        (reply("I\u2019m sorry, but I can\u2019t help with that."), ReplyProblem.REFUSAL),
        ("As an AI, I cannot run code on your machine.", ReplyProblem.REFUSAL),
        ("I'm sorry for the bug. " + "Here is why it fails. " * 40, ReplyProblem.NO_CODE_BLOCK),
    ],
)
def test_classify_reply(item: LLMReply | str, label: ReplyProblem | None) -> None:
    assert classify_reply(item) == label


def test_reply_problem_labels_are_strings() -> None:
    assert classify_reply("no code") == "no-code-block"


@pytest.mark.parametrize(
    "text",
    [
        '{"score": 0.5, "ok": true}',
        'Reflection:\n```json\n{"score": 0.5, "ok": true}\n```\nDone.',
        'Here you go: {"score": 0.5, "ok": true} -- and {"other": 1}',
        'Note {braces} in prose, then {"score": 0.5, "ok": true,}',
        '```\n{\n  "score": 0.5,\n  "ok": true,\n}\n```',
    ],
)
def test_extract_json(text: str) -> None:
    assert extract_json(text) == {"score": 0.5, "ok": True}


def test_extract_json_reads_an_empty_object_as_it_is() -> None:
    assert extract_json("{}") == {} and extract_json("```json\n{}\n```") == {}


def test_extract_json_prefers_the_fenced_object() -> None:
    text = 'Schema is {"type": "x"}.\n```json\n{"score": 1}\n```'
    assert extract_json(text) == {"score": 1}


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        # a list closed too early: the rest is kept, not swapped for the first inner object
        ('```json\n{"a": [{"p": 1}], {"p": 2}}\n```', {"a": [{"p": 1}], "p": 2}),
        ('{"note": "a "quoted" word", "ok": true}', {"note": 'a "quoted" word', "ok": True}),
        ('{"score": 0.5, "items": [1, 2', {"score": 0.5, "items": [1, 2]}),  # cut off
    ],
)
def test_extract_json_repairs_a_broken_object(text: str, meant: dict) -> None:
    assert extract_json(text) == meant


@pytest.mark.parametrize("text", ["no json here", "[1, 2, 3]", "{"])
def test_extract_json_raises_when_malformed(text: str) -> None:
    with pytest.raises(MalformedReplyError):
        extract_json(text)


def test_no_call_starts_or_outlasts_the_deadline() -> None:
    import time

    from gome.llm import DeadlineReachedError, LLMClient
    from gome.llm.client import CALL_RETURN_S

    past = time.monotonic() - 1
    spent = LLMClient("openai/x", deadline=lambda: past)
    with pytest.raises(DeadlineReachedError):
        spent.complete([{"role": "user", "content": "hi"}], mock_response="```python\nx=1\n```")
    end = time.monotonic() + 20
    soon = LLMClient("openai/x", timeout_s=600, deadline=lambda: end)
    # cut to what is left, less the seconds a timed-out call takes to come back
    assert 19.0 - CALL_RETURN_S <= soon._call_timeout() <= 20.0 - CALL_RETURN_S
