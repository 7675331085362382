"""Proposals from several workers at once: the loop keeps journaling while an agent thinks,
and GoME's co-worker runs the seed proposer's next recipe while the model writes a step."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from gome.agent import Proposal, SearchContext
from gome.competitions import load_competition
from gome.llm import LLMReply
from gome.optimizer import GomeAgent, GomeConfig
from gome.optimizer.trace import COWORKER_STEP, replay_trace
from gome.proposers import BuiltinProposer
from gome.solve import SolveConfig, SolveRun
from tests.conftest import TOY_ID
from tests.test_guard import HONEST
from tests.test_optimizer_agent import DIAGNOSIS, SCRIPT, Run, ScriptedClient, script_reply

WAIT_S = 60


class FirstCallWaits:
    """Its first proposal waits until released (an LLM step); the others come at once."""

    name = "scripted"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0
        self.lock = threading.Lock()

    def propose(self, context: SearchContext) -> Proposal:
        with self.lock:
            self.calls += 1
            first = self.calls == 1
        if first:
            assert self.release.wait(WAIT_S)
        return Proposal(code=HONEST, operator="draft", hypothesis="slow" if first else "quick")


def test_trials_are_journaled_while_another_worker_waits_on_its_proposal(
    toy_competition, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = SolveConfig(competition_id=TOY_ID, budget_s=300.0, workers=2, final_top_k=0)
    run = SolveRun(run_dir, config)
    agent = FirstCallWaits()
    run.agent = agent
    slow = threading.Thread(target=run.run_one)
    slow.start()
    while agent.calls == 0:
        slow.join(0.05)
    quick: list = []
    other = threading.Thread(target=lambda: quick.append(run.run_one()))
    other.start()
    other.join(WAIT_S)
    try:
        assert not other.is_alive(), "a waiting proposal blocked the other worker"
        assert quick[0].hypothesis == "quick" and [t.id for t in run.journal] == [quick[0].id]
    finally:
        agent.release.set()
        slow.join(WAIT_S)
    assert [t.hypothesis for t in run.journal] == ["quick", "slow"]


class BlockingClient(ScriptedClient):
    """A scripted model whose calls wait until released."""

    def __init__(self) -> None:
        super().__init__([DIAGNOSIS, script_reply(SCRIPT.replace("C = 1.0", "C = 0.5"))])
        self.release = threading.Event()
        self.entered = threading.Event()

    def complete(self, messages: list[dict], *, purpose: str = "", **kwargs: object) -> LLMReply:
        self.entered.set()
        assert self.release.wait(WAIT_S)
        return super().complete(messages, purpose=purpose, **kwargs)


@pytest.fixture
def run(toy_competition: tuple[Path, Path], tmp_path: Path) -> Run:
    return Run(tmp_path, load_competition(TOY_ID))


def test_coworker_runs_the_seed_proposers_next_recipe_while_the_model_thinks(run: Run) -> None:
    seed = BuiltinProposer()
    client = BlockingClient()
    agent = GomeAgent(client, GomeConfig(initialisation="builtin"), seed_proposer=seed)
    assert agent.extra_workers == 1
    theta0 = agent.propose(run.context())  # θ₀: the seed's draft, no model call
    assert theta0.operator == "init-builtin"
    first = run.add(theta0.code, "init-builtin", score=0.80)
    run.trials[-1] = replace(first, recipe=theta0.recipe)  # as the loop journals it
    thinking: list[Proposal] = []
    writer = threading.Thread(target=lambda: thinking.append(agent.propose(run.context())))
    writer.start()
    assert client.entered.wait(WAIT_S)
    try:
        helper = agent.propose(run.context())  # the model is busy: the co-worker's turn
    finally:
        client.release.set()
        writer.join(WAIT_S)
    assert helper.operator == COWORKER_STEP and helper.tokens == 0
    assert helper.recipe["trace"] == 0 and helper.recipe["step"] == COWORKER_STEP
    seeded = helper.recipe["seed"]["recipe"]
    assert seeded != theta0.recipe["seed"]["recipe"]  # the seed continues its own search
    assert thinking[0].operator == "improve"
    # the model's step now runs its script: still the co-worker's turn, the trace waits for it
    running = agent.propose(run.context(in_flight=[thinking[0]]))
    assert running.operator == COWORKER_STEP
    assert running.recipe["seed"]["recipe"] != seeded
    # with the co-worker off there is no extra slot
    off = GomeConfig(initialisation="builtin", coworker=False)
    assert GomeAgent(client, off, seed_proposer=seed).extra_workers == 0


def test_coworker_steps_can_become_theta_but_never_count_as_the_models_failures(
    run: Run,
) -> None:
    run.add(SCRIPT, "init-builtin", score=0.80)
    run.add(SCRIPT.replace("1.0", "2.0"), COWORKER_STEP, score=0.70)  # worse: ignored
    run.add(SCRIPT.replace("1.0", "3.0"), "improve", score=0.75)  # worse: a model failure
    run.add(SCRIPT.replace("1.0", "4.0"), COWORKER_STEP, score=0.85)  # better: θ
    state = replay_trace(0, run.trials, lambda t: 10, GomeConfig(), higher_is_better=True)
    assert state.incumbent is not None and state.incumbent.id == "t0004"
    assert [f.trial_id for f in state.failures] == ["t0003"]
    assert state.last is not None and state.last.id == "t0003"  # the model's latest step
    assert state.steps_since_improvement == 0
