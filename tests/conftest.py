"""Shared fixtures for end-to-end tests: a small synthetic competition prepared on disk, and a
scripted OpenAI-compatible server on 127.0.0.1 for the LLM agents."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gome.journal import Trial
from gome.llm import LEDGER_FILE

TOY_ID = "toy-tabular"


def write_toy_competition(root: Path, rows: int = 400, seed: int = 0) -> tuple[Path, Path]:
    """A binary classification task with numeric, categorical and missing values.

    Returns (competitions_root, data_root), prepared in MLE-bench's layout.
    """
    comps = root / "competitions"
    folder = comps / TOY_ID
    folder.mkdir(parents=True)
    spec = {
        "id": TOY_ID,
        "name": "Toy tabular",
        "suite": "practice",
        "modality": "tabular",
        "metric": "accuracy",
        "higher_is_better": True,
        "id_column": "id",
        "target_columns": ["label"],
        "submission_columns": {"id": "int", "label": "int"},
        "split": {"kind": "csv_split", "params": {"source": "train.csv", "test_size": 0.2}},
        "reference_score": 0.8,
    }
    (folder / "competition.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    (folder / "description.md").write_text(
        "# Toy\nPredict `label` (0/1) for each `id` in test.csv. Metric: accuracy.\n",
        encoding="utf-8",
    )
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=rows)
    x2 = rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    label = ((x1 + 0.5 * x2 + (colour == "red")) > 0.3).astype(int)
    x2[rng.random(rows) < 0.1] = np.nan
    frame = pd.DataFrame({"id": np.arange(rows), "x1": x1, "x2": x2, "colour": colour})
    frame["label"] = label
    test = frame.sample(frac=0.2, random_state=0)
    train = frame.drop(test.index)
    data = root / "data"
    public = data / TOY_ID / "prepared" / "public"
    private = data / TOY_ID / "prepared" / "private"
    public.mkdir(parents=True)
    private.mkdir(parents=True)
    train.to_csv(public / "train.csv", index=False)
    test.drop(columns=["label"]).to_csv(public / "test.csv", index=False)
    test[["id"]].assign(label=0).to_csv(public / "sample_submission.csv", index=False)
    test[["id", "label"]].to_csv(private / "test.csv", index=False)
    return comps, data


@pytest.fixture(autouse=True)
def empty_omega_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test sees its own empty OMEGA registry, never the user's: GoME's prompts offer
    registry algorithms, so a user's registry would change what tests send."""
    folder = tmp_path / "omega-registry"
    monkeypatch.setenv("GOME_OMEGA_REGISTRY", str(folder))
    return folder


@pytest.fixture
def toy_competition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The toy competition, visible to gome through GOME_COMPETITIONS_DIR / GOME_DATA_DIR."""
    from gome import competitions

    comps, data = write_toy_competition(tmp_path)
    monkeypatch.setenv("GOME_COMPETITIONS_DIR", str(comps))
    monkeypatch.setenv("GOME_DATA_DIR", str(data))
    competitions.list_competition_ids.cache_clear()
    competitions.load_competition.cache_clear()
    yield comps, data
    competitions.list_competition_ids.cache_clear()
    competitions.load_competition.cache_clear()


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


def make_trial(trial_id: str, **fields: object) -> Trial:
    """A journal record with the identity fields filled in; `fields` set the rest."""
    base: dict[str, object] = {
        "id": trial_id,
        "parent_ids": (),
        "agent": "builtin",
        "operator": "draft",
        "hypothesis": "",
        "code_path": f"trials/{trial_id}/solution.py",
        "code_hash": trial_id,
    }
    return Trial(**(base | fields))  # type: ignore[arg-type]


def ledger_of(run_dir: Path) -> list[dict]:
    """The LLM calls a run's ledger lists (none for a run without one)."""
    path = run_dir / LEDGER_FILE
    lines = path.read_text().splitlines() if path.is_file() else []
    return [json.loads(line) for line in lines]


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def gome_with_scripted_model(
    command: str, *args: str, server: str, timeout: float
) -> subprocess.CompletedProcess:
    """`gome <command> ...` whose LLM agents talk to the scripted server at `server`."""
    return subprocess.run(
        [sys.executable, "-m", "gome", command, *args]
        + ["--model", "openai/scripted", "--api-base", server],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy() | {"OPENAI_API_KEY": "sk-test", "COLUMNS": "200"},
    )


def reply_with_chat_completion(handler: BaseHTTPRequestHandler, model: str, text: str) -> None:
    """Write an OpenAI chat completion whose one message is `text` (scripted test servers)."""
    payload = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 120, "completion_tokens": 80, "total_tokens": 200},
    }
    data = json.dumps(payload).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class ScriptedLLM(BaseHTTPRequestHandler):
    """Answers chat completions: a review for AIDE's review prompts, JSON for diagnosis
    prompts, a fenced script otherwise."""

    requests: list[str] = []
    reply_limits: list[int | None] = []  # each request's max_tokens

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        ScriptedLLM.requests.append(prompt)
        ScriptedLLM.reply_limits.append(body.get("max_tokens"))
        if "is_bug" in prompt:  # AIDE's review of an execution
            review = {
                "is_bug": False,
                "summary": "It ran.",
                "metric": 0.8,
                "lower_is_better": False,
            }
            text = json.dumps(review)
        elif "JSON object" in prompt:
            text = f"```json\n{json.dumps(DIAGNOSIS)}\n```"
        else:
            text = f"One-hot encode colour.\n```python\n{SOLUTION}```\n"
        reply_with_chat_completion(self, body["model"], text)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def scripted_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedLLM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
