"""LLM agents (GoME and the AIDE baseline) end to end through the real HTTP path: a scripted
OpenAI-compatible server on 127.0.0.1 (`scripted_server` in conftest), the real LLM client,
sandboxed runner, grader and journal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gome.solve import MAX_REPLY_TOKENS
from tests.conftest import TOY_ID, ScriptedLLM

AGENT_RUNS = {
    "gome": (["--init", "builtin", "--max-reply-tokens", "700"], "GoME on openai/scripted"),
    "aide": (["--aide-num-drafts", "1"], "AIDE tree search on openai/scripted"),
}
# what each request's max_tokens must be: the flag's, else an API model's default
REPLY_LIMITS = {"gome": 700, "aide": MAX_REPLY_TOKENS}


@pytest.mark.slow
@pytest.mark.parametrize("agent", sorted(AGENT_RUNS))
def test_llm_agent_solves_through_a_local_openai_compatible_server(
    agent: str, toy_competition, scripted_server: str, tmp_path: Path
) -> None:
    flags, title = AGENT_RUNS[agent]
    run_dir = tmp_path / "run"
    env = os.environ.copy() | {"OPENAI_API_KEY": "sk-test"}
    ScriptedLLM.requests.clear()
    ScriptedLLM.reply_limits.clear()
    done = subprocess.run(
        [sys.executable, "-m", "gome", "solve", TOY_ID, "--agent", agent, *flags]
        + ["--model", "openai/scripted", "--api-base", scripted_server]
        # the scripted server answers at once: steps, not the budget, bound the run
        + ["--max-steps", "4", "--minutes", "1.5", "--trial-timeout", "30"]
        + ["--run-dir", str(run_dir)],
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
    assert set(ScriptedLLM.reply_limits) == {REPLY_LIMITS[agent]}
    ledger = (run_dir / "llm_ledger.jsonl").read_text().splitlines()
    assert len(ledger) >= len(llm_steps)
    if agent == "aide":  # each execution reviewed by a model call, the verdicts journaled
        assert any(json.loads(line)["purpose"] == "aide:review" for line in ledger)
        reviewed = {i for t in trials for i in t["recipe"].get("reviews", {})}
        assert reviewed and reviewed <= set(ids)
    grade = json.loads((run_dir / "grade.json").read_text())
    assert grade["valid_submission"] is True and grade["agent"] == agent
