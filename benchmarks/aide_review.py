"""How AIDE's review call behaves on the embedded local model: how many executions it reviewed,
how many replies were unusable, and how its verdicts compare with the harness's.

Runs a real `gome solve --agent aide --model local:<name>` (the managed llama.cpp server, the
sandboxed runner, the grader), or reads a finished run folder (`--collect`), then reads the
reviews back from the journal (each step's recipe keeps the reviews it made) and the review
calls' time from the LLM ledger.

    python benchmarks/aide_review.py [--model qwen2.5-coder-1.5b] [--minutes 12]
        [--competition spaceship-titanic] [--flags "--init draft ..."] [--collect RUN_DIR]

Writes benchmarks/results/aide_review.json: one entry per model x competition x flags x code
commit.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench_offline import code_commit

from baselines.aide.agent import recorded_reviews
from gome.journal import Journal
from gome.llm import LEDGER_FILE

RESULTS = Path(__file__).parent / "results" / "aide_review.json"
REVIEW_PURPOSE = "aide:review"


def summarise(run_dir: Path) -> dict:
    """The reviews of one AIDE run against the harness's verdicts."""
    trials = {t.id: t for t in Journal(run_dir)}
    reviews = recorded_reviews(list(trials.values()))
    usable = {i: r for i, r in reviews.items() if not r.get("failed")}
    verdicts: Counter[str] = Counter()
    for trial_id, review in usable.items():
        harness = "valid" if trials[trial_id].is_valid else "buggy"
        verdicts[f"harness {harness}, review {'buggy' if review['is_bug'] else 'fine'}"] += 1
    calls = [json.loads(line) for line in (run_dir / LEDGER_FILE).read_text().splitlines()]
    review_calls = [c for c in calls if c["purpose"] == REVIEW_PURPOSE]
    all_s = sum(c["duration_s"] for c in calls)
    review_s = sum(c["duration_s"] for c in review_calls)
    return {
        "trials": len(trials),
        "reviewed": len(reviews),
        "unusable_replies": len(reviews) - len(usable),
        "verdicts": dict(verdicts),
        "with_summary": sum(bool(r.get("summary")) for r in usable.values()),
        "review_calls": len(review_calls),
        "review_share_of_llm_time": round(review_s / all_s, 3) if all_s else None,
        "graded_score": json.loads((run_dir / "grade.json").read_text()).get("score")
        if (run_dir / "grade.json").is_file()
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument("--competition", default="spaceship-titanic")
    parser.add_argument("--flags", default="", help="Extra `gome solve` flags, one string.")
    parser.add_argument("--collect", type=Path, help="Read this finished run folder instead.")
    args = parser.parse_args()
    if args.collect is not None and not (args.collect / LEDGER_FILE).is_file():
        sys.exit(f"{args.collect} is not a finished run folder (no {LEDGER_FILE})")
    try:
        flags = shlex.split(args.flags)
    except ValueError as exc:
        sys.exit(f"--flags: {exc}")
    entry: dict = {"competition_id": args.competition, "model": args.model, "flags": flags}
    with tempfile.TemporaryDirectory(prefix="gome-aide-review-") as tmp:
        run_dir = args.collect or Path(tmp) / "run"
        if args.collect is None:
            started = time.monotonic()
            command = [sys.executable, "-m", "gome", "solve", args.competition, "--agent", "aide"]
            command += ["--model", f"local:{args.model}", "--minutes", str(args.minutes)]
            done = subprocess.run(command + ["--run-dir", str(run_dir), *flags], text=True)
            if done.returncode != 0:
                sys.exit(f"gome solve failed with exit code {done.returncode}")
            entry |= {"minutes": args.minutes, "wall_s": round(time.monotonic() - started, 1)}
        entry |= {"commit": code_commit(), "run_dir": str(run_dir)} | summarise(run_dir)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    key = f"{args.model}/{args.competition}/{' '.join(flags) or 'default'}@{entry['commit']}"
    results[key] = entry
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(entry, indent=2))


if __name__ == "__main__":
    main()
