"""OMEGA with the local model: how many generated estimators heal, in how many rounds, how many
are accepted, and the best one's mean rank against the reference models.

Runs `gome omega generate --n N --model local` into a fresh run folder and registry (or, with
`--from RUN`, digests a run made that way), then writes the digest and copies the run's own
summary and healing journal to benchmarks/results/omega_generate_local/.

    .venv/bin/python benchmarks/omega_generate.py [--n 20] [--model local] [--from RUN]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "omega_generate_local"
KEPT_FILES = ("summary.json", "heal.jsonl", "report.md", "scores.csv", "ranks.csv")


def last_error_line(record: dict) -> str:
    lines = (record.get("error") or "").strip().splitlines()
    return lines[-1][:160] if lines else ""


def digest(run_dir: Path) -> dict:
    """The figures of one `gome omega generate` run, from its summary and healing journal."""
    summary = json.loads((run_dir / "summary.json").read_text())
    rounds = [json.loads(line) for line in (run_dir / "heal.jsonl").read_text().splitlines()]
    by_candidate: dict[str, list[dict]] = {}
    for record in rounds:
        by_candidate.setdefault(record["candidate"], []).append(record)
    first_errors = Counter(
        last_error_line(records[0]).split(":")[0] for records in by_candidate.values()
    )
    healing = summary["healing"]
    return {
        "model": summary.get("model"),
        "asked": summary.get("requested"),
        "with_code": healing["candidates"],
        "healed": healing["healed"],
        "repairs_of_healed": healing["repairs_histogram"],
        "check_rounds": len(rounds),
        "rounds_with_auto_imports": sum(bool(r.get("auto_imports")) for r in rounds),
        "first_round_error_types": dict(first_errors.most_common()),
        "last_round_errors": {
            c: last_error_line(records[-1]) for c, records in sorted(by_candidate.items())
        },
        "most_failed_checks": healing["failed_checks"][:10],
        "accepted": summary.get("accepted", []),
        "best": summary.get("best"),
        "seconds": round(summary.get("seconds", 0.0), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--model", default="local")
    parser.add_argument("--from", dest="run", type=Path, help="digest this run instead")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    if args.run is None:
        tmp = Path(tempfile.mkdtemp(prefix="omega-generate-"))
        run_dir = tmp / "run"
        command = [sys.executable, "-m", "gome", "omega", "generate", "--n", str(args.n)]
        command += ["--model", args.model, "--out", str(run_dir)]
        command += ["--registry", str(tmp / "registry")]
        started = time.monotonic()
        subprocess.run(command, check=True)
        wall = round(time.monotonic() - started, 1)
    else:
        run_dir, wall = args.run, None
    result = digest(run_dir) | {
        "wall_s": wall,
        "load_avg_1m_now": round(os.getloadavg()[0], 2),
        "load_avg_1m_before": round(load_before, 2) if args.run is None else None,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in KEPT_FILES:
        if (run_dir / name).is_file():
            shutil.copy2(run_dir / name, RESULTS / name)
    (RESULTS / "digest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
