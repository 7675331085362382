"""Does a candidate work? Static inspection, then `sandbox/check_worker.py` in the sandbox.

The checks themselves, and the scikit-learn checks left out with why (`EXCLUDED_CHECKS`),
are listed in `omega.sandbox.check_worker`. A report names every failed check and keeps the
first failure's traceback tail: that is what healing sends back to the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from omega.candidate import Candidate
from omega.execute import CANDIDATE_MODULE, run_worker
from omega.sandbox.check_worker import TRACEBACK_CHARS

CHECK_TIMEOUT_S = 30.0
RUN_TIMEOUT_S = 300.0
STATIC_CHECK = "static"


@dataclass(frozen=True)
class CheckReport:
    """The outcome of one round of checks. `failed` lists check names in the order run."""

    passed: bool
    failed: tuple[str, ...]
    error: str  # the first failed check's traceback tail (or the runner's output tail)
    checks_run: int
    seconds: float
    class_name: str | None = None
    idea: str = ""
    skipped: tuple[str, ...] = field(default=())

    @property
    def first_failure(self) -> str | None:
        return self.failed[0] if self.failed else None


def run_checks(
    candidate: Candidate,
    folder: Path,
    *,
    check_timeout_s: float = CHECK_TIMEOUT_S,
    timeout_s: float = RUN_TIMEOUT_S,
) -> CheckReport:
    """Inspect, then exercise the candidate in the sandbox with a wall-clock limit."""
    found = candidate.inspection
    if found.problem is not None or found.class_name is None:
        problem = found.problem or "no estimator class"
        return CheckReport(False, (STATIC_CHECK,), problem, 0, 0.0, found.class_name, found.idea)
    config = {
        "module": CANDIDATE_MODULE,
        "class_name": found.class_name,
        "task": candidate.task,
        "check_timeout_s": check_timeout_s,
    }
    done = run_worker(
        "check_worker", folder, config, timeout_s=timeout_s, candidate_code=candidate.code
    )
    results = (done.output or {}).get("results", [])
    failed = [r for r in results if not r["passed"]]
    skipped = tuple(r["check"] for r in results if r.get("skipped"))
    if done.run.timed_out or done.output is None:
        # the worker died mid-check: its last `CHECK <name>` line names the culprit
        started = re.findall(r"^CHECK (\S+)$", done.run.output_excerpt, flags=re.M)
        culprit = started[-1] if started else "import"
        why = (
            f"timed out after {timeout_s:g} s"
            if done.run.timed_out
            else f"the check process died ({done.run.label})"
        )
        tail = done.output_tail[-TRACEBACK_CHARS:]
        failed.append({"check": culprit, "error": f"{culprit}: {why}\n{tail}"})
    names = tuple(dict.fromkeys(r["check"] for r in failed))
    return CheckReport(
        passed=not failed,
        failed=names,
        error=failed[0]["error"] if failed else "",
        checks_run=len(results),
        seconds=done.run.duration_s,
        class_name=found.class_name,
        idea=found.idea,
        skipped=skipped,
    )
