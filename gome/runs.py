"""Reading run folders back: `gome runs` and `gome runs show`."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from gome.competitions import load_competition
from gome.errors import GomeError
from gome.journal import Journal, Trial
from gome.solve import RUN_CONFIG_FILE, load_run


def _read_grade(run_dir: Path) -> dict:
    path = run_dir / "grade.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _kept(run_dir: Path, journal: Journal, config_id: str) -> Trial | None:
    """The trial whose submission the run keeps (`best.json`: after the multi-seed final
    selection it may not be the best single score); the journal's best without one."""
    path = run_dir / "best.json"
    if path.is_file():
        try:
            return journal.get(json.loads(path.read_text(encoding="utf-8"))["id"])
        except (KeyError, json.JSONDecodeError):
            pass
    return journal.best(load_competition(config_id).direction)


def medal_of(grade: dict) -> str:
    for medal in ("gold", "silver", "bronze"):
        if grade.get(f"{medal}_medal"):
            return medal
    return "above median" if grade.get("above_median") else "-"


def list_runs(root: Path) -> list[tuple]:
    """One row per run folder under `root`, newest first."""
    if not root.is_dir():
        return []
    rows = []
    folders = sorted(root.glob(f"*/{RUN_CONFIG_FILE}"), key=lambda p: p.stat().st_mtime)
    for config_path in reversed(folders):
        run_dir = config_path.parent
        config, _ = load_run(run_dir)
        journal = Journal(run_dir)
        best = _kept(run_dir, journal, config.competition_id)
        grade = _read_grade(run_dir)
        rows.append(
            (
                run_dir.name,
                config.competition_id,
                config.agent,
                len(journal),
                len(journal.valid),
                "-" if best is None else f"{best.validation_score:.5f}",
                grade.get("score", "-"),
                medal_of(grade) if grade else "-",
            )
        )
    return rows


def _label(trial: Trial, best_id: str | None) -> str:
    score = "-" if trial.validation_score is None else f"{trial.validation_score:.5f}"
    mark = " [bold green]★ best[/]" if trial.id == best_id else ""
    flags = f" [red]flags: {'; '.join(trial.flags)}[/]" if trial.flags else ""
    return (
        f"{trial.id} [{trial.operator}] {trial.label} val={score} "
        f"{trial.runtime_s:.0f}s — {trial.hypothesis[:80]}{mark}{flags}"
    )


def show_run(run_dir: Path, console: Console) -> None:
    """Print the lineage tree of a run and its best trial."""
    if not (run_dir / RUN_CONFIG_FILE).is_file():
        raise GomeError(f"{run_dir} is not a gome run folder.")
    config, elapsed = load_run(run_dir)
    comp = load_competition(config.competition_id)
    journal = Journal(run_dir)
    best = _kept(run_dir, journal, comp.id)
    best_id = best.id if best else None
    tree = Tree(f"[bold]{run_dir.name}[/] {comp.id} · {config.agent} · {elapsed / 60:.1f} min")
    nodes: dict[str, Tree] = {}
    for trial in journal:
        parent = next((nodes[p] for p in trial.parent_ids if p in nodes), tree)
        nodes[trial.id] = parent.add(_label(trial, best_id))
    console.print(tree)
    table = Table(show_header=False, title="Best trial")
    if best is None:
        table.add_row("best", "no valid trial yet")
    else:
        table.add_row("trial", best.id)
        table.add_row("validation score", f"{best.validation_score:.5f}")
        table.add_row("hypothesis", best.hypothesis)
        table.add_row("code", str(run_dir / best.code_path))
    grade = _read_grade(run_dir)
    if grade:
        table.add_row("graded score", str(grade.get("score")))
        table.add_row("medal", medal_of(grade))
    console.print(table)
