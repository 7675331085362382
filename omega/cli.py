"""`gome omega generate | evaluate | list | datasets`: a typer sub-app of the gome CLI.

Imports stay inside the commands: `gome --help` must not pay for scikit-learn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

omega_app = typer.Typer(
    help="OMEGA: LLM-generated scikit-learn estimators, self-healed, evaluated, registered.",
    no_args_is_help=True,
)
console = Console()

RegistryOption = Annotated[
    Path | None,
    typer.Option("--registry", help="Registry folder (default: ~/.cache/gome/omega/registry)."),
]
DatasetsOption = Annotated[
    str | None,
    typer.Option("--datasets", help="Comma-separated dataset names (default: the whole suite)."),
]
JobsOption = Annotated[
    int | None, typer.Option("--jobs", help="Parallel fits (default: the usable cores).")
]
FitTimeoutOption = Annotated[
    float, typer.Option("--fit-timeout", help="Seconds per fit before the fold counts as failed.")
]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Run folder (default: runs/omega_<command>_<time>).")
]


def _settings(datasets: str | None, jobs: int | None, fit_timeout: float):
    from omega.pipeline import SuiteSettings

    names = [n.strip() for n in datasets.split(",") if n.strip()] if datasets else None
    return SuiteSettings(datasets=names, n_jobs=jobs, fit_timeout_s=fit_timeout)


def _tasks(task: str) -> tuple[str, ...]:
    from gome.errors import GomeError
    from omega.sandbox.reference import TASKS

    if task == "both":
        return TASKS
    if task not in TASKS:
        raise GomeError(f"--task must be classification, regression or both, not {task!r}.")
    return (task,)


@omega_app.command("generate")
def generate_cmd(
    n: Annotated[int, typer.Option("--n", help="Candidates to generate.")] = 10,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="litellm model string or local[:NAME]; none: no-LLM fallback."
        ),
    ] = None,
    api_base: Annotated[
        str | None, typer.Option("--api-base", help="OpenAI-compatible server URL.")
    ] = None,
    task: Annotated[
        str, typer.Option("--task", help="classification, regression or both.")
    ] = "both",
    repairs: Annotated[int, typer.Option("--repairs", help="Repair rounds per candidate.")] = 3,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    datasets: DatasetsOption = None,
    jobs: JobsOption = None,
    fit_timeout: FitTimeoutOption = 60.0,
    registry: RegistryOption = None,
    out: OutOption = None,
) -> None:
    """Generate candidates, heal them from their own errors, evaluate, register the accepted."""
    from omega.pipeline import llm_client, new_run_dir, run_generate

    run_dir = out or new_run_dir("generate")
    run_dir.mkdir(parents=True, exist_ok=True)
    with llm_client(model, api_base, run_dir, console) as client:
        summary = run_generate(
            n,
            client,
            run_dir,
            tasks=_tasks(task),
            max_repairs=repairs,
            settings=_settings(datasets, jobs, fit_timeout),
            registry_dir=registry,
            seed=seed,
            log=lambda line: console.print(line, highlight=False),
        )
    healing = summary.healing
    table = Table(title=f"OMEGA generate ({summary.model or 'no LLM'})", show_header=False)
    table.add_row("candidates with code", f"{summary.generated} of {summary.requested}")
    table.add_row("healed", f"{healing.healed} (repairs used: {healing.repairs_histogram})")
    top = ", ".join(f"{name} x{count}" for name, count in healing.failed_checks[:5]) or "-"
    table.add_row("checks failed most", top)
    table.add_row("accepted", ", ".join(summary.accepted) or "none")
    if summary.best:
        best = summary.best
        table.add_row(
            "best",
            f"{best['name']}: mean rank {best['mean_rank']:.2f} "
            f"(median baseline {best['median_baseline_rank']:.2f})",
        )
    table.add_row("run", f"{run_dir} ({summary.seconds / 60:.1f} min)")
    console.print(table)


@omega_app.command("evaluate")
def evaluate_cmd(
    algorithms: Annotated[
        list[str] | None,
        typer.Argument(help="Registry names or module files; none: the reference models alone."),
    ] = None,
    baselines_only: Annotated[
        bool, typer.Option("--baselines-only", help="Only the reference models.")
    ] = False,
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Re-run reference models instead of using cached scores."),
    ] = False,
    datasets: DatasetsOption = None,
    jobs: JobsOption = None,
    fit_timeout: FitTimeoutOption = 60.0,
    registry: RegistryOption = None,
    out: OutOption = None,
) -> None:
    """Cross-validate algorithms and the reference models on the suite; write the report."""
    from omega.pipeline import new_run_dir, run_evaluate

    run_dir = out or new_run_dir("evaluate")
    report = run_evaluate(
        [] if baselines_only else list(algorithms or []),
        run_dir,
        settings=_settings(datasets, jobs, fit_timeout),
        registry_dir=registry,
        fresh=fresh,
        log=lambda line: console.print(line, highlight=False),
    )
    console.print(f"report: {report}")


@omega_app.command("list")
def list_cmd(registry: RegistryOption = None) -> None:
    """Registry algorithms: task, mean rank against the reference models, origin, idea."""
    from omega.registry import default_registry, entries

    table = Table(title=f"OMEGA registry ({registry or default_registry()})")
    table.add_column("name", no_wrap=True)
    for column in ("task", "rank (median baseline)", "origin", "repairs", "idea"):
        table.add_column(column)
    for e in entries(registry):
        table.add_row(
            e.name,
            e.task,
            f"{e.mean_rank:.2f} ({e.median_baseline_rank:.2f})",
            e.origin,
            str(e.repairs),
            e.idea[:60],
        )
    console.print(table)


@omega_app.command("datasets")
def datasets_cmd(datasets: DatasetsOption = None) -> None:
    """The evaluation suite's datasets (prepared and cached on first use)."""
    from omega.datasets import prepare, resolve_names

    names = [n.strip() for n in datasets.split(",")] if datasets else None
    table = Table(title="OMEGA datasets")
    for column in ("name", "task", "rows", "features", "classes", "source rows", "origin"):
        table.add_column(column)
    for d in prepare(resolve_names(names)):
        table.add_row(
            d.name,
            d.task,
            str(d.rows),
            str(d.features),
            str(d.classes or "-"),
            str(d.source_rows),
            d.spec.origin,
        )
    console.print(table)
