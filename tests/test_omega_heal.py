"""Self-healing with scripted model replies from a local OpenAI-compatible server.

A candidate that fails in three distinct ways is fixed round by round; one that never heals
is rejected after N repairs. Each repair request is a fresh conversation: code and error only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gome.llm import LLMClient
from omega.candidate import Candidate
from omega.heal import JOURNAL, HealingSummary, heal
from tests.conftest import reply_with_chat_completion
from tests.test_omega_checks import (
    GOOD,
    MUTATES_INIT_PARAM,
    NOT_FITTED_UNCHECKED,
    STATIC_DEFECT,
)


class ScriptedServer:
    """/v1/chat/completions answering with `replies` in order (the last one repeats)."""

    def __init__(self, replies: list[str]) -> None:
        self.requests: list[list[dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body["messages"])
                text = replies[min(len(server.requests), len(replies)) - 1]
                reply_with_chat_completion(self, body["model"], text)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        self.api_base = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def client(self) -> LLMClient:
        return LLMClient("openai/scripted", api_base=self.api_base, api_key="sk-test")

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    servers: list[ScriptedServer] = []

    def start(replies: list[str]) -> ScriptedServer:
        servers.append(ScriptedServer(replies))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def fenced(code: str) -> str:
    return f"Here is the fix.\n```python\n{code}```\n"


def journal(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / JOURNAL).read_text().splitlines()]


def test_three_distinct_failures_are_healed_round_by_round(scripted, tmp_path: Path) -> None:
    server = scripted([fenced(NOT_FITTED_UNCHECKED), fenced(MUTATES_INIT_PARAM), fenced(GOOD)])
    start = Candidate("c01", "classification", STATIC_DEFECT, "llm:scripted", "locality")
    outcome = heal(start, server.client(), tmp_path, max_repairs=3)

    assert outcome.healed and outcome.repairs == 3
    assert outcome.candidate.code == GOOD.strip()
    firsts = [r.first_failure for r in outcome.reports]
    assert firsts == [
        "static",
        "check_estimators_unfitted",
        "check_estimators_overwrite_params",
        None,
    ]
    lines = journal(tmp_path)
    assert [line["round"] for line in lines] == [0, 1, 2, 3]
    assert [line["passed"] for line in lines] == [False, False, False, True]
    assert all(Path(line["code_path"]).is_file() for line in lines)

    # fresh context: each repair sees only the current code and its own failure
    assert len(server.requests) == 3
    for messages, code, check in zip(
        server.requests,
        [STATIC_DEFECT, NOT_FITTED_UNCHECKED, MUTATES_INIT_PARAM],
        ["static", "check_estimators_unfitted", "check_estimators_overwrite_params"],
        strict=True,
    ):
        assert [m["role"] for m in messages] == ["system", "user"]
        assert code in messages[1]["content"] and f"`{check}`" in messages[1]["content"]
    assert "import os" not in server.requests[1][1]["content"]

    summary = HealingSummary.of([outcome])
    assert summary.healed == 1 and summary.repairs_histogram == {3: 1}
    assert dict(summary.failed_checks)["check_estimators_unfitted"] == 1


def test_a_candidate_that_never_heals_is_rejected_after_n_repairs(scripted, tmp_path: Path) -> None:
    server = scripted([fenced(NOT_FITTED_UNCHECKED), "I cannot fix this."])
    start = Candidate("c02", "classification", STATIC_DEFECT, "llm:scripted")
    outcome = heal(start, server.client(), tmp_path, max_repairs=2)

    assert not outcome.healed and outcome.repairs == 1
    # the second repair reply had no code: the loop stops there instead of re-checking
    assert len(server.requests) == 2 and len(journal(tmp_path)) == 2

    # the same code back, and again when resampled hotter: no point checking it again
    stubborn = scripted([fenced(STATIC_DEFECT)])
    outcome = heal(start, stubborn.client(), tmp_path / "again", max_repairs=2)
    assert not outcome.healed and outcome.repairs == 0
    assert len(stubborn.requests) == 2
    assert [line["round"] for line in journal(tmp_path / "again")] == [0]
    assert HealingSummary.of([outcome]).healed == 0

    # resampled into new code: healing goes on
    resampled = scripted([fenced(STATIC_DEFECT), fenced(GOOD)])
    outcome = heal(start, resampled.client(), tmp_path / "hot", max_repairs=2)
    assert outcome.healed and outcome.repairs == 1 and len(resampled.requests) == 2


def test_without_a_client_nothing_is_repaired(tmp_path: Path) -> None:
    outcome = heal(
        Candidate("c03", "classification", STATIC_DEFECT, "fallback:ensemble"), None, tmp_path
    )
    assert not outcome.healed and outcome.repairs == 0 and len(journal(tmp_path)) == 1


def test_generate_end_to_end_with_a_scripted_model(
    scripted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Brief -> code -> one repair -> evaluation (two reference models, iris) -> registry."""
    from omega import pipeline
    from omega.evaluate import Entrant

    monkeypatch.setenv("GOME_CACHE_DIR", str(tmp_path / "cache"))
    two = [Entrant(n, "classification", baseline=n) for n in ("logistic", "knn")]
    monkeypatch.setattr(pipeline, "baselines", lambda task: two)
    server = scripted([fenced(NOT_FITTED_UNCHECKED), fenced(GOOD)])
    settings = pipeline.SuiteSettings(datasets=["iris"], n_repeats=1, n_jobs=1)
    summary = pipeline.run_generate(
        1,
        server.client(),
        tmp_path / "run",
        tasks=("classification",),
        settings=settings,
        registry_dir=tmp_path / "registry",
        log=lambda line: None,
    )
    assert summary.generated == 1 and summary.healing.healed == 1
    assert summary.healing.repairs_histogram == {1: 1}
    [(name, verdict)] = summary.verdicts.items()
    assert name == "c01_ShrunkCentroid" and summary.best["name"] == name
    assert verdict["accepted"] == bool(summary.accepted)
    assert (tmp_path / "run" / "report.md").is_file()
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["generated"] == 1
    prompt = server.requests[0][1]["content"]
    assert "ClassifierMixin" in prompt and "principle" in prompt


def test_missing_imports_are_added_without_the_model(tmp_path: Path) -> None:
    forgot = GOOD.replace("import numpy as np\n", "").replace(
        "from sklearn.base import BaseEstimator, ClassifierMixin\n",
        "from sklearn.base import BaseEstimator\n",
    )
    outcome = heal(Candidate("c04", "classification", forgot, "llm:scripted"), None, tmp_path)
    assert outcome.healed and outcome.repairs == 0  # no client: the fix needed no model
    [line] = journal(tmp_path)
    added = ["from sklearn.base import ClassifierMixin", "import numpy as np"]
    assert line["auto_imports"] == added
