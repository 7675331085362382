"""The bench report, read from the run folders alone (`bench.json` says which runs finished).

Per agent, as MLE-bench's leaderboard reports agents: any-medal % as the mean ± one standard
error of the mean over seeds (for each seed, the % of the planned competitions where the run
won a medal), gold/silver/bronze counts, above-median % and valid-submission % over all runs,
mean tokens and dollars per run, and wall-clock. Per competition: each agent's score and medal,
seed by seed. A run that did not finish with a grade counts as no medal and no valid submission.

Medals need a Kaggle leaderboard, which practice competitions lack, so two head-to-head figures
read every competition: the mean rank among the bench's agents (per competition and seed, by
graded score; no score ranks last, ties share) and, on practice competitions, the % of runs
that beat the competition's reference score.

Files: `report.md`, `report.csv` (one row per run), `report.json` (all of it, with one
MLE-bench grading report per agent and seed), `grading_reports/<agent>_s<seed>_grading_report
.json` (MLE-bench's exact shape, for its own tooling), `any_medal.png` and
`progress/<competition>.png` (best validation score against wall-clock time, a line per run).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gome.bench.executors import CONSOLE_LOG
from gome.bench.plan import RunSpec
from gome.bench.state import FINISHED, BenchState
from gome.compare import RunRow, read_run
from gome.competitions import Competition, load_competition
from gome.direction import Direction
from gome.grading import BatchReport, CompetitionReport, competition_report, write_json
from gome.runs import medal_of
from gome.solve import RUN_CONFIG_FILE

REPORT_MD = "report.md"
REPORT_CSV = "report.csv"
REPORT_JSON = "report.json"
GRADING_DIR = "grading_reports"
MEDALS = ("gold", "silver", "bronze")


@dataclass(frozen=True)
class BenchRow:
    """One planned run: what bench.json says of it, its grade, and its run folder's numbers."""

    spec: RunSpec
    status: str
    grade: CompetitionReport  # grade.json of a finished run; else an ungraded report
    run: RunRow | None  # None when the run never wrote run.json
    message: str = ""

    @property
    def medal(self) -> str:
        return medal_of(self.grade.to_dict())


def ungraded_report(
    comp: Competition, run_dir: Path, reason: str, data_dir: str | None
) -> CompetitionReport:
    """MLE-bench's report of a run without a grade: no submission, no score, no medal."""
    return competition_report(
        comp,
        None,
        submission_path=run_dir / "submission.csv",
        submission_exists=False,
        error=reason,
        data_dir=data_dir,
        created_at="",
    )


def read_grade(path: Path) -> CompetitionReport:
    """A run's grade.json as MLE-bench's report (gome's run extras left out)."""
    payload = json.loads(path.read_text(encoding="utf-8"))
    return CompetitionReport(**{f.name: payload.get(f.name) for f in dataclasses.fields(
        CompetitionReport
    )})  # fmt: skip


def collect_rows(state: BenchState) -> list[BenchRow]:
    """A row for every planned run, in plan order."""
    rows = []
    for spec in state.plan.runs():
        run_dir = state.folder / spec.name
        status = state.status(spec.name)
        message = state.runs[spec.name].message if spec.name in state.runs else ""
        grade_path = run_dir / "grade.json"
        if status == FINISHED and grade_path.is_file():
            grade = read_grade(grade_path)
        else:
            reason = f"run {status}" + (f": {message}" if message else "")
            comp = load_competition(spec.competition_id)
            grade = ungraded_report(comp, run_dir, reason, state.plan.data_dir)
        run = None
        if (run_dir / RUN_CONFIG_FILE).is_file():
            run = read_run(run_dir, spec.agent, spec.seed)
        rows.append(BenchRow(spec, status, grade, run, message))
    return rows


# -- per agent -------------------------------------------------------------------------------
def beats_reference(grade: CompetitionReport) -> bool | None:
    """Whether a practice run's graded score beats its competition's reference model; None
    where there is no reference (Kaggle competitions: their medals say it)."""
    if grade.has_leaderboard or grade.reference_score is None:
        return None
    if grade.score is None:
        return False
    return _direction(grade).is_better(grade.score, grade.reference_score)


def _direction(grade: CompetitionReport) -> Direction:
    return Direction.of(not grade.is_lower_better)


def agent_ranks(rows: Sequence[BenchRow]) -> dict[str, float]:
    """Each run's rank among the agents' runs of its competition and seed: 1 is the best graded
    score, a run without a score ranks last, tied runs share the mean of their places."""
    frame = pd.DataFrame(
        {
            "run": [row.spec.name for row in rows],
            "group": [(row.spec.competition_id, row.spec.seed) for row in rows],
            "loss": [
                None if row.grade.score is None else _direction(row.grade).as_loss(row.grade.score)
                for row in rows
            ],
        }
    )
    if frame.empty:
        return {}
    frame["rank"] = frame.groupby("group")["loss"].rank(method="average", na_option="bottom")
    return dict(zip(frame["run"], frame["rank"], strict=True))


def mean_sem(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and standard error of the mean (sample standard deviation / sqrt n), as MLE-bench
    reports "mean ± SEM" over seeds; the SEM is None for fewer than two values."""
    if not values:
        return None, None
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None
    return mean, statistics.stdev(values) / math.sqrt(len(values))


def _percent(flags: Sequence[bool]) -> float | None:
    return 100.0 * sum(flags) / len(flags) if flags else None


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


@dataclass(frozen=True)
class AgentSummary:
    """One agent's line of the leaderboard."""

    agent: str
    runs: int
    finished: int
    any_medal_pct: float | None  # mean over seeds
    any_medal_sem: float | None
    any_medal_per_seed: tuple[float, ...]
    gold: int
    silver: int
    bronze: int
    above_median_pct: float | None
    valid_submission_pct: float | None
    mean_rank: float | None  # among the bench's agents, over competitions and seeds
    beats_reference_pct: float | None  # practice runs whose score beats the reference
    mean_tokens: float | None  # per run that started
    mean_dollars: float | None
    mean_run_min: float | None  # wall-clock minutes of a run (its own clock)
    total_run_h: float  # wall-clock hours of all its runs together


def summarise_agent(
    agent: str, rows: Sequence[BenchRow], seeds: int, ranks: dict[str, float]
) -> AgentSummary:
    """One agent's line; `ranks`: every run's rank (`agent_ranks` of all the rows)."""
    mine = [row for row in rows if row.spec.agent == agent]
    versus_reference = [b for row in mine if (b := beats_reference(row.grade)) is not None]
    per_seed = tuple(
        pct
        for seed in range(seeds)
        if (pct := _percent([r.grade.any_medal for r in mine if r.spec.seed == seed])) is not None
    )
    mean, sem = mean_sem(per_seed)
    started = [row.run for row in mine if row.run is not None]
    return AgentSummary(
        agent=agent,
        runs=len(mine),
        finished=sum(row.status == FINISHED for row in mine),
        any_medal_pct=mean,
        any_medal_sem=sem,
        any_medal_per_seed=per_seed,
        gold=sum(row.grade.gold_medal for row in mine),
        silver=sum(row.grade.silver_medal for row in mine),
        bronze=sum(row.grade.bronze_medal for row in mine),
        above_median_pct=_percent([row.grade.above_median for row in mine]),
        valid_submission_pct=_percent([row.grade.valid_submission for row in mine]),
        mean_rank=_mean([ranks[row.spec.name] for row in mine]),
        beats_reference_pct=_percent(versus_reference),
        mean_tokens=_mean([run.tokens for run in started]),
        mean_dollars=_mean([run.dollars for run in started]),
        mean_run_min=_mean([run.elapsed_s / 60 for run in started]),
        total_run_h=sum(run.elapsed_s for run in started) / 3600,
    )


def agent_summaries(
    state: BenchState, rows: Sequence[BenchRow], ranks: dict[str, float]
) -> list[AgentSummary]:
    return [summarise_agent(agent, rows, state.plan.seeds, ranks) for agent in state.plan.agents]


# -- the files -------------------------------------------------------------------------------
RUN_COLUMNS = (
    "competition_id",
    "agent",
    "seed",
    "run",
    "status",
    "score",
    "medal",
    "any_medal",
    "gold_medal",
    "silver_medal",
    "bronze_medal",
    "above_median",
    "valid_submission",
    "submission_exists",
    "rank",
    "beats_reference",
    "best_validation",
    "trials",
    "valid_trials",
    "tokens",
    "dollars",
    "elapsed_s",
    "message",
)


def run_record(row: BenchRow, rank: float) -> dict[str, Any]:
    grade, run = row.grade, row.run
    return {
        "competition_id": row.spec.competition_id,
        "agent": row.spec.agent,
        "seed": row.spec.seed,
        "run": row.spec.name,
        "status": row.status,
        "score": grade.score,
        "medal": row.medal,
        **{key: getattr(grade, key) for key in RUN_COLUMNS[7:14]},
        "rank": rank,
        "beats_reference": beats_reference(grade),
        "best_validation": run.best_validation if run else None,
        "trials": run.trials if run else 0,
        "valid_trials": run.valid_trials if run else 0,
        "tokens": run.tokens if run else 0,
        "dollars": run.dollars if run else 0.0,
        "elapsed_s": run.elapsed_s if run else 0.0,
        "message": row.message,
    }


def _fmt(value: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def _pm(mean: float | None, sem: float | None) -> str:
    return "-" if mean is None else f"{mean:.1f} ± {sem:.1f}" if sem is not None else f"{mean:.1f}"


def _score_cell(rows: Sequence[BenchRow]) -> str:
    """`0.81 gold / 0.79 -`: each seed's score and medal."""
    return " / ".join(
        f"{'-' if r.grade.score is None else f'{r.grade.score:.5g}'} {r.medal}" for r in rows
    )


def markdown(state: BenchState, rows: Sequence[BenchRow], summaries: Sequence[AgentSummary]) -> str:
    plan = state.plan
    finished = sum(row.status == FINISHED for row in rows)
    ranked = sum(not load_competition(cid).is_practice for cid in plan.competitions)
    lines = [
        f"# gome bench: {plan.split}",
        "",
        f"{len(plan.competitions)} competition(s) × {', '.join(plan.agents)} × {plan.seeds} "
        f"seed(s) · {plan.budget_s / 60:.4g} min per run · model {plan.model or 'default'} "
        f"(LLM agents only) · {finished}/{len(rows)} runs finished",
        "",
        "## Agents",
        "",
        "Any medal: mean ± SEM over seeds of the % of competitions with a medal (MLE-bench's "
        "leaderboard number). A run without a grade counts as no medal, no valid submission. "
        f"Medals need a Kaggle leaderboard: {ranked} of {len(plan.competitions)} "
        "competition(s) here have one. Mean rank: among these agents, per competition and "
        "seed, by graded score (1 is best; no score ranks last). Beats reference: practice "
        "runs whose score beats the competition's reference model.",
        "",
        "| agent | any medal % | gold | silver | bronze | above median % | valid submission % "
        "| mean rank | beats reference % | runs finished | mean tokens | mean $ | min per run "
        "| run hours |",
        "|" + "---|" * 14,
    ]
    for s in summaries:
        lines.append(
            f"| {s.agent} | {_pm(s.any_medal_pct, s.any_medal_sem)} | {s.gold} | {s.silver} | "
            f"{s.bronze} | {_fmt(s.above_median_pct)} | {_fmt(s.valid_submission_pct)} | "
            f"{_fmt(s.mean_rank, '.2f')} | {_fmt(s.beats_reference_pct)} | "
            f"{s.finished}/{s.runs} | {_fmt(s.mean_tokens, '.0f')} | "
            f"{_fmt(s.mean_dollars, '.4f')} | {_fmt(s.mean_run_min, '.2f')} | "
            f"{s.total_run_h:.3f} |"
        )
    lines += [
        "",
        "## Competitions",
        "",
        "Score and medal of each seed's run (`-`: no medal).",
        "",
        "| competition | metric | " + " | ".join(plan.agents) + " |",
        "|" + "---|" * (2 + len(plan.agents)),
    ]
    for cid in plan.competitions:
        comp = load_competition(cid)
        metric = f"{comp.metric} {'↑' if comp.higher_is_better else '↓'}"
        if comp.is_practice and comp.reference_score is not None:
            metric += f" (reference {comp.reference_score:.5g}, no leaderboard)"
        cells = [
            _score_cell([r for r in rows if r.spec.competition_id == cid and r.spec.agent == a])
            for a in plan.agents
        ]
        lines.append(f"| {cid} | {metric} | " + " | ".join(cells) + " |")
    if state.skipped:
        lines += ["", "## Skipped competitions", ""]
        lines += [f"- {s.competition_id}: {s.reason}" for s in state.skipped]
    unfinished = [row for row in rows if row.status != FINISHED]
    if unfinished:
        lines += ["", "## Runs not finished", ""]
        lines += [
            f"- {row.spec.name}: {row.status}" + (f" ({row.message})" if row.message else "")
            for row in unfinished
        ]
    lines += ["", f"Each run's console output: `<run>/{CONSOLE_LOG}`.", ""]
    return "\n".join(lines)


def grading_reports(state: BenchState, rows: Sequence[BenchRow]) -> dict[str, dict[int, Any]]:
    """MLE-bench's grading report of each agent's seed: {agent: {seed: report}}."""
    return {
        agent: {
            seed: BatchReport.of(
                [r.grade for r in rows if r.spec.agent == agent and r.spec.seed == seed]
            )
            for seed in range(state.plan.seeds)
        }
        for agent in state.plan.agents
    }


def write_report(state: BenchState) -> tuple[list[Path], list[AgentSummary]]:
    """Write every report file of the bench folder; the paths written and the agents' lines."""
    from gome.bench.plots import write_any_medal_plot, write_progress_plots

    rows = collect_rows(state)
    ranks = agent_ranks(rows)
    summaries = agent_summaries(state, rows, ranks)
    folder = state.folder
    records = [run_record(row, ranks[row.spec.name]) for row in rows]
    csv_path = folder / REPORT_CSV
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=RUN_COLUMNS)
        writer.writeheader()
        writer.writerows(records)
    md_path = folder / REPORT_MD
    md_path.write_text(markdown(state, rows, summaries), encoding="utf-8")
    reports = grading_reports(state, rows)
    written = [
        write_json(report.to_dict(), folder / GRADING_DIR / f"{agent}_s{seed}_grading_report.json")
        for agent, per_seed in reports.items()
        for seed, report in per_seed.items()
    ]
    payload = {
        "plan": dataclasses.asdict(state.plan),
        "skipped": [dataclasses.asdict(s) for s in state.skipped],
        "agents": {
            s.agent: dataclasses.asdict(s)
            | {"grading_reports": {str(k): v.to_dict() for k, v in reports[s.agent].items()}}
            for s in summaries
        },
        "runs": records,
    }
    json_path = write_json(payload, folder / REPORT_JSON)
    plots = [write_any_medal_plot(state, summaries), *write_progress_plots(state, rows)]
    return [md_path, csv_path, json_path, *plots, *written], summaries
