"""`gome bench`: plan the runs, serve a shared local model if asked, execute what is left, and
write the report."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gome.bench.executors import Executor, LocalExecutor, RunOutcome, RunTask
from gome.bench.plan import BenchPlan, RunSpec, ready_competitions, split_competitions, split_name
from gome.bench.report import AgentSummary, write_report
from gome.bench.state import FINISHED, INTERRUPTED, BenchState, open_state
from gome.compare import parse_agents
from gome.errors import GomeError
from gome.models.server import cpu_count
from gome.solve import LLM_AGENTS
from gome.solve_cli import budget_seconds

EXECUTORS = ("local", "ray")
# gome's own settings a run must see wherever it executes (a Ray node gets them with the task)
FORWARDED_ENV = ("GOME_COMPETITIONS_DIR", "GOME_DATA_DIR", "GOME_CACHE_DIR")


@dataclass(frozen=True)
class SharedModel:
    """The local model server every run of this bench talks to."""

    model: str  # local:<name>
    api_base: str
    threads: int  # CPU threads the server decodes with (taken from the runs' CPU slots)


@contextlib.contextmanager
def shared_model(plan: BenchPlan, console: Console, slots: int) -> Iterator[SharedModel | None]:
    """One local model server for the whole bench when `--model` is local (or unset with no
    provider key) and an LLM agent is planned; stopped on every way out."""
    from gome.optimizer.config import is_local_model

    if not any(agent in LLM_AGENTS for agent in plan.agents) or not is_local_model(plan.model):
        yield None
        return
    from gome.models import DEFAULT_MODEL, LOCAL, choose_settings, get_spec, resolve_model

    name = (plan.model or LOCAL).partition(":")[2] or DEFAULT_MODEL
    settings = choose_settings(get_spec(name), n_parallel=max(1, min(4, slots)))
    handle = resolve_model(f"{LOCAL}:{name}", console, settings=settings)
    with handle:
        console.print(
            f"local model {name}: one server for every run at {handle.api_base} "
            f"({settings.n_parallel} slot(s), {settings.threads} thread(s))",
            highlight=False,
        )
        assert handle.api_base is not None
        yield SharedModel(f"{LOCAL}:{name}", handle.api_base, settings.threads)


def model_args(plan: BenchPlan, shared: SharedModel | None) -> list[str]:
    """An LLM run's model flags: the shared server, or the bench's own --model/--api-base."""
    if shared is None:
        return [
            *(("--model", plan.model) if plan.model else ()),
            *(("--api-base", plan.api_base) if plan.api_base else ()),
        ]
    # local:<name> with --api-base: a local model already served there, so each run gets the
    # local model's reply cap, context window and scaffolding defaults
    return ["--model", shared.model, "--api-base", shared.api_base]


def build_task(
    plan: BenchPlan,
    spec: RunSpec,
    folder: Path,
    shared: SharedModel | None,
    *,
    cpus: float = 1.0,
    gpus: int = 0,
) -> RunTask:
    """The `gome solve` commands of one run: fresh, or `--resume` from its journal."""
    run_dir = folder / spec.name
    base = (sys.executable, "-m", "gome", "solve")
    fresh = [*base, spec.competition_id, "--agent", spec.agent, "--seed", str(spec.seed)]
    fresh += ["--minutes", repr(plan.budget_s / 60), "--run-dir", str(run_dir)]
    if plan.trial_timeout_s is not None:
        fresh += ["--trial-timeout", repr(plan.trial_timeout_s)]
    if plan.max_steps is not None:
        fresh += ["--max-steps", str(plan.max_steps)]
    if plan.data_dir is not None:
        fresh += ["--data-dir", plan.data_dir]
    env = {key: os.environ[key] for key in FORWARDED_ENV if key in os.environ}
    session: dict[str, str] = {}
    if spec.agent == "gome":
        fresh += ["--no-coworker"]  # as in gome compare: AIDE has none
    if spec.agent in LLM_AGENTS:
        fresh += model_args(plan, shared)
        if plan.max_dollars is not None:
            fresh += ["--max-dollars", repr(plan.max_dollars)]
        if shared is not None:
            session["api_base"] = shared.api_base  # a resumed run finds today's server
    return RunTask(
        name=spec.name,
        run_dir=run_dir,
        fresh=tuple(fresh),
        resume=(*base, "--resume", str(run_dir)),
        env=tuple(sorted(env.items())),
        session=tuple(session.items()),
        cpus=cpus,
        gpus=gpus,
    )


def _gpu_ids(gpus: str | None) -> list[int]:
    """`--gpus 0,1`, else every GPU nvidia-smi lists."""
    if gpus is not None:
        try:
            return [int(g) for g in gpus.split(",") if g.strip()]
        except ValueError as exc:
            raise GomeError(f"--gpus takes GPU ids like 0,1, not {gpus!r}.") from exc
    from gome.environment import environment_info

    return list(range(len(environment_info().gpus)))


def make_executor(
    kind: str,
    *,
    ray_address: str | None,
    max_retries: int,
    max_parallel: int | None,
    gpu_ids: list[int],
    reserved_cpus: int,
) -> Executor:
    if kind == "ray":
        from gome.bench.ray_executor import RayExecutor

        return RayExecutor(ray_address, max_retries=max_retries)
    cpus = max(1, cpu_count() - reserved_cpus)
    return LocalExecutor(cpus=cpus, gpu_ids=gpu_ids, max_parallel=max_parallel)


class _Display:
    """A progress bar of runs: done / running / failed, and one line per run that ends."""

    def __init__(self, console: Console, state: BenchState, total: int) -> None:
        self.state = state
        self.running = 0
        self.failed = 0
        self.progress = Progress(
            TextColumn("[bold]runs"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self.task = self.progress.add_task("runs", total=total, counts="")
        self._refresh()

    def _refresh(self) -> None:
        skipped = len(self.state.skipped)
        counts = f"running {self.running} · failed {self.failed} · skipped {skipped} comp(s)"
        self.progress.update(self.task, counts=counts)

    def started(self, name: str) -> None:
        self.running += 1
        self._refresh()

    def done(self, outcome: RunOutcome) -> None:
        self.state.record(outcome)
        self.running -= 1
        status = self.state.status(outcome.name)
        if status == FINISHED:
            self.progress.advance(self.task)
            line = f"[green]finished[/] {outcome.name} in {outcome.wall_s / 60:.1f} min"
        else:
            self.failed += status != INTERRUPTED
            line = f"[red]{status}[/] {outcome.name}: {outcome.message or 'stopped'}"
        self.progress.console.print(line, highlight=False)
        self._refresh()


def bench_command(
    console: Console,
    *,
    split: str,
    agents: str,
    seeds: int,
    hours: float | None,
    minutes: float | None,
    model: str | None,
    api_base: str | None,
    max_dollars: float | None,
    trial_timeout: float | None,
    max_steps: int | None,
    executor: str,
    ray_address: str | None,
    max_retries: int,
    max_parallel: int | None,
    cpus_per_run: float,
    gpus_per_run: int,
    gpus: str | None,
    output_dir: Path | None,
    data_dir: Path | None,
) -> bool:
    """Run (or continue) a bench and write its report; False when Ctrl-C stopped it."""
    agent_list = parse_agents(agents)
    budget = budget_seconds(hours, minutes)
    if budget is None:
        raise GomeError("Give the budget of each run with --minutes or --hours.")
    if executor not in EXECUTORS:
        raise GomeError(f"--executor must be one of {', '.join(EXECUTORS)}, not {executor!r}.")
    if seeds < 1 or cpus_per_run <= 0 or gpus_per_run < 0 or max_retries < 0:
        raise GomeError("--seeds and --cpus-per-run must be positive; GPUs and retries >= 0.")
    if max_parallel is not None and max_parallel < 1:
        raise GomeError("--max-parallel must be at least 1.")
    folder = (output_dir or Path("runs") / f"bench-{split_name(split)}").resolve()
    data = str(data_dir.expanduser().resolve()) if data_dir else None
    ready, skipped = ready_competitions(split_competitions(split), data, console)
    plan = BenchPlan(
        split=split,
        competitions=tuple(ready),
        agents=agent_list,
        seeds=seeds,
        budget_s=budget,
        model=model,
        api_base=api_base,
        max_dollars=max_dollars,
        trial_timeout_s=trial_timeout,
        max_steps=max_steps,
        data_dir=data,
    )
    state = open_state(folder, plan, skipped)
    specs = plan.runs()
    todo = [spec for spec in specs if state.status(spec.name) != FINISHED]
    console.print(
        f"[bold]gome bench[/] {split} · {len(ready)} competition(s), {len(skipped)} skipped · "
        f"{', '.join(agent_list)} · {seeds} seed(s) · {len(specs)} runs of "
        f"{budget / 60:.4g} min, {len(specs) - len(todo)} already finished · {executor} · "
        f"folder: {folder}",
        highlight=False,
    )
    for skip in skipped:
        console.print(f"[yellow]skipped[/] {skip.competition_id}: {skip.reason}", highlight=False)
    gpu_ids = _gpu_ids(gpus) if gpus_per_run and executor == "local" else []
    slots = max_parallel or max(1, int(cpu_count() // cpus_per_run))
    # on Ray each run serves its own local model on its node: this machine's 127.0.0.1 is out
    # of other nodes' reach
    local = executor == "local"
    with shared_model(plan, console, slots) if local else contextlib.nullcontext() as shared:
        tasks = [
            build_task(plan, spec, folder, shared, cpus=cpus_per_run, gpus=gpus_per_run)
            for spec in todo
        ]
        runner = make_executor(
            executor,
            ray_address=ray_address,
            max_retries=max_retries,
            max_parallel=max_parallel,
            gpu_ids=gpu_ids,
            reserved_cpus=shared.threads if shared else 0,
        )
        display = _Display(console, state, len(tasks))
        with display.progress:
            outcomes = runner.run(tasks, display.started, display.done) if tasks else []
        completed = not any(outcome.interrupted for outcome in outcomes)
    paths, summaries = write_report(state)
    _print_summary(console, state, summaries)
    console.print("\n".join(f"wrote {path}" for path in paths[:6]), highlight=False)
    if not completed:
        console.print(f"[yellow]interrupted[/]: rerun the same command to continue ({folder})")
    return completed


def _print_summary(console: Console, state: BenchState, summaries: Sequence[AgentSummary]) -> None:
    table = Table(title=f"gome bench {state.plan.split}: per agent")
    columns = ("agent", "any medal %", "gold", "silver", "bronze", "above median %", "valid %")
    for column in (*columns, "finished", "mean tokens", "mean $"):
        table.add_column(column)
    for s in summaries:
        medal = "-" if s.any_medal_pct is None else f"{s.any_medal_pct:.1f}"
        if s.any_medal_sem is not None:
            medal += f" ± {s.any_medal_sem:.1f}"
        table.add_row(
            s.agent,
            medal,
            str(s.gold),
            str(s.silver),
            str(s.bronze),
            "-" if s.above_median_pct is None else f"{s.above_median_pct:.1f}",
            "-" if s.valid_submission_pct is None else f"{s.valid_submission_pct:.1f}",
            f"{s.finished}/{s.runs}",
            "-" if s.mean_tokens is None else f"{s.mean_tokens:.0f}",
            "-" if s.mean_dollars is None else f"{s.mean_dollars:.4f}",
        )
    console.print(table)
