"""What `gome solve` does around the loop: prepare data, pick the run folder, show progress,
grade at the end (also after Ctrl-C) and print the grade."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gome.competitions import load_competition
from gome.errors import GomeError
from gome.optimizer.config import with_scaffolding_defaults
from gome.runner import isolation_mode
from gome.solve import (
    LLM_AGENTS,
    LOCAL_MAX_REPLY_TOKENS,
    MAX_REPLY_TOKENS,
    Endpoint,
    SolveConfig,
    SolveRun,
    load_run,
    new_run_dir,
    with_selection_defaults,
)


def agent_title(config: SolveConfig) -> str:
    """How outputs name the agent that ran (and the model behind it)."""
    if config.agent == "builtin":
        return "built-in proposer (no LLM)"
    if config.agent == "gome":
        return f"GoME on {config.model}"
    if config.agent == "aide":
        return f"AIDE tree search on {config.model}"
    return config.agent


def budget_seconds(hours: float | None, minutes: float | None) -> float | None:
    if hours is not None and minutes is not None:
        raise GomeError("Give either --hours or --minutes, not both.")
    if hours is not None:
        return hours * 3600
    if minutes is not None:
        return minutes * 60
    return None


def _status_view(run: SolveRun, bar: Progress) -> Group:
    status = run.status
    best = "-" if status.best_score is None else f"{status.best_score:.5f} ({status.best_trial})"
    running = ", ".join(f"{tid}:{op}" for tid, op in sorted(status.running.items())) or "-"
    table = Table.grid(padding=(0, 2))
    table.add_row("trials", f"{status.done} done, {status.failed} failed")
    table.add_row("best validation", best)
    table.add_row("running", running)
    return Group(bar, table)


def _watch(run: SolveRun, console: Console) -> None:
    """Run the search with a live display of budget, trials, best score and operators."""
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[clock]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    task = bar.add_task(run.competition.id, total=run.status.budget_s, clock="")
    done = threading.Event()

    def refresh(live: Live) -> None:
        while not done.wait(0.5):
            elapsed = min(run.status.elapsed_s, run.status.budget_s)
            clock = f"{elapsed / 60:.1f}/{run.status.budget_s / 60:.1f} min"
            bar.update(task, completed=elapsed, clock=clock)
            live.update(_status_view(run, bar))

    with Live(_status_view(run, bar), console=console, refresh_per_second=2) as live:
        painter = threading.Thread(target=refresh, args=(live,), daemon=True)
        painter.start()
        try:
            run.search()
        finally:
            done.set()
            painter.join()
            live.update(_status_view(run, bar))


def run_solve(
    console: Console,
    *,
    competition_id: str | None,
    hours: float | None,
    minutes: float | None,
    agent: str,
    model: str | None,
    api_base: str | None,
    max_dollars: float | None,
    gome_settings: dict,
    aide_settings: dict,
    gpu: int | None,
    workers: int,
    seed: int,
    trial_timeout: float | None,
    run_dir: Path | None,
    resume: Path | None,
    data_dir: Path | None,
    guard_fraction: float | None = None,
    final_top_k: int | None = None,
    final_share: float | None = None,
    max_steps: int | None = None,
) -> SolveRun:
    """One `gome solve` (also each run of `gome compare`); the finished run, `interrupted`
    set when Ctrl-C cut its search short."""
    budget = budget_seconds(hours, minutes)
    if resume is not None:
        config, elapsed = load_run(resume)
        if budget is not None:
            config = SolveConfig(**{**config.__dict__, "budget_s": budget})
            elapsed = 0.0
        if competition_id is not None and competition_id != config.competition_id:
            raise GomeError(
                f"{resume} is a run of {config.competition_id!r}, not {competition_id!r}."
            )
        folder = resume
    else:
        if competition_id is None:
            raise GomeError("Name a competition (gome solve <id>) or --resume a run folder.")
        if workers < 1:
            raise GomeError("--workers must be at least 1.")
        config = SolveConfig(
            competition_id=competition_id,
            budget_s=budget if budget is not None else 3600.0,
            agent=agent,
            model=model,
            api_base=api_base,
            max_dollars=max_dollars,
            gome=with_scaffolding_defaults(gome_settings, model) if agent == "gome" else {},
            aide=with_scaffolding_defaults(aide_settings, model) if agent == "aide" else {},
            gpu=gpu,
            workers=workers,
            seed=seed,
            data_dir=str(data_dir) if data_dir else None,
            trial_timeout_s=trial_timeout,
            max_steps=max_steps,
            **with_selection_defaults(
                agent,
                guard_fraction=guard_fraction,
                final_top_k=final_top_k,
                final_share=final_share,
            ),
        )
        elapsed = 0.0
        folder = run_dir or new_run_dir(config)
        if (folder / "run.json").exists():
            raise GomeError(f"{folder} already holds a run; use --resume {folder}.")

    comp = load_competition(config.competition_id)
    if not comp.is_prepared(config.data_dir):
        from gome.prepare import prepare_competition

        result = prepare_competition(comp, data_dir=config.data_dir, console=console)
        console.print(result.message, highlight=False)

    folder.mkdir(parents=True, exist_ok=True)
    with _model_session(config, console) as (config, endpoint):
        run = SolveRun(folder, config, elapsed_before_s=elapsed, endpoint=endpoint)
        _search_and_grade(run, config, console, folder, resumed=resume is not None)
    return run


@contextlib.contextmanager
def _model_session(
    config: SolveConfig, console: Console
) -> Iterator[tuple[SolveConfig, Endpoint | None]]:
    """For an LLM agent: resolve `--model` (a local model is fetched and served for the length
    of the run); when the local model cannot be had, fall back to the built-in proposer."""
    if config.agent not in LLM_AGENTS:
        yield config, None
        return
    from gome.models import LOCAL, ModelUnavailableError, resolve_model

    with contextlib.ExitStack() as stack:
        try:
            handle = resolve_model(config.model, console, api_base=config.api_base)
            stack.enter_context(handle)  # starts a local server; stopped on every exit path
        except ModelUnavailableError as exc:
            console.print(
                f"[yellow]{exc}[/] Falling back to the built-in proposer.", highlight=False
            )
            yield replace(config, agent="builtin", model=None), None
            return
        model_name = f"{LOCAL}:{handle.local_name}" if handle.local_name else handle.model
        max_tokens = LOCAL_MAX_REPLY_TOKENS if handle.is_local else MAX_REPLY_TOKENS
        endpoint = Endpoint(
            handle.model, handle.api_base, handle.api_key, max_tokens, handle.context_window
        )
        yield replace(config, model=model_name), endpoint


def _search_and_grade(
    run: SolveRun, config: SolveConfig, console: Console, folder: Path, resumed: bool
) -> None:
    run.save_config()
    title = agent_title(config)
    budget_min = config.budget_s / 60
    console.print(
        f"[bold]gome solve[/] {run.competition.id} · agent: {title} · budget {budget_min:.0f} min"
        f" · run: {folder}" + (f" · resumed with {len(run.journal)} trials" if resumed else ""),
        highlight=False,
    )
    console.print(f"sandbox: {isolation_mode()}", highlight=False)
    _watch(run, console)
    if run.interrupted:
        console.print("[yellow]interrupted: grading the best submission so far[/]")
    report = run.grade()
    _print_grade(console, report.to_dict(), title, folder)


def _print_grade(console: Console, grade: dict, agent_title: str, folder: Path) -> None:
    table = Table(title=f"Grade ({agent_title})", show_header=False)
    keys = (
        "competition_id",
        "score",
        "gold_threshold",
        "silver_threshold",
        "bronze_threshold",
        "median_threshold",
        "any_medal",
        "above_median",
        "valid_submission",
        "data_source",
    )
    for key in keys:
        if key in grade:
            table.add_row(key, str(grade[key]))
    console.print(table)
    console.print(f"submission: {folder / 'submission.csv'} · report: {folder / 'grade.json'}")
