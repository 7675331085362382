"""The bench's PNGs: any-medal % per agent (bars, SEM error bars), and per competition the
best validation score against wall-clock time of every run (`gome compare`'s figure)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib import colormaps
from matplotlib.figure import Figure

from gome.compare import write_progress_plot
from gome.plots import save_png

if TYPE_CHECKING:
    from gome.bench.report import AgentSummary, BenchRow
    from gome.bench.state import BenchState

ANY_MEDAL_PNG = "any_medal.png"
PROGRESS_DIR = "progress"


def any_medal_figure(summaries: Sequence[AgentSummary], title: str) -> Figure:
    """A bar per agent: mean any-medal % over seeds, ± one SEM; each seed's value as a dot."""
    fig = Figure(figsize=(max(4.0, 1.4 * len(summaries) + 2), 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    palette = colormaps["tab10"]
    for x, s in enumerate(summaries):
        colour = palette(x % 10)
        ax.bar(
            x,
            s.any_medal_pct or 0.0,
            yerr=s.any_medal_sem or 0.0,
            capsize=6,
            color=colour,
            alpha=0.8,
        )
        ax.scatter([x] * len(s.any_medal_per_seed), s.any_medal_per_seed, color="black", s=12)
        label = "-" if s.any_medal_pct is None else f"{s.any_medal_pct:.1f}%"
        ax.annotate(label, (x, s.any_medal_pct or 0.0), xytext=(0, 4), ha="center",
                    textcoords="offset points", fontsize=8)  # fmt: skip
    ax.set_xticks(range(len(summaries)), [s.agent for s in summaries])
    ax.set_ylim(0, 105)
    ax.set_ylabel("any medal % (mean ± SEM over seeds; dots: seeds)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return fig


def write_any_medal_plot(state: BenchState, summaries: Sequence[AgentSummary]) -> Path:
    plan = state.plan
    title = f"{plan.split}: {len(plan.competitions)} competition(s), {plan.seeds} seed(s)"
    return save_png(any_medal_figure(summaries, title), state.folder / ANY_MEDAL_PNG)


def write_progress_plots(state: BenchState, rows: Sequence[BenchRow]) -> list[Path]:
    """`progress/<competition>.png` for each competition with a run that started."""
    paths = []
    for cid in state.plan.competitions:
        runs = [r.run for r in rows if r.spec.competition_id == cid and r.run is not None]
        if runs:
            path = state.folder / PROGRESS_DIR / f"{cid}.png"
            paths.append(write_progress_plot(cid, state.folder, runs, state.plan.budget_s, path))
    return paths
