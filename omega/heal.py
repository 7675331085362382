"""Self-healing: check a candidate, send its failure back, check the fix, up to N repairs.

Round 0 checks the code as generated, each later round one repair (a fresh conversation with
the code and the failing check's traceback tail, `omega.generate.repair_messages`) and its
check; before every check, names the code uses but never imports get their import lines
(`gome.optimizer.auto_imports`), the one fix small models keep missing. Every round is one
JSON line in `<run>/heal.jsonl`, written before the next round starts, and each round's code
and check output stay in `<run>/candidates/<id>/round_<k>/`. A repair that returns the code
unchanged is resampled once at a higher temperature; unchanged again, healing stops there.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from gome.llm import LLMClient
from gome.optimizer.auto_imports import add_missing_imports
from gome.optimizer.coding import RESAMPLE_TEMPERATURE
from omega.candidate import Candidate
from omega.checks import CheckReport, run_checks
from omega.generate import ask_for_code, repair_messages

JOURNAL = "heal.jsonl"


@dataclass(frozen=True)
class HealOutcome:
    """The last code tried and whether it passed; `repairs` is the number of repairs used."""

    candidate: Candidate
    healed: bool
    repairs: int
    reports: tuple[CheckReport, ...]

    @property
    def failed_checks(self) -> list[str]:
        """Every check that failed in some round (a round names each once)."""
        return [name for report in self.reports for name in report.failed]


def _journal(path: Path, record: dict) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())


def heal(
    candidate: Candidate,
    client: LLMClient | None,
    run_dir: Path,
    *,
    max_repairs: int = 3,
    check_timeout_s: float = 30.0,
    timeout_s: float = 300.0,
) -> HealOutcome:
    """Check, and while checks fail and repairs are left (and a client is given), repair."""
    reports: list[CheckReport] = []
    folder = run_dir / "candidates" / candidate.id
    for round_ in range(max_repairs + 1):
        code, imported = add_missing_imports(candidate.code)
        candidate = candidate.with_code(code)
        round_dir = folder / f"round_{round_}"
        round_dir.mkdir(parents=True, exist_ok=True)
        (round_dir / "module.py").write_text(candidate.code, encoding="utf-8")
        report = run_checks(
            candidate, round_dir / "sandbox", check_timeout_s=check_timeout_s, timeout_s=timeout_s
        )
        reports.append(report)
        _journal(
            run_dir / JOURNAL,
            {
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
                "candidate": candidate.id,
                "round": round_,
                "origin": candidate.origin,
                "code_sha256": candidate.code_sha,
                "code_path": str(round_dir / "module.py"),
                "auto_imports": imported,
                **asdict(report),
            },
        )
        if report.passed:
            return HealOutcome(candidate, True, round_, tuple(reports))
        if client is None or round_ == max_repairs:
            break
        messages = repair_messages(
            candidate.code, report.first_failure or "import", report.error, candidate.task
        )
        fixed = ask_for_code(client, messages, purpose="omega-repair")
        if fixed is not None and fixed.strip() == candidate.code.strip():
            # the same code back: one resample at a higher temperature, as GoME's repairs do
            fixed = ask_for_code(
                client, messages, purpose="omega-repair", temperature=RESAMPLE_TEMPERATURE
            )
        if fixed is None or fixed.strip() == candidate.code.strip():
            break  # no code, or the same code again: checking it again would fail again
        candidate = candidate.with_code(fixed)
    return HealOutcome(candidate, False, len(reports) - 1, tuple(reports))


@dataclass(frozen=True)
class HealingSummary:
    """For the report: how many healed, after how many repairs, which checks failed most."""

    candidates: int
    healed: int
    repairs_histogram: dict[int, int]  # repairs used -> candidates healed with that many
    failed_checks: list[tuple[str, int]]  # most frequent first

    @classmethod
    def of(cls, outcomes: list[HealOutcome]) -> HealingSummary:
        healed = [o for o in outcomes if o.healed]
        counts = Counter(name for o in outcomes for name in o.failed_checks)
        return cls(
            candidates=len(outcomes),
            healed=len(healed),
            repairs_histogram=dict(sorted(Counter(o.repairs for o in healed).items())),
            failed_checks=counts.most_common(),
        )
