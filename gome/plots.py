"""PNG drawings of runs: a run's search tree (`gome runs plot`) and a comparison's best
validation score over time (`gome compare`).

Figures are built on matplotlib's object API with the Agg canvas, never through pyplot, so
drawing needs no display and leaves no global backend state behind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gome.competitions import load_competition
from gome.direction import Direction
from gome.errors import GomeError
from gome.journal import Journal, Trial
from gome.solve import RUN_CONFIG_FILE, load_run

COLORMAP = "viridis"  # its bright end is "better" whatever the metric's direction
FAILED_COLOUR = "#c8c8c8"
MAX_LABELLED_NODES = 80


# -- the search tree ----------------------------------------------------------------------------
def tree_layout(trials: Sequence[Trial]) -> dict[str, tuple[float, int]]:
    """A layered layout of a run's lineage: trial id -> (x, depth).

    A trial's depth is one below its deepest parent (roots at 0), so every edge points down,
    merges included. Horizontally the tree of first parents is drawn tidily: its leaves take
    consecutive slots in journal order, depth first, and a parent sits midway over its first
    and last child. Parents not in the journal (or not earlier in it) are ignored.
    """
    depth: dict[str, int] = {}
    children: dict[str, list[str]] = defaultdict(list)
    roots: list[str] = []
    for trial in trials:
        parents = [p for p in trial.parent_ids if p in depth]
        depth[trial.id] = 1 + max(depth[p] for p in parents) if parents else 0
        if parents:
            children[parents[0]].append(trial.id)
        else:
            roots.append(trial.id)
    x: dict[str, float] = {}
    slot = 0
    for root in roots:
        stack = [(root, False)]
        while stack:  # post-order without recursion: GoME traces can be hundreds deep
            node, kids_placed = stack.pop()
            kids = children[node]
            if kids_placed:
                x[node] = (x[kids[0]] + x[kids[-1]]) / 2
            elif not kids:
                x[node] = float(slot)
                slot += 1
            else:
                stack.append((node, True))
                stack.extend((kid, False) for kid in reversed(kids))
    return {tid: (x[tid], depth[tid]) for tid in depth}


def goodness(scores: Sequence[float], direction: Direction) -> list[float]:
    """Each score scaled to [0, 1] where 1 is the best of them in the metric's direction."""
    if not scores:
        return []
    low, high = min(scores), max(scores)
    if high == low:
        return [1.0] * len(scores)
    if direction.higher_is_better:
        return [(s - low) / (high - low) for s in scores]
    return [(high - s) / (high - low) for s in scores]


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def tree_figure(
    trials: Sequence[Trial], direction: Direction, best_id: str | None, title: str
) -> Figure:
    """Nodes coloured by validation score (bright = better), failed ones grey with a red x,
    the best ringed; edges from every parent."""
    positions = tree_layout(trials)
    slots = max((x for x, _ in positions.values()), default=0) + 1
    depth = max((d for _, d in positions.values()), default=0) + 1
    fig = _figure(min(40.0, max(7.0, 1.5 + 0.45 * slots)), min(30.0, max(4.0, 1.5 + 0.7 * depth)))
    ax = fig.add_subplot()
    for trial in trials:
        x, y = positions[trial.id]
        for parent in trial.parent_ids:
            if parent in positions:
                px, py = positions[parent]
                ax.plot([px, x], [py, y], color="#888888", linewidth=0.8, zorder=1)
    valid = [t for t in trials if t.is_valid and t.validation_score is not None]
    failed = [t for t in trials if not (t.is_valid and t.validation_score is not None)]
    cmap = colormaps[COLORMAP]
    scores = [float(t.validation_score or 0.0) for t in valid]
    if valid:
        colours = [cmap(g) for g in goodness(scores, direction)]
        ax.scatter(
            [positions[t.id][0] for t in valid],
            [positions[t.id][1] for t in valid],
            s=160,
            c=colours,
            edgecolors="black",
            linewidths=0.5,
            zorder=2,
        )
        # the bar reads "better" upwards: a lower-is-better metric runs its values downwards
        bar_cmap = cmap if direction.higher_is_better else cmap.reversed()
        mappable = ScalarMappable(Normalize(min(scores), max(scores)), bar_cmap)
        bar = fig.colorbar(mappable, ax=ax, shrink=0.8)
        bar.set_label(f"validation score ({direction.value} is better)")
        if not direction.higher_is_better:
            bar.ax.invert_yaxis()
    if failed:
        fx = [positions[t.id][0] for t in failed]
        fy = [positions[t.id][1] for t in failed]
        ax.scatter(fx, fy, s=160, c=FAILED_COLOUR, edgecolors="grey", linewidths=0.5, zorder=2)
        ax.scatter(fx, fy, s=70, marker="x", c="red", linewidths=1.5, zorder=3)
    if best_id in positions:
        bx, by = positions[best_id]
        ax.scatter([bx], [by], s=420, facecolors="none", edgecolors="crimson", linewidths=2.5)
    if len(trials) <= MAX_LABELLED_NODES:
        for trial in trials:
            x, y = positions[trial.id]
            ax.annotate(
                f"{trial.id}\n{trial.operator}",
                (x, y),
                xytext=(0, 11),
                textcoords="offset points",
                ha="center",
                fontsize=6,
            )
    fig.legend(
        handles=[
            Line2D([], [], marker="o", ls="", mfc=cmap(1.0), mec="black", label="valid (colour)"),
            Line2D([], [], marker="X", ls="", mfc="red", mec="red", label="failed or flagged"),
            Line2D([], [], marker="o", ls="", mfc="none", mec="crimson", mew=2, label="best"),
        ],
        loc="outside lower center",
        ncols=3,
        fontsize=7,
    )
    ax.set_ylim(depth - 0.4, -0.7)  # roots on top
    ax.set_xlim(-0.8, slots - 0.2)
    ax.set_xticks([])
    ax.set_ylabel("depth (steps from a root)")
    ax.set_yticks(range(depth))
    ax.set_title(title, fontsize=9)
    return fig


def save_png(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def plot_run(run_dir: Path, output: Path | None = None) -> Path:
    """Draw a run's tree (AIDE), lineage (GoME) or parent links (built-in) from its journal."""
    if not (run_dir / RUN_CONFIG_FILE).is_file():
        raise GomeError(f"{run_dir} is not a gome run folder (no {RUN_CONFIG_FILE}).")
    config, _ = load_run(run_dir)
    comp = load_competition(config.competition_id)
    journal = Journal(run_dir)
    if not len(journal):
        raise GomeError(f"{run_dir} has no trials yet: nothing to draw.")
    best = journal.best(comp.direction)
    best_text = "no valid trial"
    if best is not None:
        best_text = f"best {best.validation_score:.5g} ({best.id})"
    title = (
        f"{run_dir.name}: {comp.id} · {config.agent} · {len(journal)} trials, "
        f"{len(journal.valid)} valid · {best_text}"
    )
    best_id = None if best is None else best.id
    figure = tree_figure(journal.trials, comp.direction, best_id, title)
    return save_png(figure, output or run_dir / "tree.png")


# -- a comparison over time ---------------------------------------------------------------------
@dataclass(frozen=True)
class Curve:
    """One run's improvements: (minutes into the run, best validation score so far)."""

    agent: str
    seed: int
    points: Sequence[tuple[float, float]]
    end_min: float  # how long the run lasted, so its last best extends to its end


SEED_STYLES = ("-", "--", ":", "-.")


def progress_figure(
    curves: Sequence[Curve], direction: Direction, title: str, budget_min: float
) -> Figure:
    """Best validation score so far against wall-clock minutes: a step line per (agent, seed),
    one colour per agent, "better" upwards whatever the metric's direction."""
    fig = _figure(9, 5.5)
    ax = fig.add_subplot()
    palette = colormaps["tab10"]
    agents = list(dict.fromkeys(curve.agent for curve in curves))
    for curve in curves:
        colour = palette(agents.index(curve.agent) % 10)
        style = SEED_STYLES[curve.seed % len(SEED_STYLES)]
        label = f"{curve.agent} seed {curve.seed}"
        if not curve.points:
            ax.plot([], [], color=colour, ls=style, label=f"{label} (no valid trial)")
            continue
        xs = [x for x, _ in curve.points]
        ys = [y for _, y in curve.points]
        end = max(curve.end_min, xs[-1])
        ax.step(xs + [end], ys + [ys[-1]], where="post", color=colour, ls=style, label=label)
        ax.scatter(xs, ys, color=colour, s=14, zorder=3)
    ax.axvline(budget_min, color="grey", lw=0.8, ls=":", label="budget")
    ends = [max([curve.end_min, *(x for x, _ in curve.points)]) for curve in curves]
    ax.set_xlim(0, max([budget_min, *ends]) * 1.02)
    if not any(curve.points for curve in curves):  # say so, instead of an empty score axis
        ax.text(0.5, 0.5, "no run left a valid trial", transform=ax.transAxes, ha="center")
        ax.set_yticks([])
    if not direction.higher_is_better:
        ax.invert_yaxis()
    ax.set_xlabel("wall-clock minutes into the run")
    ax.set_ylabel(f"best validation score ({direction.value} is better, better is up)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig
