"""`gome runs plot`: the layered tree layout, colours that respect the metric's direction, and
the PNG drawn from a hand-made journal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
from matplotlib import colormaps
from PIL import Image

from gome.direction import Direction
from gome.errors import GomeError
from gome.journal import Journal, Trial
from gome.plots import (
    COLORMAP,
    Curve,
    goodness,
    plot_run,
    progress_figure,
    tree_figure,
    tree_layout,
)
from gome.solve import RUN_CONFIG_FILE, SolveConfig
from tests.conftest import TOY_ID

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def trial(tid: str, *parents: str, score: float | None = 0.5, label: str = "ok") -> Trial:
    return Trial(
        id=tid,
        parent_ids=parents,
        agent="aide",
        operator="draft" if not parents else "improve",
        hypothesis=f"step {tid}",
        code_path=f"trials/{tid}/solution.py",
        code_hash=tid,
        label=label,
        validation_score=score,
    )


# t1 ─┬─ t2 ── t4 ─┐
#     └─ t3 ───────┴─ t6 (a merge of t3 and t4)      t5 (a failed root)
TREE = [
    trial("t1", score=0.70),
    trial("t2", "t1", score=0.75),
    trial("t3", "t1", score=0.72),
    trial("t4", "t2", score=0.80),
    trial("t5", score=None, label="crash"),
    trial("t6", "t3", "t4", score=0.78),
]


def test_layout_puts_each_trial_below_its_deepest_parent_and_centres_parents() -> None:
    layout = tree_layout(TREE)
    assert {tid: depth for tid, (_, depth) in layout.items()} == {
        "t1": 0,
        "t2": 1,
        "t3": 1,
        "t4": 2,
        "t5": 0,
        "t6": 3,  # below t4, its deepest parent, though drawn under t3, its first
    }
    x = {tid: pos for tid, (pos, _) in layout.items()}
    # leaves take consecutive slots depth first; a parent sits over its first and last child
    assert (x["t4"], x["t6"], x["t5"]) == (0.0, 1.0, 2.0)
    assert (x["t2"], x["t3"]) == (0.0, 1.0)
    assert x["t1"] == 0.5


def test_layout_ignores_unknown_parents_and_survives_a_deep_chain() -> None:
    chain = [trial("t0000", "missing")] + [
        trial(f"t{i:04d}", f"t{i - 1:04d}") for i in range(1, 3000)
    ]
    layout = tree_layout(chain)
    assert layout["t0000"] == (0.0, 0)
    assert layout["t2999"] == (0.0, 2999)


def test_goodness_puts_the_best_score_at_one_in_either_direction() -> None:
    scores = [0.2, 0.5, 0.8]
    assert goodness(scores, Direction.HIGHER) == pytest.approx([0.0, 0.5, 1.0])
    assert goodness(scores, Direction.LOWER) == pytest.approx([1.0, 0.5, 0.0])
    assert goodness([3.0, 3.0], Direction.LOWER) == [1.0, 1.0]
    assert goodness([], Direction.HIGHER) == []


@pytest.mark.parametrize("direction", list(Direction))
def test_the_best_node_gets_the_bright_end_of_the_colormap(direction: Direction) -> None:
    best = "t4" if direction.higher_is_better else "t1"
    fig = tree_figure(TREE, direction, best, "tree")
    valid_nodes = fig.axes[0].collections[0]  # the first scatter: valid trials, journal order
    colours = [tuple(c) for c in valid_nodes.get_facecolors()]
    valid_ids = [t.id for t in TREE if t.is_valid]
    bright = tuple(colormaps[COLORMAP](1.0))
    assert colours[valid_ids.index(best)] == pytest.approx(bright)
    assert all(c != pytest.approx(bright) for i, c in enumerate(colours) if valid_ids[i] != best)


def write_run(run_dir: Path, trials: list[Trial]) -> None:
    config = SolveConfig(competition_id=TOY_ID, budget_s=60.0, agent="aide", model="m")
    run_dir.mkdir(parents=True)
    (run_dir / RUN_CONFIG_FILE).write_text(json.dumps({"config": asdict(config), "elapsed_s": 9}))
    journal = Journal(run_dir)
    for item in trials:
        journal.append(item)


def assert_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()


def test_plot_run_writes_the_tree_of_a_journal(toy_competition, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_run(run_dir, TREE)
    assert plot_run(run_dir) == run_dir / "tree.png"
    assert_png(run_dir / "tree.png")
    empty = tmp_path / "empty"
    write_run(empty, [])
    with pytest.raises(GomeError, match="no trials"):
        plot_run(empty)


def test_runs_plot_command_says_where_the_png_is(toy_competition, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_run(run_dir, TREE)
    output = tmp_path / "out" / "lineage.png"
    done = subprocess.run(
        [sys.executable, "-m", "gome", "runs", "plot", str(run_dir), "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert str(output) in done.stdout
    assert_png(output)


def test_progress_without_any_valid_trial_spans_the_run_and_says_so() -> None:
    curves = [Curve(agent="gome", seed=0, points=[], end_min=31.0)]
    figure = progress_figure(curves, Direction.HIGHER, "t", budget_min=30.0)
    [ax] = figure.axes
    assert ax.get_xlim()[0] == 0 and ax.get_xlim()[1] >= 31.0
    assert [t.get_text() for t in ax.texts] == ["no run left a valid trial"]
    scored = [Curve(agent="gome", seed=0, points=[(2.0, 0.8)], end_min=31.0)]
    assert not progress_figure(scored, Direction.HIGHER, "t", budget_min=30.0).axes[0].texts
