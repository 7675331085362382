"""The evaluation report: per-dataset scores (CSV), mean ranks with the Friedman test and a
critical-difference diagram (PNG) per task, wins/ties/losses of each candidate against each
reference model (CSV), all summed up in `report.md`."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from omega.evaluate import Scores
from omega.stats import Comparison, PairRecord, compare, nemenyi_groups, pair_record

METRIC = {"classification": "balanced accuracy", "regression": "R²"}


def mean_table(scores: list[Scores]) -> pd.DataFrame:
    """Datasets x estimators of mean fold scores, NaN where an estimator failed."""
    datasets = list(scores[0].folds)
    return pd.DataFrame({s.name: [s.mean(d) for d in datasets] for s in scores}, index=datasets)


def records_against_baselines(scores: list[Scores]) -> list[PairRecord]:
    folds = {s.name: {d: s.fold_array(d) for d in s.folds} for s in scores}
    return [
        pair_record(c.name, b.name, folds[c.name], folds[b.name])
        for c in scores
        if not c.is_baseline
        for b in scores
        if b.is_baseline
    ]


def cd_diagram(comparison: Comparison, path: Path, title: str) -> None:
    """Mean ranks on an axis (best at the left), the critical difference as a bar, and thick
    lines joining estimators whose mean ranks differ by less than it (Demšar's diagram)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ranks = comparison.mean_ranks
    k = len(ranks)
    fig, ax = plt.subplots(figsize=(8, 1.4 + 0.32 * k))
    ax.set_xlim(0.5, k + 0.5)
    ax.set_ylim(-(k // 2 + 2), 2.2)
    ax.axis("off")
    ax.hlines(0, 1, k, color="black")
    for r in range(1, k + 1):
        ax.vlines(r, 0, 0.15, color="black")
        ax.text(r, 0.3, str(r), ha="center", fontsize=9)
    if comparison.cd is not None:
        ax.hlines(1.5, 1, 1 + comparison.cd, color="black", linewidth=2)
        ax.text(1 + comparison.cd / 2, 1.7, f"CD = {comparison.cd:.2f}", ha="center", fontsize=9)
    half = (k + 1) // 2
    for i, (name, rank) in enumerate(ranks.items()):
        left = i < half
        depth = -(i + 1) if left else -(k - i)
        x_text = 0.6 if left else k + 0.4
        ax.plot([rank, rank, x_text], [0, depth, depth], color="tab:blue", linewidth=0.8)
        label = f"{name} ({rank:.2f})" if left else f"({rank:.2f}) {name}"
        ax.text(x_text, depth, label, ha="right" if left else "left", va="center", fontsize=9)
    if comparison.cd is not None:
        for level, group in enumerate(nemenyi_groups(ranks, comparison.cd)):
            lo, hi = ranks[group[0]], ranks[group[-1]]
            ax.hlines(-0.35 - 0.25 * level, lo - 0.03, hi + 0.03, linewidth=3, color="black")
    ax.set_title(title, fontsize=10)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


@dataclass(frozen=True)
class TaskResult:
    task: str
    comparison: Comparison
    records: list[PairRecord]
    scores: list[Scores]


def summarise(scores_by_task: dict[str, list[Scores]]) -> list[TaskResult]:
    return [
        TaskResult(task, compare(mean_table(scores)), records_against_baselines(scores), scores)
        for task, scores in scores_by_task.items()
        if scores
    ]


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or np.isnan(value) else f"{value:.{digits}f}"


def write_report(results: list[TaskResult], out_dir: Path, header: str) -> Path:
    """Write report.md, scores.csv, ranks.csv, wtl.csv and cd_<task>.png; return report.md."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"# OMEGA evaluation\n\n{header}\n"]
    score_rows, rank_rows, wtl_rows = [], [], []
    for result in results:
        comparison, task = result.comparison, result.task
        png = out_dir / f"cd_{task}.png"
        cd_diagram(comparison, png, f"{task}: mean rank over {len(comparison.means)} datasets")
        lines.append(f"## {task} ({METRIC[task]}, {len(comparison.means)} datasets)\n")
        lines.append("| estimator | mean rank | valid on | seconds |\n|---|---|---|---|")
        by_name = {s.name: s for s in result.scores}
        for name, rank in comparison.mean_ranks.items():
            s = by_name[name]
            valid = len(s.folds) - len(s.failed_datasets)
            lines.append(f"| {name} | {rank:.2f} | {valid}/{len(s.folds)} | {s.seconds:.0f} |")
            rank_rows.append({"task": task, "estimator": name, "mean_rank": round(rank, 4)})
        fr = comparison.friedman
        friedman = (
            f"Friedman chi² = {fr.statistic:.2f}, p = {fr.p_value:.3g}" if fr else "Friedman: n/a"
        )
        lines.append(
            f"\n{friedman}; Nemenyi critical difference (α = 0.05) = {_fmt(comparison.cd, 2)}. "
            f"![critical difference]({png.name})\n"
        )
        means = comparison.means
        lines.append("| dataset | " + " | ".join(means.columns) + " |")
        lines.append("|---" * (len(means.columns) + 1) + "|")
        for dataset, row in means.iterrows():
            lines.append(f"| {dataset} | " + " | ".join(_fmt(v) for v in row) + " |")
            for s in result.scores:
                folds = s.fold_array(str(dataset))
                score_rows.append(
                    {
                        "task": task,
                        "dataset": dataset,
                        "estimator": s.name,
                        "mean": s.mean(str(dataset)),
                        "std": float(np.nanstd(folds)) if not np.isnan(folds).all() else np.nan,
                        "status": s.status[str(dataset)],
                    }
                )
        if result.records:
            lines.append("\n| candidate | baseline | wins | ties | losses | Wilcoxon p |")
            lines.append("|---|---|---|---|---|---|")
            for r in result.records:
                lines.append(
                    f"| {r.a} | {r.b} | {r.wins} | {r.ties} | {r.losses} | {_fmt(r.p_value)} |"
                )
                wtl_rows.append({"task": task, **asdict(r)})
        lines.append("")
    for name, rows in (("scores", score_rows), ("ranks", rank_rows), ("wtl", wtl_rows)):
        _write_csv(out_dir / f"{name}.csv", rows)
    report = out_dir / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report


def _write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
