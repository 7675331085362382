"""`gome compare`: agents side by side on one competition, with the same budget, model and
hardware, over several seeds.

Each (agent, seed) is one ordinary `gome solve` run (`run_solve`, the same code path), run one
after another so no run competes with another for CPU or GPU. A compare folder holds:

- `compare.json`: the plan and the runs that finished, so `--resume` needs no other flag and
  skips what is done; an unfinished run resumes from its own journal (`gome solve --resume`);
- `<agent>-s<seed>/`: each run folder;
- `summary.csv` (one row per run, then one mean row per agent), `summary.md` and
  `progress.png` (best validation score so far against wall-clock time).
"""

from __future__ import annotations

import csv
import json
import os
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from gome.competitions import load_competition
from gome.direction import Direction
from gome.errors import GomeError
from gome.journal import HARNESS_OPERATORS, Journal, Trial
from gome.llm import LEDGER_FILE, read_ledger
from gome.runner import FailureLabel
from gome.runs import medal_of
from gome.solve import AGENTS, LLM_AGENTS, RUN_CONFIG_FILE, load_run
from gome.solve_cli import budget_seconds, run_solve

COMPARE_FILE = "compare.json"
SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
PROGRESS_PNG = "progress.png"
# why a trial is not valid: the runner's failure labels, or an integrity flag on a clean run
FAILURE_LABELS = tuple(str(label) for label in FailureLabel if label != FailureLabel.OK) + (
    "flagged",
)


@dataclass(frozen=True)
class ComparePlan:
    """What is compared; identical for every run but the agent and the seed."""

    competition_id: str
    agents: tuple[str, ...]
    seeds: int
    budget_s: float
    model: str | None = None
    api_base: str | None = None
    max_dollars: float | None = None
    gpu: int | None = None
    workers: int = 1
    trial_timeout_s: float | None = None
    max_steps: int | None = None
    data_dir: str | None = None
    # scaffolding flags given to GoME and AIDE alike (missing: each model's defaults)
    scaffolding: dict[str, Any] = field(default_factory=dict)

    def runs(self) -> list[tuple[str, int]]:
        """(agent, seed) in run order: seed by seed, so a comparison cut short stays balanced."""
        return [(agent, seed) for seed in range(self.seeds) for agent in self.agents]


def run_name(agent: str, seed: int) -> str:
    return f"{agent}-s{seed}"


def parse_agents(text: str) -> tuple[str, ...]:
    """`gome,aide,builtin` -> ("gome", "aide", "builtin"), checked against the known agents."""
    agents = tuple(name.strip() for name in text.split(",") if name.strip())
    if not agents:
        raise GomeError(f"--agents needs at least one of {', '.join(AGENTS)}.")
    unknown = [name for name in agents if name not in AGENTS]
    if unknown:
        known = ", ".join(AGENTS)
        raise GomeError(f"Unknown agent {unknown[0]!r} in --agents. Available: {known}.")
    if len(set(agents)) != len(agents):
        raise GomeError(f"--agents names an agent twice: {text}.")
    return agents


def new_compare_dir(competition_id: str, root: Path = Path("runs")) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return root / f"compare-{competition_id}-{stamp}"


# -- the compare folder's manifest -----------------------------------------------------------
def write_manifest(folder: Path, plan: ComparePlan, finished: Sequence[str]) -> None:
    payload = {"plan": asdict(plan), "finished": list(finished)}
    tmp = folder / (COMPARE_FILE + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    os.replace(tmp, folder / COMPARE_FILE)


def load_compare(folder: Path) -> tuple[ComparePlan, list[str]]:
    """The plan of a compare folder and the names of its finished runs."""
    path = folder / COMPARE_FILE
    if not path.is_file():
        raise GomeError(f"{folder} is not a gome compare folder (no {COMPARE_FILE}).")
    payload = json.loads(path.read_text(encoding="utf-8"))
    raw = dict(payload["plan"], agents=tuple(payload["plan"]["agents"]))
    return ComparePlan(**raw), list(payload.get("finished", []))


def start_compare(plan: ComparePlan, folder: Path) -> None:
    """Create a compare folder for `plan`; refuses one that already holds a comparison."""
    if (folder / COMPARE_FILE).exists():
        raise GomeError(f"{folder} already holds a comparison; use --resume {folder}.")
    folder.mkdir(parents=True, exist_ok=True)
    write_manifest(folder, plan, [])


def resume_plan(plan: ComparePlan, requested: dict[str, Any], folder: Path) -> ComparePlan:
    """The plan a `--resume` continues: flags given again must match the plan on disk (None:
    not given), except `--seeds` above the planned count, which adds seeds to the comparison
    (its finished runs stay comparable: nothing else may change)."""
    seeds = requested.get("seeds")
    if seeds is not None and seeds > plan.seeds:
        plan = replace(plan, seeds=seeds)
    for key, value in requested.items():
        stored = getattr(plan, key)
        if value is not None and value != stored:
            raise GomeError(
                f"{folder} was planned with {key}={stored!r}, not {value!r}; "
                "resume with the same settings or start a new comparison."
            )
    return plan


def run_compare(console: Console, plan: ComparePlan, folder: Path) -> bool:
    """Run every planned run not yet finished, one after another; False if Ctrl-C stopped one.

    A finished run is skipped; a run with a `run.json` resumes from its journal with the time
    it has left; any other starts afresh in its folder.
    """
    _, finished = load_compare(folder)
    runs = plan.runs()
    for number, (agent, seed) in enumerate(runs, start=1):
        name = run_name(agent, seed)
        run_dir = folder / name
        if name in finished:
            console.print(f"[dim]run {number}/{len(runs)} {name}: finished, skipped[/]")
            continue
        resuming = (run_dir / RUN_CONFIG_FILE).is_file()
        console.rule(f"run {number}/{len(runs)}: {name}" + (" (resumed)" if resuming else ""))
        llm = agent in LLM_AGENTS  # the built-in proposer has no model to share
        run = run_solve(
            console,
            competition_id=plan.competition_id,
            hours=None,
            minutes=None if resuming else plan.budget_s / 60,
            agent=agent,
            model=plan.model if llm else None,
            api_base=plan.api_base if llm else None,
            max_dollars=plan.max_dollars if llm else None,
            # GoME's co-worker adds built-in trials that AIDE has no counterpart for
            gome_settings=dict(plan.scaffolding) | {"coworker": False},
            aide_settings=dict(plan.scaffolding),
            gpu=plan.gpu,
            workers=plan.workers,
            seed=seed,
            trial_timeout=plan.trial_timeout_s,
            max_steps=plan.max_steps,
            run_dir=None if resuming else run_dir,
            resume=run_dir if resuming else None,
            data_dir=Path(plan.data_dir) if plan.data_dir else None,
        )
        if run.interrupted:
            return False
        finished.append(name)
        write_manifest(folder, plan, finished)
    return True


# -- reading the runs back ---------------------------------------------------------------------
@dataclass(frozen=True)
class RunRow:
    """One run's numbers, read from its run.json, journal.jsonl and grade.json."""

    agent: str
    seed: int
    run: str
    ran_as: str  # the agent that actually ran (an LLM agent falls back to builtin without model)
    model: str
    score: float | None
    medal: str
    any_medal: bool
    valid_submission: bool
    best_validation: float | None
    trials: int
    valid_trials: int
    failures: dict[str, int]
    final_reruns: int  # the harness's final-seed re-runs: journaled, but not the agent's trials
    tokens: int
    dollars: float
    llm_s: float
    elapsed_s: float

    @property
    def valid_rate(self) -> float:
        """Share of trials that ran cleanly, printed a score and left a valid submission."""
        return self.valid_trials / self.trials if self.trials else 0.0

    @property
    def llm_share(self) -> float:
        """Share of the run's wall-clock time spent waiting for the LLM."""
        return self.llm_s / self.elapsed_s if self.elapsed_s > 0 else 0.0


def failure_label(trial: Trial) -> str:
    """Why a trial that is not valid failed: its runner label, or `flagged` by the audit."""
    return "flagged" if trial.label == str(FailureLabel.OK) and trial.flags else trial.label


def read_run(run_dir: Path, agent: str, seed: int) -> RunRow:
    config, elapsed = load_run(run_dir)
    direction = load_competition(config.competition_id).direction
    journal = Journal(run_dir)
    best = journal.best(direction)
    proposed = [t for t in journal if t.operator not in HARNESS_OPERATORS]
    grade_path = run_dir / "grade.json"
    grade = json.loads(grade_path.read_text(encoding="utf-8")) if grade_path.is_file() else {}
    spent = read_ledger(run_dir / LEDGER_FILE)
    return RunRow(
        agent=agent,
        seed=seed,
        run=run_dir.name,
        ran_as=config.agent,
        model=config.model or "",
        score=grade.get("score"),
        medal=medal_of(grade),
        any_medal=bool(grade.get("any_medal")),
        valid_submission=bool(grade.get("valid_submission")),
        best_validation=None if best is None else best.validation_score,
        trials=len(proposed),
        valid_trials=sum(t.is_valid for t in proposed),
        failures=dict(Counter(failure_label(t) for t in proposed if not t.is_valid)),
        final_reruns=len(journal) - len(proposed),
        # every call's spend, also of a step the budget cut before it became a trial
        tokens=spent.tokens,
        dollars=spent.dollars,
        llm_s=sum(t.llm_s for t in journal),
        elapsed_s=elapsed,
    )


def collect_rows(plan: ComparePlan, folder: Path) -> list[RunRow]:
    """The rows of every planned run that has started (has a run.json)."""
    return [
        read_run(folder / run_name(agent, seed), agent, seed)
        for agent in plan.agents
        for seed in range(plan.seeds)
        if (folder / run_name(agent, seed) / RUN_CONFIG_FILE).is_file()
    ]


# -- the table -------------------------------------------------------------------------------
COLUMNS = (
    "agent",
    "seed",
    "run",
    "ran_as",
    "model",
    "score",
    "medal",
    "any_medal",
    "valid_submission",
    "best_validation",
    "trials",
    "valid_trials",
    "valid_rate",
    *(f"fail_{label}" for label in FAILURE_LABELS),
    "final_reruns",
    "tokens",
    "dollars",
    "llm_s",
    "elapsed_s",
    "llm_share",
)


def run_record(row: RunRow) -> dict[str, Any]:
    """One CSV row of a run."""
    record = {f.name: getattr(row, f.name) for f in fields(row) if f.name != "failures"}
    record.update(
        valid_rate=row.valid_rate,
        llm_share=row.llm_share,
        **{f"fail_{label}": row.failures.get(label, 0) for label in FAILURE_LABELS},
    )
    return record


def _mean(values: Sequence[float | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return statistics.fmean(present) if present else None


def mean_record(agent: str, rows: Sequence[RunRow]) -> dict[str, Any]:
    """One agent's mean over its seeds; `seed` is "mean", medals are counted, not averaged."""
    records = [run_record(row) for row in rows]
    averaged = {
        key: _mean([r[key] for r in records])
        for key in COLUMNS
        if key not in ("agent", "seed", "run", "ran_as", "model", "medal")
    }
    medals = Counter(row.medal for row in rows)
    return averaged | {
        "agent": agent,
        "seed": "mean",
        "run": f"{len(rows)} runs",
        "ran_as": "/".join(sorted({row.ran_as for row in rows})),
        "model": "/".join(sorted({row.model for row in rows if row.model})),
        "medal": ", ".join(
            f"{'no medal' if m == '-' else m} {n}/{len(rows)}" for m, n in sorted(medals.items())
        ),
    }


def summary_records(plan: ComparePlan, rows: Sequence[RunRow]) -> list[dict[str, Any]]:
    """Per-run records, then one mean record per agent (in the plan's agent order)."""
    means = [
        mean_record(agent, [row for row in rows if row.agent == agent])
        for agent in plan.agents
        if any(row.agent == agent for row in rows)
    ]
    return [run_record(row) for row in rows] + means


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key in ("valid_rate", "llm_share", "any_medal", "valid_submission") and not isinstance(
        value, str
    ):
        return f"{float(value):.0%}"
    if key == "dollars":
        return f"${value:.4f}"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def failures_text(record: dict[str, Any]) -> str:
    """`crash 1.5, timeout 1` from a record's fail_* columns."""
    parts = [
        f"{label} {record[f'fail_{label}']:g}"
        for label in FAILURE_LABELS
        if record[f"fail_{label}"]
    ]
    return ", ".join(parts) or "-"


MARKDOWN_COLUMNS = (
    ("agent", "agent"),
    ("seed", "seed"),
    ("score", "final score"),
    ("medal", "medal"),
    ("best_validation", "best validation"),
    ("valid_rate", "valid trials"),
    ("trials", "trials"),
    ("failures", "failures"),
    ("tokens", "tokens"),
    ("dollars", "dollars"),
    ("llm_share", "LLM time"),
)


def table_cells(record: dict[str, Any]) -> list[str]:
    """A record as the cells of `MARKDOWN_COLUMNS` (markdown file and terminal alike)."""
    return [
        failures_text(record) if key == "failures" else _cell(key, record[key])
        for key, _ in MARKDOWN_COLUMNS
    ]


def markdown_table(records: Sequence[dict[str, Any]]) -> list[str]:
    header = [title for _, title in MARKDOWN_COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(table_cells(record)) + " |" for record in records]
    return lines


def write_summary(
    plan: ComparePlan, folder: Path, records: Sequence[dict[str, Any]]
) -> tuple[Path, Path]:
    """`summary.csv` (every record) and `summary.md` (means, then runs)."""
    csv_path = folder / SUMMARY_CSV
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(records)
    comp = load_competition(plan.competition_id)
    better = "higher" if comp.higher_is_better else "lower"
    reference = ""
    if comp.reference_score is not None:
        reference = f" · reference model: {comp.reference_score:.5g}"
    steps = "" if plan.max_steps is None else f" or {plan.max_steps} steps"
    means = [r for r in records if r["seed"] == "mean"]
    runs = [r for r in records if r["seed"] != "mean"]
    lines = [
        f"# {plan.competition_id}: {', '.join(plan.agents)}",
        "",
        f"{comp.metric} ({better} is better){reference} · budget "
        f"{plan.budget_s / 60:.4g} min{steps} per run · {plan.seeds} seed(s) · "
        f"model {plan.model or 'default'} (LLM agents only)",
        "",
        "Scaffolding for GoME and AIDE alike: "
        + (", ".join(f"{k}={v}" for k, v in plan.scaffolding.items()) or "each model's defaults"),
        "",
        "## Mean over seeds",
        "",
        *markdown_table(means),
        "",
        "## Runs",
        "",
        *markdown_table(runs),
        "",
    ]
    md_path = folder / SUMMARY_MD
    md_path.write_text("\n".join(lines), encoding="utf-8")
    return csv_path, md_path


# -- progress over time ----------------------------------------------------------------------
def _timestamp(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def session_starts(run_dir: Path) -> list[datetime]:
    """When each session of a run (the first, then each `--resume`) started its search."""
    path = run_dir / "run.log"
    if not path.is_file():
        return []
    starts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stamp, _, message = line.partition(" ")
        when = _timestamp(stamp)
        if when is not None and message.startswith("search:"):
            starts.append(when)
    return starts


def progress_curve(run_dir: Path, direction: Direction) -> list[tuple[float, float]]:
    """(minutes into the run, best validation score so far) at each improvement by one of the
    agent's trials (final-seed re-runs only vouch for their parent).

    Minutes count the run's own time: the gap between a killed session and its `--resume` is
    left out (the clock picks up where the last trial before the gap finished).
    """
    journal = Journal(run_dir)
    starts = session_starts(run_dir)
    points: list[tuple[float, float]] = []
    best: float | None = None
    session, origin, offset, last = -1, None, 0.0, 0.0
    for trial in journal:
        began, ended = _timestamp(trial.started_at), _timestamp(trial.finished_at)
        if began is None or ended is None:
            continue
        while session + 1 < len(starts) and starts[session + 1] <= began:
            session += 1
            origin, offset = starts[session], last
        if origin is None:  # no run.log: the clock starts with the first trial
            origin = began
        last = offset + (ended - origin).total_seconds() / 60
        score = trial.validation_score
        if not trial.is_valid or score is None or trial.operator in HARNESS_OPERATORS:
            continue
        if best is None or direction.is_better(score, best):
            best = score
            points.append((last, best))
    return points


def write_progress_plot(
    competition_id: str, folder: Path, rows: Sequence[RunRow], budget_s: float, path: Path
) -> Path:
    """Best validation score so far against wall-clock time, a line per run (`folder/<run>`)
    of one competition (also `gome bench`'s per-competition figure)."""
    from gome.plots import Curve, progress_figure, save_png

    comp = load_competition(competition_id)
    curves = [
        Curve(
            agent=row.agent,
            seed=row.seed,
            points=progress_curve(folder / row.run, comp.direction),
            end_min=row.elapsed_s / 60,
        )
        for row in rows
    ]
    title = f"{competition_id}: best validation score so far ({comp.metric})"
    figure = progress_figure(curves, comp.direction, title, budget_s / 60)
    return save_png(figure, path)


def summarise(plan: ComparePlan, folder: Path) -> tuple[list[dict[str, Any]], list[Path]]:
    """Write the table (CSV + markdown) and the progress plot; the records and the paths."""
    rows = collect_rows(plan, folder)
    records = summary_records(plan, rows)
    csv_path, md_path = write_summary(plan, folder, records)
    plot = write_progress_plot(
        plan.competition_id, folder, rows, plan.budget_s, folder / PROGRESS_PNG
    )
    return records, [csv_path, md_path, plot]


# -- the command -----------------------------------------------------------------------------
def compare_command(
    console: Console,
    *,
    competition_id: str | None,
    agents: str | None,
    hours: float | None,
    minutes: float | None,
    seeds: int | None,
    model: str | None,
    api_base: str | None,
    max_dollars: float | None,
    gpu: int | None,
    workers: int | None,
    trial_timeout: float | None,
    max_steps: int | None,
    scaffolding: dict[str, Any],
    compare_dir: Path | None,
    resume: Path | None,
    data_dir: Path | None,
) -> bool:
    """`gome compare`: plan (or reload) the comparison, run what is left, write the summary.

    False when Ctrl-C stopped a run (the summary then covers the runs so far).
    """
    agent_list = parse_agents(agents) if agents is not None else None
    budget = budget_seconds(hours, minutes)
    if resume is not None:
        plan, finished = load_compare(resume)
        requested = {
            "competition_id": competition_id,
            "agents": agent_list,
            "seeds": seeds,
            "budget_s": budget,
            "model": model,
            "api_base": api_base,
            "max_dollars": max_dollars,
            "gpu": gpu,
            "workers": workers,
            "trial_timeout_s": trial_timeout,
            "max_steps": max_steps,
            "data_dir": str(data_dir) if data_dir else None,
            "scaffolding": scaffolding or None,
        }
        plan = resume_plan(plan, requested, resume)
        write_manifest(resume, plan, finished)
        folder = resume
    else:
        if competition_id is None:
            raise GomeError("Name a competition (gome compare <id> --agents ...) or --resume DIR.")
        if agent_list is None:
            raise GomeError("Name the agents to compare, e.g. --agents gome,aide,builtin.")
        if budget is None:
            raise GomeError("Give the budget of each run with --minutes or --hours.")
        if (seeds is not None and seeds < 1) or (workers is not None and workers < 1):
            raise GomeError("--seeds and --workers must be at least 1.")
        load_competition(competition_id)  # a wrong id fails now, not after the first run
        plan = ComparePlan(
            competition_id=competition_id,
            agents=agent_list,
            seeds=seeds or 1,
            budget_s=budget,
            model=model,
            api_base=api_base,
            max_dollars=max_dollars,
            gpu=gpu,
            workers=workers or 1,
            trial_timeout_s=trial_timeout,
            max_steps=max_steps,
            data_dir=str(data_dir) if data_dir else None,
            scaffolding=scaffolding,
        )
        folder = compare_dir or new_compare_dir(competition_id)
        start_compare(plan, folder)
    total = len(plan.runs())
    console.print(
        f"[bold]gome compare[/] {plan.competition_id} · {', '.join(plan.agents)} · "
        f"{plan.seeds} seed(s) · {total} runs of {plan.budget_s / 60:.4g} min "
        f"(up to {total * plan.budget_s / 3600:.3g} h) · folder: {folder}",
        highlight=False,
    )
    completed = run_compare(console, plan, folder)
    records, paths = summarise(plan, folder)
    table = Table(title=f"{plan.competition_id}: each run, then the mean over seeds")
    for _, title in MARKDOWN_COLUMNS:
        table.add_column(title)
    for record, after in zip(records, [*records[1:], None], strict=True):
        last_run = record["seed"] != "mean" and (after is None or after["seed"] == "mean")
        table.add_row(*table_cells(record), end_section=last_run)
    console.print(table)
    console.print("\n".join(f"wrote {path}" for path in paths), highlight=False)
    if not completed:
        console.print(f"[yellow]interrupted[/]: continue with gome compare --resume {folder}")
    return completed
