"""Integrity audit: flag trials that could be cheating, so they are never selected.

Agents reward-hack: they read answers, train on test labels, hard-code outputs. The sandbox
makes the private answers unreachable; this audit makes attempts visible. A flag is a short
label plus a reason, recorded on the trial in the journal; a flagged trial is never chosen as
the run's best.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd

from gome.competitions import Competition

NETWORK_MODULES = frozenset(
    {"socket", "requests", "urllib", "urllib3", "http", "httpx", "aiohttp", "ftplib", "kaggle"}
)
# absolute paths a solution may legitimately name (devices, the interpreter's own files)
ALLOWED_ABSOLUTE_PREFIXES = ("/dev/null", "/proc/cpuinfo", "/proc/meminfo", "/tmp/")
PRIVATE_MARKERS = re.compile(r"prepared/private|/private/|\bprivate_dir\b")


def _imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def _string_constants(tree: ast.AST) -> list[str]:
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def scan_code(code: str, competition: Competition) -> list[str]:
    """Flags for a solution script, from its imports and string literals.

    Looks for network use, paths outside `./input` and the trial folder, references to the
    private answers, and use of the competition's documented leak fields.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []  # it will fail to run; nothing to audit
    flags: list[str] = []
    network = sorted(_imported_modules(tree) & NETWORK_MODULES)
    if network:
        flags.append(f"network: imports {', '.join(network)}")
    strings = _string_constants(tree)
    for text in strings:
        if PRIVATE_MARKERS.search(text):
            flags.append(f"private-data: names {text[:60]!r}")
        elif (
            text.startswith("/")
            and len(text) > 1
            and not text.startswith(ALLOWED_ABSOLUTE_PREFIXES)
        ):
            if "\n" not in text and " " not in text.strip():
                flags.append(f"outside-path: {text[:60]!r}")
        elif text.startswith("../") or "/../" in text:
            flags.append(f"outside-path: {text[:60]!r}")
    leak_fields = {f for leak in competition.known_leaks for f in leak.fields}
    used = sorted(leak_fields & set(strings))
    if used:
        flags.append(f"known-leak: uses {', '.join(used)}")
    return list(dict.fromkeys(flags))


def check_submission(submission: Path, competition: Competition, public_dir: Path) -> list[str]:
    """Flags for a submission file: a copy of the sample submission, constant predictions."""
    try:
        sub = pd.read_csv(submission)
    except (OSError, ValueError, pd.errors.ParserError):
        return []  # unreadable files are the grader's business (invalid-submission)
    flags: list[str] = []
    sample_path = public_dir / competition.sample_submission_file
    if sample_path.is_file():
        try:
            sample = pd.read_csv(sample_path)
            if sub.shape == sample.shape and sub.astype(str).equals(sample.astype(str)):
                flags.append("copy-of-sample-submission")
        except (OSError, ValueError, pd.errors.ParserError):
            pass
    targets = [c for c in competition.submission_columns if c != competition.id_column]
    present = [c for c in targets if c in sub.columns]
    if len(sub) > 1 and present and all(sub[c].nunique(dropna=False) <= 1 for c in present):
        flags.append("constant-predictions")
    return flags
