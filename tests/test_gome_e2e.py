"""LLM agents (GoME and the AIDE baseline) end to end through the real HTTP path: a scripted
OpenAI-compatible server on 127.0.0.1, the real LLM client, sandboxed runner, grader and
journal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import TOY_ID

DIAGNOSIS = {
    "scenario_problems": [{"problem": "colour is categorical", "evidence": "three values"}],
    "feedback_problems": [{"problem": "model may underfit", "evidence": "plain baseline"}],
    "hypotheses": [
        {
            "problem": 1,
            "hypothesis": "one-hot encode colour and use logistic regression",
            "scores": {
                "alignment": 8,
                "impact": 7,
                "novelty": 6,
                "feasibility": 9,
                "risk_reward": 7,
            },
        }
    ],
}

SOLUTION = """
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

train = pd.read_csv("./input/train.csv")
test = pd.read_csv("./input/test.csv")
features = ["x1", "x2", "colour"]


def prepare(frame):
    out = pd.get_dummies(frame[features], columns=["colour"], dtype=float)
    return out.fillna(0.0)


X, X_test = prepare(train), prepare(test)
X_test = X_test.reindex(columns=X.columns, fill_value=0.0)
model = LogisticRegression(max_iter=500)
score = cross_val_score(model, X, train["label"], cv=5, scoring="accuracy").mean()
print(f"validation_score: {score:.6f}")
model.fit(X, train["label"])
pd.DataFrame({"id": test["id"], "label": model.predict(X_test)}).to_csv(
    "submission.csv", index=False
)
"""


class ScriptedLLM(BaseHTTPRequestHandler):
    """Answers chat completions: JSON for diagnosis prompts, a fenced script otherwise."""

    requests: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        ScriptedLLM.requests.append(prompt)
        if "JSON object" in prompt:
            text = f"```json\n{json.dumps(DIAGNOSIS)}\n```"
        else:
            text = f"One-hot encode colour.\n```python\n{SOLUTION}```\n"
        payload = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 120, "completion_tokens": 80, "total_tokens": 200},
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def scripted_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedLLM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


AGENT_RUNS = {
    "gome": (["--init", "builtin"], "GoME on openai/scripted"),
    "aide": (["--aide-num-drafts", "1"], "AIDE tree search on openai/scripted"),
}


@pytest.mark.slow
@pytest.mark.parametrize("agent", sorted(AGENT_RUNS))
def test_llm_agent_solves_through_a_local_openai_compatible_server(
    agent: str, toy_competition, scripted_server: str, tmp_path: Path
) -> None:
    flags, title = AGENT_RUNS[agent]
    run_dir = tmp_path / "run"
    env = os.environ.copy() | {"OPENAI_API_KEY": "sk-test"}
    ScriptedLLM.requests.clear()
    done = subprocess.run(
        [sys.executable, "-m", "gome", "solve", TOY_ID, "--agent", agent, *flags]
        + ["--model", "openai/scripted", "--api-base", scripted_server]
        + ["--minutes", "1.5", "--trial-timeout", "30", "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert title in done.stdout
    trials = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    assert {t["agent"] for t in trials} == {agent}
    llm_steps = [t for t in trials if t["tokens"] > 0]
    assert llm_steps, "no trial came from an LLM step"
    # lineage: a step with parents names earlier trials; some step builds on a parent
    ids = [t["id"] for t in trials]
    for trial in trials:
        assert all(ids.index(p) < ids.index(trial["id"]) for p in trial["parent_ids"])
    assert any(t["parent_ids"] for t in llm_steps), "no LLM step built on a parent"
    assert any(t["label"] == "ok" for t in llm_steps)
    assert ScriptedLLM.requests, "the server was never called"
    ledger = (run_dir / "llm_ledger.jsonl").read_text().splitlines()
    assert len(ledger) >= len(llm_steps)
    grade = json.loads((run_dir / "grade.json").read_text())
    assert grade["valid_submission"] is True and grade["agent"] == agent
