"""The measured evidence of a trial, as the gradient and debug prompts show it.

Trial code is looked up by its hash among the scripts this agent proposed (works without a run
folder) or at `<run_dir>/<code_path>`; the script's output comes from the runner's
`stdout.txt`/`stderr.txt` next to the code, shortened to a head and tail.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from gome.journal import Trial, code_hash
from gome.runner import head_tail

MAX_DIFF_CHARS = 4000
OUTPUT_HEAD_CHARS = 800
OUTPUT_TAIL_CHARS = 2500
OUTPUT_FILES = ("stdout.txt", "stderr.txt")


class CodeStore:
    """Finds the code and output of trials in the history."""

    def __init__(self, run_dir: Path | None = None) -> None:
        self.run_dir = run_dir
        self._codes: dict[str, str] = {}

    def remember(self, code: str) -> None:
        self._codes[code_hash(code)] = code

    def code_of(self, trial: Trial) -> str:
        if trial.code_hash in self._codes:
            return self._codes[trial.code_hash]
        if self.run_dir is not None:
            path = self.run_dir / trial.code_path
            if path.is_file():
                code = path.read_text(encoding="utf-8", errors="replace")
                self._codes[trial.code_hash] = code
                return code
        return ""

    def output_of(self, trial: Trial) -> str:
        """Head and tail of the trial's stdout then stderr; empty without a run folder."""
        if self.run_dir is None:
            return ""
        folder = (self.run_dir / trial.code_path).parent
        parts = []
        for name in OUTPUT_FILES:
            path = folder / name
            if path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace").strip()
                if text:
                    parts.append(f"--- {name} ---\n{text}")
        return head_tail("\n".join(parts), OUTPUT_HEAD_CHARS, OUTPUT_TAIL_CHARS)


def code_diff(parent_code: str, child_code: str) -> str:
    diff = "".join(
        difflib.unified_diff(
            parent_code.splitlines(keepends=True),
            child_code.splitlines(keepends=True),
            "parent.py",
            "child.py",
            n=2,
        )
    )
    return head_tail(diff, MAX_DIFF_CHARS // 2, MAX_DIFF_CHARS // 2)


def _score(trial: Trial) -> str:
    return "none" if trial.validation_score is None else f"{trial.validation_score:.6g}"


@dataclass(frozen=True)
class TrialEvidence:
    """What the last trial measured, relative to its parent."""

    trial: Trial
    parent: Trial | None
    diff: str
    output: str

    def variants(self, trial_timeout_s: float, cut_chars: int = 600) -> tuple[str, ...]:
        """The evidence whole, then with the diff and output cut to their last `cut_chars`
        characters, then without them (for prompts that must shrink)."""
        short = TrialEvidence(
            self.trial, self.parent, self.diff[-cut_chars:], self.output[-cut_chars:]
        )
        bare = TrialEvidence(self.trial, self.parent, "", "")
        return tuple(e.render(trial_timeout_s) for e in (self, short, bare))

    def render(self, trial_timeout_s: float) -> str:
        t = self.trial
        lines = [
            f"Trial {t.id} ({t.operator}): {t.hypothesis or 'no hypothesis recorded'}",
            f"Outcome: {t.label}; validation score {_score(t)}; "
            f"runtime {t.runtime_s:.0f}s of the {trial_timeout_s:.0f}s limit.",
        ]
        if self.parent is not None:
            lines.append(f"Parent {self.parent.id}: validation score {_score(self.parent)}.")
        if t.validity_message:
            lines.append(f"Submission check: {t.validity_message}")
        if t.flags:
            lines.append("Integrity flags (the trial cannot be selected): " + "; ".join(t.flags))
        if self.diff:
            lines += ["Change from the parent:", f"```diff\n{self.diff}\n```"]
        if self.output:
            lines += ["Output (head and tail):", f"```\n{self.output}\n```"]
        return "\n".join(lines)


def gather_evidence(trial: Trial, parent: Trial | None, store: CodeStore) -> TrialEvidence:
    diff = code_diff(store.code_of(parent), store.code_of(trial)) if parent is not None else ""
    return TrialEvidence(trial, parent, diff, store.output_of(trial))
