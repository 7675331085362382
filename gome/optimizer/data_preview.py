"""A short text picture of the public data for prompts: files, sizes, columns, head, target.

Reads at most `SAMPLE_ROWS` rows of any table, so it costs well under a second even on large
competitions; row counts of big files are estimated from the sample's bytes per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gome.competitions import Competition

SAMPLE_ROWS = 5000
EXACT_COUNT_MAX_BYTES = 50_000_000
MAX_LISTED_FILES = 25
MAX_COLUMNS_SHOWN = 40  # with dtype and missing share; the rest of a table by name only
MAX_COLUMN_NAMES = 200
HEAD_ROWS = 5


@dataclass(frozen=True)
class DataPreview:
    """The preview with and without its head rows (prompts drop them to fit their budget), and
    the column names of every top-level table (for the static column check)."""

    text: str
    without_rows: str
    columns: tuple[str, ...]


def name_list(names: Sequence[str], limit: int = MAX_COLUMN_NAMES) -> str:
    """The first `limit` of `names`, comma-separated, and a count of the rest.

    Why names past the detailed ones: on a wide table (house prices: 80 columns) a small model
    that sees only some names invents placeholders such as `feature1` for the others."""
    shown = ", ".join(map(str, names[:limit]))
    rest = len(names) - limit
    return f"{shown} (and {rest} more)" if rest > 0 else shown


def table_columns(public_dir: Path) -> tuple[str, ...]:
    """Column names of the top-level CSV tables, in file then column order, without repeats."""
    names: dict[str, None] = {}
    for path in sorted(public_dir.glob("*.csv")):
        try:
            names.update(dict.fromkeys(map(str, pd.read_csv(path, nrows=0).columns)))
        except (OSError, ValueError, pd.errors.ParserError):
            continue
    return tuple(names)


def describe_data(public_dir: Path, competition: Competition) -> DataPreview:
    return DataPreview(
        preview_data(public_dir, competition),
        preview_data(public_dir, competition, head_rows=0),
        table_columns(public_dir),
    )


def _size(num_bytes: int) -> str:
    value = float(num_bytes)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def _row_count(path: Path, sample_rows: int) -> str:
    size = path.stat().st_size
    if size <= EXACT_COUNT_MAX_BYTES:
        with path.open("rb") as fh:
            return str(max(0, sum(1 for _ in fh) - 1))
    with path.open("rb") as fh:
        head = b"".join(fh.readline() for _ in range(min(sample_rows, 1000) + 1))
    per_row = max(1, len(head) // max(1, head.count(b"\n")))
    return f"~{size // per_row}"


def _target_summary(frame: pd.DataFrame, targets: list[str]) -> list[str]:
    lines = []
    for target in targets:
        if target not in frame:
            continue
        column = frame[target]
        if column.nunique(dropna=False) <= 20:
            shares = column.value_counts(normalize=True, dropna=False).head(20)
            balance = ", ".join(f"{k}: {v:.1%}" for k, v in shares.items())
            lines.append(f"Target `{target}` balance (sample): {balance}")
        else:
            d = column.describe()
            lines.append(
                f"Target `{target}` (sample): mean {d['mean']:.4g}, std {d['std']:.4g}, "
                f"min {d['min']:.4g}, max {d['max']:.4g}"
            )
    return lines


def _table_preview(
    path: Path, competition: Competition, detailed: bool, head_rows: int
) -> list[str]:
    frame = pd.read_csv(path, nrows=SAMPLE_ROWS, low_memory=False)
    lines = [f"### {path.name}: {_row_count(path, len(frame))} rows x {frame.shape[1]} columns"]
    if not detailed:
        return lines + [f"Columns: {name_list(list(frame.columns))}"]
    missing = frame.isna().mean()
    for name in frame.columns[:MAX_COLUMNS_SHOWN]:
        note = f", {missing[name]:.0%} missing" if missing[name] > 0 else ""
        lines.append(f"- {name}: {frame[name].dtype}, {frame[name].nunique()} unique{note}")
    rest = list(frame.columns[MAX_COLUMNS_SHOWN:])
    if rest:
        lines.append(f"- the other {len(rest)} columns: {name_list(rest)}")
    if head_rows > 0:
        with pd.option_context("display.width", 160, "display.max_columns", 12):
            lines += ["Head:", frame.head(head_rows).to_string(max_colwidth=30)]
    return lines + _target_summary(frame, competition.target_columns)


def preview_data(public_dir: Path, competition: Competition, head_rows: int = HEAD_ROWS) -> str:
    """Files with sizes; tables with row counts and columns; for the training table (the one
    holding the target), dtypes, missing shares, the first `head_rows` rows and target
    balance."""
    files = sorted(p for p in public_dir.rglob("*") if p.is_file())
    lines = [f"Files in ./input ({len(files)} in all):"]
    lines += [
        f"- {p.relative_to(public_dir)} ({_size(p.stat().st_size)})"
        for p in files[:MAX_LISTED_FILES]
    ]
    if len(files) > MAX_LISTED_FILES:
        lines.append(f"- ... {len(files) - MAX_LISTED_FILES} more")
    for path in (p for p in files if p.suffix == ".csv" and p.parent == public_dir):
        try:
            header = pd.read_csv(path, nrows=0).columns
            detailed = any(t in header for t in competition.target_columns)
            lines += _table_preview(path, competition, detailed, head_rows)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            lines.append(f"### {path.name}: unreadable as CSV ({exc})")
    return "\n".join(lines)
