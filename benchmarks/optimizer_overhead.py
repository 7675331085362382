"""GoME's own time per `propose()`: journal replay, prompt building, parsing, file reads.

The model is replaced by a scripted client that answers instantly, and trials by simulated
outcomes (15 % crashes with a traceback, otherwise a noisy score), written to a run folder the
way the runner writes them. So the time measured is the agent's alone. Reports the median and
p95 per step by history length, prompt size, LLM calls per step, and the share of a 60 s trial.

    .venv/bin/python benchmarks/optimizer_overhead.py [--steps 200]

Writes benchmarks/results/optimizer_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gome import competitions  # noqa: E402
from gome.agent import SearchContext  # noqa: E402
from gome.journal import Trial, code_hash  # noqa: E402
from gome.llm import LLMReply  # noqa: E402
from gome.optimizer import GomeAgent, GomeConfig  # noqa: E402
from tests.conftest import TOY_ID, write_toy_competition  # noqa: E402

RESULT = ROOT / "benchmarks" / "results" / "optimizer_overhead.json"
NOTIONAL_TRIAL_S = 60.0
BASE_SCRIPT = """import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

C = 1.0
train = pd.read_csv("input/train.csv")
test = pd.read_csv("input/test.csv")
target = "label"


def features(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.drop(columns=[target], errors="ignore").copy()
    for column in out.select_dtypes(include=["object", "str"]).columns:
        out[column] = out[column].astype("category").cat.codes
    return out.fillna(out.median(numeric_only=True))


X, y = features(train), train[target]
scores = []
for fold, (fit_idx, val_idx) in enumerate(StratifiedKFold(5, shuffle=True).split(X, y)):
    model = LogisticRegression(C=C, max_iter=1000).fit(X.iloc[fit_idx], y.iloc[fit_idx])
    scores.append((model.predict(X.iloc[val_idx]) == y.iloc[val_idx]).mean())
    print(f"fold {fold}: {scores[-1]:.4f}")
print(f"validation_score: {np.mean(scores):.6f}")
model = LogisticRegression(C=C, max_iter=1000).fit(X, y)
pd.DataFrame({"id": test["id"], target: model.predict(features(test))}).to_csv(
    "submission.csv", index=False
)
"""
DIAGNOSIS = json.dumps(
    {
        "scenario_problems": [{"problem": f"scenario {i}", "evidence": "data"} for i in range(3)],
        "feedback_problems": [{"problem": f"feedback {i}", "evidence": "trial"} for i in range(4)],
        "hypotheses": [
            {
                "problem": i + 1,
                "hypothesis": f"hypothesis {i}",
                "scores": {
                    "alignment": 5 + i % 4,
                    "impact": 3 + i % 6,
                    "novelty": 6,
                    "feasibility": 8,
                    "risk_reward": 5,
                },
            }
            for i in range(7)
        ],
    }
)


class ScriptedClient:
    """Instant replies chosen by stage; records prompt sizes."""

    def __init__(self, edit_mode: str) -> None:
        self.edit_mode = edit_mode
        self.prompt_chars: list[int] = []
        self.counter = 0

    def complete(self, messages: list[dict], *, purpose: str = "") -> LLMReply:
        self.prompt_chars.append(sum(len(m["content"]) for m in messages))
        self.counter += 1
        if purpose == "gome:diagnosis":
            text = DIAGNOSIS
        elif self.edit_mode == "patch" and purpose != "gome:draft":
            text = (
                "Sketch: change C.\n<<<<<<< SEARCH\nC = 1.0\n=======\n"
                f"C = 1.0\nC_{self.counter} = {self.counter}\n>>>>>>> REPLACE\n"
            )
        else:
            text = f"Sketch.\n```python\n{BASE_SCRIPT}\nSTEP = {self.counter}\n```\n"
        return LLMReply(text, "scripted", 0, 0, 0.0, 0.0, "stop")


def simulate(edit_mode: str, steps: int, public_dir: Path, run_dir: Path) -> dict:
    competition = competitions.load_competition(TOY_ID)
    client = ScriptedClient(edit_mode)
    agent = GomeAgent(client, GomeConfig(edit_mode=edit_mode), run_dir=run_dir, budget_s=43200)
    rng = random.Random(0)
    history: list[Trial] = []
    timings: list[tuple[int, float]] = []
    calls: list[int] = []
    best = 0.75
    for n in range(steps):
        context = SearchContext(
            competition=competition,
            public_dir=public_dir,
            history=list(history),
            trial_timeout_s=3600,
            time_left_s=43200 * (1 - n / steps),
            environment="Python 3.12; pandas 3.1; lightgbm 4.6; 2 CPU cores; no GPU.",
            rng=rng,
        )
        start = time.perf_counter()
        proposal = agent.propose(context)
        timings.append((n, time.perf_counter() - start))
        calls.append(proposal.recipe["llm_calls"])
        tid = f"t{n + 1:04d}"
        folder = run_dir / "trials" / tid
        folder.mkdir(parents=True)
        (folder / "solution.py").write_text(proposal.code)
        crashed = rng.random() < 0.15
        score = None if crashed else best + rng.gauss(0.0, 0.01)
        if score is not None:
            best = max(best, score)
        (folder / "stdout.txt").write_text("fold 1 ...\n" * 50 + f"validation_score: {score}\n")
        (folder / "stderr.txt").write_text("Traceback ...\nKeyError: 'Cabin'\n" if crashed else "")
        history.append(
            Trial(
                id=tid,
                parent_ids=proposal.parent_ids,
                agent=agent.name,
                operator=proposal.operator,
                hypothesis=proposal.hypothesis,
                code_path=f"trials/{tid}/solution.py",
                code_hash=code_hash(proposal.code),
                recipe=proposal.recipe,
                label="crash" if crashed else "ok",
                runtime_s=rng.uniform(20, 60),
                validation_score=score,
            )
        )
    per_step = [t for n, t in timings[1:]]  # the first call also builds the data preview
    by_length = {}
    for lo in range(0, steps, 50):
        bucket = [t for n, t in timings[1:] if lo <= n < lo + 50]
        if bucket:
            by_length[f"history {lo}-{lo + 49}"] = round(statistics.median(bucket) * 1000, 2)
    median_s = statistics.median(per_step)
    return {
        "edit_mode": edit_mode,
        "steps": steps,
        "first_call_ms": round(timings[0][1] * 1000, 2),
        "median_ms": round(median_s * 1000, 2),
        "p95_ms": round(sorted(per_step)[int(0.95 * len(per_step))] * 1000, 2),
        "max_ms": round(max(per_step) * 1000, 2),
        "median_ms_by_history_length": by_length,
        "llm_calls_per_step_mean": round(statistics.mean(calls), 2),
        "prompt_chars_median": int(statistics.median(client.prompt_chars)),
        "prompt_tokens_estimate_median": int(statistics.median(client.prompt_chars) / 4),
        "share_of_60s_trial_pct": round(100 * median_s / NOTIONAL_TRIAL_S, 4),
        "operators": {
            op: sum(1 for t in history if t.operator == op) for op in {t.operator for t in history}
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        comps, data = write_toy_competition(Path(tmp))
        os.environ["GOME_COMPETITIONS_DIR"] = str(comps)
        os.environ["GOME_DATA_DIR"] = str(data)
        competitions.list_competition_ids.cache_clear()
        competitions.load_competition.cache_clear()
        public_dir = competitions.load_competition(TOY_ID).public_dir()
        results = [
            simulate(mode, args.steps, public_dir, Path(tmp) / f"run-{mode}")
            for mode in ("full", "patch")
        ]
    payload = {
        "what": "GomeAgent.propose() wall time with instant scripted replies (agent overhead)",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "notional_trial_s": NOTIONAL_TRIAL_S,
        "results": results,
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
