"""Multi-seed final selection: the pick from a crafted journal, and re-runs across a resume."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from gome.agent import Proposal, SearchContext
from gome.direction import Direction
from gome.final_selection import FINAL_SEEDS, choose_final, next_rerun
from gome.journal import FINAL_REFIT, FINAL_SEED, HARNESS_OPERATORS, Trial
from gome.solve import MIN_TRIAL_SECONDS, SolveConfig, SolveRun
from tests.conftest import TOY_ID, make_trial

UP = Direction.HIGHER


def first(tid: str, score: float, guard: float | None = None, runtime: float = 10.0) -> Trial:
    return make_trial(
        tid,
        validation_score=score,
        guard_score=guard,
        guard_se=None if guard is None else 0.01,
        runtime_s=runtime,
    )


def rerun(tid: str, parent: str, seed: int, score: float | None, guard: float | None = None):
    return make_trial(
        tid,
        parent_ids=(parent,),
        operator=FINAL_SEED,
        code_hash=parent,
        recipe={"seed": seed},
        label="ok" if score is not None else "crash",
        validation_score=score,
        guard_score=guard,
        guard_se=None if guard is None else 0.01,
    )


def test_pick_is_the_best_mean_over_seeds_and_failed_reruns_drop() -> None:
    journal = [
        first("t1", 0.90),  # the best single draw, unstable across seeds
        first("t2", 0.89),
        first("t3", 0.88),
        first("t4", 0.70),  # never re-run: cannot compete
        rerun("t5", "t1", 1, 0.84),
        rerun("t6", "t1", 2, 0.85),
        rerun("t7", "t2", 1, 0.885),
        rerun("t8", "t2", 2, 0.89),
        rerun("t9", "t3", 1, 0.95),
        rerun("t10", "t3", 2, None),  # crashed: t3 is dropped whatever its mean
    ]
    choice = choose_final(journal, UP)
    assert choice is not None and choice.chosen is not None
    assert choice.chosen.id == "t2"
    records = {r["trial"]: r for r in choice.to_dict()["candidates"]}
    assert records["t3"]["dropped"] and not records["t3"]["complete"]
    assert records["t2"]["mean_validation"] == (0.89 + 0.885 + 0.89) / 3
    # lower-is-better reads the same journal the other way round
    lower = choose_final([*journal[:2], *journal[4:8]], Direction.LOWER)
    assert lower is not None and lower.chosen is not None and lower.chosen.id == "t1"


def test_guard_breaks_ties_and_vetoes_a_regressing_mean() -> None:
    tie = [
        first("t1", 0.90, guard=0.80),
        first("t2", 0.90, guard=0.85),
        *(rerun(f"r{s}", "t1", s, 0.90, guard=0.80) for s in FINAL_SEEDS),
        *(rerun(f"q{s}", "t2", s, 0.90, guard=0.85) for s in FINAL_SEEDS),
    ]
    choice = choose_final(tie, UP)
    assert choice is not None and choice.chosen is not None and choice.chosen.id == "t2"
    veto = [
        first("t1", 0.90, guard=0.80),
        first("t2", 0.89, guard=0.60),  # better mean validation, far worse on the guard
        *(rerun(f"r{s}", "t1", s, 0.80, guard=0.80) for s in FINAL_SEEDS),
        *(rerun(f"q{s}", "t2", s, 0.89, guard=0.60) for s in FINAL_SEEDS),
    ]
    choice = choose_final(veto, UP)
    assert choice is not None and choice.chosen is not None and choice.chosen.id == "t1"


def test_single_best_without_reruns_stays_and_no_reruns_means_no_pick() -> None:
    assert choose_final([first("t1", 0.9)], UP) is None
    journal = [first("t1", 0.90), first("t2", 0.80), rerun("t3", "t2", 1, 0.8)]
    journal += [rerun("t4", "t2", 2, 0.8)]
    choice = choose_final(journal, UP)
    assert choice is not None and choice.chosen is not None and choice.chosen.id == "t1"


def test_next_rerun_goes_best_first_and_only_when_all_its_seeds_fit() -> None:
    journal = [first("t1", 0.80, runtime=10), first("t2", 0.90, runtime=100)]
    assert next_rerun(journal, UP, 2, time_left_s=1000) == (journal[1], 1)
    claimed = {("t2", 1)}
    assert next_rerun(journal, UP, 2, time_left_s=1000, claimed=claimed) == (journal[1], 2)
    both = {("t2", 1), ("t2", 2)}  # in flight: the next trial's re-runs go in parallel
    assert next_rerun(journal, UP, 2, time_left_s=1000, claimed=both) == (journal[0], 1)
    # t2 needs 2 x 1.5 x 100 s + 5 s: it cannot be weighed, so t1's re-runs would change nothing
    assert next_rerun(journal, UP, 2, time_left_s=250) is None
    failed = [*journal, rerun("t3", "t2", 1, None)]  # t2 dropped: t1 is the one to weigh
    assert next_rerun(failed, UP, 2, time_left_s=250) == (journal[0], 1)
    finished = [*journal, rerun("t3", "t2", 1, 0.9), rerun("t4", "t2", 2, 0.9)]
    assert next_rerun(finished, UP, 2, time_left_s=250) == (journal[0], 1)
    assert next_rerun(finished, UP, 1, time_left_s=250) is None  # top 1 only: all done


# -- through the real loop ---------------------------------------------------------------------
def seeded(base: float, step: float) -> str:
    """A valid toy solution whose validation score moves with GOME_SEED."""
    return f"""
import os
import pandas as pd
seed = int(os.environ.get("GOME_SEED", 0))
test = pd.read_csv("input/test.csv")
sample = pd.read_csv("input/sample_submission.csv")
rule = (test["x1"] + 0.5 * test["x2"].fillna(0) + (test["colour"] == "red")) > 0.3
sample["label"] = sample["id"].map(dict(zip(test["id"], rule.astype(int))))
sample.to_csv("submission.csv", index=False)
print(f"validation_score: {{{base} + {step} * seed:.4f}}")
"""


class ScriptedAgent:
    name = "scripted"

    def __init__(self, *codes: str) -> None:
        self.codes = list(codes)

    def propose(self, context: SearchContext) -> Proposal:
        assert all(t.operator not in HARNESS_OPERATORS for t in context.history)  # the harness's
        return Proposal(code=self.codes.pop(0), operator="draft", hypothesis="scripted")


def test_reruns_survive_a_kill_and_the_best_mean_is_kept(toy_competition, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = SolveConfig(competition_id=TOY_ID, budget_s=100.0, final_top_k=2, final_share=0.5)
    run = SolveRun(run_dir, config)
    run.agent = ScriptedAgent(seeded(0.80, 0.01), seeded(0.85, -0.05))
    assert [run.run_one().id, run.run_one().id] == ["t0001", "t0002"]  # type: ignore[union-attr]
    assert run.status.best_trial == "t0002"  # the best single draw

    # a session in the final phase re-runs the best trial with seed 1, then is "killed"
    killed = SolveRun(run_dir, config, elapsed_before_s=55.0)
    killed.agent = ScriptedAgent()  # proposing now would fail the test
    done = killed.run_one()
    assert done is not None and (done.operator, done.parent_ids) == (FINAL_SEED, ("t0002",))
    assert done.recipe == {"seed": 1} and done.validation_score == 0.80

    resumed = SolveRun(run_dir, config, elapsed_before_s=56.0)
    resumed.agent = ScriptedAgent()
    resumed.search()
    reruns = [t for t in resumed.journal if t.operator == FINAL_SEED]
    keys = [(t.parent_ids[0], t.recipe["seed"]) for t in reruns]
    assert sorted(keys) == [("t0001", 1), ("t0001", 2), ("t0002", 1), ("t0002", 2)]
    # no new proposals, no re-run done twice; then the final refit of the pick
    assert [t.operator for t in resumed.journal][-1] == FINAL_REFIT
    assert len(resumed.journal) == 7
    scores = {key: t.validation_score for key, t in zip(keys, reruns, strict=True)}
    assert scores[("t0002", 2)] == 0.75 and scores[("t0001", 2)] == 0.82  # GOME_SEED reached
    assert all(t.guard_score is not None for t in reruns)
    # t0001: mean 0.81 beats t0002's 0.80, so it is the final submission
    selection = json.loads((run_dir / "final_selection.json").read_text())
    assert selection["chosen"] == "t0001"
    assert json.loads((run_dir / "best.json").read_text())["id"] == "t0001"
    refit = resumed.journal.trials[-1]
    assert refit.parent_ids == ("t0001",)
    kept = (run_dir / "submission.csv").read_bytes()
    assert kept == (run_dir / "trials" / refit.id / "submission.csv").read_bytes()

    # resuming once more changes nothing: the journal is the state
    again = SolveRun(run_dir, config, elapsed_before_s=70.0)
    again.agent = ScriptedAgent()
    again.search()
    assert len(again.journal) == 7
    assert json.loads((run_dir / "best.json").read_text())["id"] == "t0001"


def test_guard_and_final_pick_default_on_for_llm_agents_only() -> None:
    from gome.solve import with_selection_defaults

    for agent in ("gome", "aide"):
        on = with_selection_defaults(agent, guard_fraction=None, final_top_k=None)
        assert on["guard_fraction"] > 0 and on["final_top_k"] > 0
    off = with_selection_defaults("builtin", guard_fraction=None, final_top_k=None)
    assert off["guard_fraction"] == 0 and off["final_top_k"] == 0
    given = with_selection_defaults("builtin", guard_fraction=0.2, final_top_k=None)
    assert given["guard_fraction"] == 0.2 and given["final_top_k"] == 0


def test_a_step_that_would_not_end_before_the_reserve_is_not_begun(toy_competition, tmp_path):
    """Once the search has less time left than a step takes (the median model time of the
    agent's steps plus the median runtime of its valid trials), the run goes on to the final
    re-runs instead of beginning a step whose script could only time out."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = SolveConfig(competition_id=TOY_ID, budget_s=1000.0, final_top_k=1, final_share=0.2)
    run = SolveRun(run_dir, config)
    run.agent = ScriptedAgent(seeded(0.80, 0.01))
    first = run.run_one()
    assert first is not None and first.label == "ok"
    search_left = MIN_TRIAL_SECONDS + 45
    reserves = run._final_reserve_s() + run._refit_reserve_s()
    run.status.elapsed_before_s = run.status.time_left_s - reserves - search_left
    assert not run._search_over()  # a step of seconds still fits
    # as if that step's model calls had taken two minutes
    run.journal.trials[0] = replace(first, llm_s=120.0)
    assert run._expected_step_s() == 120.0 + first.runtime_s
    done = run.run_one()  # the scripted agent has nothing left: proposing would fail the test
    assert done is not None and (done.operator, done.parent_ids) == (FINAL_SEED, (first.id,))
    assert "search over: a step takes about" in (run_dir / "run.log").read_text()
