"""GomeAgent's steps against scripted replies: draft, init, improve, debug, restart, merge."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from gome.agent import Proposal, SearchContext
from gome.competitions import Competition, load_competition
from gome.journal import Trial, code_hash
from gome.llm import LLMReply
from gome.optimizer import GomeAgent, GomeConfig
from tests.conftest import TOY_ID
from tests.test_omega_registry import saved_entry

SCRIPT = "import pandas as pd\n\nC = 1.0\nmodel = 'logistic'\nprint('validation_score: 0.80')\n"
BETTER = SCRIPT.replace("C = 1.0", "C = 0.3")
HYPOTHESES = [
    {
        "problem": 1,
        "hypothesis": "encode colour one-hot",
        "scores": {"alignment": 8, "impact": 8, "novelty": 6, "feasibility": 9, "risk_reward": 7},
    },
    {
        "problem": 2,
        "hypothesis": "regularise harder",
        "scores": {"alignment": 6, "impact": 5, "novelty": 4, "feasibility": 9, "risk_reward": 6},
    },
]
DIAGNOSIS = json.dumps(
    {
        "scenario_problems": [{"problem": "colour is categorical", "evidence": "3 values"}],
        "feedback_problems": [{"problem": "C too high", "evidence": "score flat"}],
        "hypotheses": HYPOTHESES,
    }
)


def script_reply(code: str, sketch: str = "Lower C for stronger regularisation.") -> str:
    return f"{sketch}\n```python\n{code}```\n"


class ScriptedClient:
    """Returns the given replies in order and records every request."""

    def __init__(self, replies: Sequence[str]) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[str, list[dict]]] = []
        self.kwargs: list[dict[str, object]] = []  # extra arguments of each call (temperature)

    def complete(self, messages: list[dict], *, purpose: str = "", **kwargs: object) -> LLMReply:
        self.calls.append((purpose, messages))
        self.kwargs.append(kwargs)
        return LLMReply(
            text=self.replies.pop(0),
            model="scripted",
            prompt_tokens=100,
            completion_tokens=50,
            cost_usd=0.001,
            duration_s=0.0,
            finish_reason="stop",
        )

    def prompt(self, index: int) -> str:
        return "\n".join(m["content"] for m in self.calls[index][1])


class SeedProposer:
    name = "builtin"

    def propose(self, context: SearchContext) -> Proposal:
        return Proposal(
            code=SCRIPT, operator="recipe", hypothesis="lgbm baseline", recipe={"model": "lgbm"}
        )


class Run:
    """A run folder whose trials are written the way the loop and runner write them."""

    def __init__(self, root: Path, competition: Competition) -> None:
        self.dir = root / "run"
        self.competition = competition
        self.trials: list[Trial] = []

    def add(
        self,
        code: str,
        step: str,
        *,
        score: float | None = None,
        label: str = "ok",
        trace: int = 0,
        segment: int = 0,
        parents: tuple[str, ...] = (),
        hypothesis: str = "",
        stderr: str = "",
        runtime: float = 30.0,
    ) -> Trial:
        tid = f"t{len(self.trials) + 1:04d}"
        folder = self.dir / "trials" / tid
        folder.mkdir(parents=True)
        (folder / "solution.py").write_text(code)
        (folder / "stdout.txt").write_text("" if score is None else f"validation_score: {score}")
        (folder / "stderr.txt").write_text(stderr)
        trial = Trial(
            id=tid,
            parent_ids=parents,
            agent="gome",
            operator=step,
            hypothesis=hypothesis or f"{step} {tid}",
            code_path=f"trials/{tid}/solution.py",
            code_hash=code_hash(code),
            recipe={"trace": trace, "segment": segment, "step": step},
            label=label,
            runtime_s=runtime,
            validation_score=score,
        )
        self.trials.append(trial)
        return trial

    def context(
        self, *, time_left: float = 3000.0, seed: int = 0, in_flight: Sequence[Proposal] = ()
    ) -> SearchContext:
        return SearchContext(
            competition=self.competition,
            public_dir=self.competition.public_dir(),
            history=list(self.trials),
            trial_timeout_s=300.0,
            time_left_s=time_left,
            environment="Python 3.12. Installed packages: pandas 3.1.",
            rng=random.Random(seed),
            in_flight=in_flight,
        )


@pytest.fixture
def run(toy_competition: tuple[Path, Path], tmp_path: Path) -> Run:
    return Run(tmp_path, load_competition(TOY_ID))


def agent_for(
    run: Run, replies: Sequence[str], **config: object
) -> tuple[GomeAgent, ScriptedClient]:
    client = ScriptedClient(replies)
    return GomeAgent(client, GomeConfig(**config), run_dir=run.dir, budget_s=3300), client


def two_drafts(run: Run) -> None:
    run.add(SCRIPT, "draft", score=0.80)
    run.add(SCRIPT.replace("0.80", "0.70"), "draft", score=0.70)


def test_first_step_is_a_draft_briefed_on_task_data_limits_and_metric(run: Run) -> None:
    agent, client = agent_for(run, [script_reply(SCRIPT, "Plan: logistic baseline.")])
    proposal = agent.propose(run.context())
    assert (proposal.operator, proposal.code, proposal.parent_ids) == ("draft", SCRIPT, ())
    assert proposal.hypothesis == "Plan: logistic baseline."
    assert proposal.recipe["step"] == "draft" and proposal.recipe["trace"] == 0
    assert proposal.recipe["gome"] == GomeConfig().as_recipe()
    assert (proposal.tokens, proposal.cost_usd) == (150, pytest.approx(0.001))
    prompt = client.prompt(0)
    for expected in (
        "Predict `label`",
        "train.csv",
        "label` balance",
        "x1: float64",
        "validation_score: <number>",
        "50 min of the whole run remain",
        "killed after 5 min",
        "pandas 3.1",
    ):
        assert expected in prompt, expected


def test_builtin_initialisation_seeds_theta_zero_without_llm(run: Run) -> None:
    client = ScriptedClient([])
    agent = GomeAgent(client, GomeConfig(initialisation="builtin"), seed_proposer=SeedProposer())
    proposal = agent.propose(run.context())
    assert (proposal.operator, proposal.code, client.calls) == ("init-builtin", SCRIPT, [])
    assert proposal.recipe["seed"] == {"agent": "builtin", "recipe": {"model": "lgbm"}}
    with pytest.raises(ValueError, match="seed_proposer"):
        GomeAgent(client, GomeConfig(initialisation="builtin"))


def test_improve_step_diagnoses_draws_and_implements(run: Run) -> None:
    two_drafts(run)
    agent, client = agent_for(run, [DIAGNOSIS, script_reply(BETTER)])
    proposal = agent.propose(run.context(seed=3))
    assert [purpose for purpose, _ in client.calls] == ["gome:diagnosis", "gome:implement"]
    assert proposal.operator == "improve" and proposal.parent_ids == ("t0001",)
    assert proposal.code == BETTER
    recipe = proposal.recipe
    assert recipe["step_size"] == "rewrite"  # early in the budget, not stalled
    assert len(recipe["diagnosis"]["hypotheses"]) == 2
    assert recipe["drawn"]["hypothesis"] == proposal.hypothesis
    assert recipe["sketch"] == "Lower C for stronger regularisation."
    assert proposal.tokens == 300
    diagnosis_prompt = client.prompt(0)
    assert "Current best script (t0001, validation score 0.8" in diagnosis_prompt
    assert "Trial t0002 (draft)" in diagnosis_prompt  # latest trial's evidence
    assert "Best script so far: t0001" in diagnosis_prompt  # momentum
    implement_prompt = client.prompt(1)
    assert proposal.hypothesis in implement_prompt and "validation_score:" in implement_prompt


def test_the_draw_follows_the_context_rng(run: Run) -> None:
    two_drafts(run)
    drawn = set()
    for seed in range(12):
        agent, _ = agent_for(run, [DIAGNOSIS, script_reply(BETTER)])
        drawn.add(agent.propose(run.context(seed=seed)).hypothesis)
    assert drawn == {"encode colour one-hot", "regularise harder"}
    agent, _ = agent_for(run, [DIAGNOSIS, script_reply(BETTER)], weighted_draw=False)
    assert agent.propose(run.context(seed=1)).hypothesis == "encode colour one-hot"


def test_crash_gets_bounded_debug_steps_with_code_and_traceback_only(run: Run) -> None:
    two_drafts(run)
    broken = SCRIPT.replace("C = 1.0", "C = undefined_name")
    traceback = "Traceback (most recent call last):\nNameError: name 'undefined_name'"
    run.add(broken, "improve", label="crash", parents=("t0001",), stderr=traceback)
    agent, client = agent_for(run, [script_reply(SCRIPT, "Define C.")])
    proposal = agent.propose(run.context())
    assert (proposal.operator, proposal.parent_ids) == ("debug", ("t0003",))
    prompt = client.prompt(0)
    assert "NameError: name 'undefined_name'" in prompt and "C = undefined_name" in prompt
    assert "Predict `label`" not in prompt  # fresh context: no task, no history
    assert "validation_score:" in prompt and "remain" in prompt
    run.add(broken, "debug", label="crash", parents=("t0003",), stderr=traceback)
    agent, _ = agent_for(run, [script_reply(SCRIPT)])
    assert agent.propose(run.context()).operator == "debug"  # second attempt
    run.add(broken, "debug", label="crash", parents=("t0004",), stderr=traceback)
    agent, _ = agent_for(run, [DIAGNOSIS, script_reply(BETTER)])
    assert agent.propose(run.context()).operator == "improve"  # attempts spent
    agent, _ = agent_for(run, [DIAGNOSIS, script_reply(BETTER)], debug=False)
    run.trials.pop()
    assert agent.propose(run.context()).operator == "improve"  # debug switched off


def test_malformed_reply_is_retried_once_with_the_problem(run: Run) -> None:
    two_drafts(run)
    agent, client = agent_for(run, ["I think we should tune it.", DIAGNOSIS, script_reply(BETTER)])
    proposal = agent.propose(run.context())
    assert proposal.operator == "improve" and len(client.calls) == 3
    retry = client.calls[1][1]
    assert retry[-2] == {"role": "assistant", "content": "I think we should tune it."}
    assert "could not be used" in retry[-1]["content"] and "JSON" in retry[-1]["content"]


def test_twice_malformed_step_is_labelled_and_never_debugged(run: Run) -> None:
    two_drafts(run)
    # both hypotheses of the diagnosis are tried (`hypothesis_attempts`), each answered twice
    replies = [DIAGNOSIS, "no code", "still no code", "no code", "still no code"]
    agent, client = agent_for(run, replies)
    proposal = agent.propose(run.context(seed=1))
    assert proposal.operator == "malformed-reply" and len(client.calls) == 5
    [abandoned] = proposal.recipe["abandoned"]
    assert abandoned["stage"] == "implement" and abandoned["hypothesis"] != proposal.hypothesis
    assert proposal.recipe["failed_stage"] == "implement"
    assert "no code block" in proposal.recipe["failure"]
    assert proposal.hypothesis == proposal.recipe["drawn"]["hypothesis"]
    assert "sys.exit(" in proposal.code and "implement reply was unusable" in proposal.code
    compile(proposal.code, "labelled.py", "exec")
    run.add(proposal.code, "malformed-reply", label="crash", parents=("t0001",))
    agent, _ = agent_for(run, [DIAGNOSIS, script_reply(BETTER)])
    assert agent.propose(run.context()).operator == "improve"


def _patch(search: str, replace: str) -> str:
    return f"Sketch: lower C.\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def test_patch_mode_applies_search_replace_to_the_parent(run: Run) -> None:
    two_drafts(run)
    agent, _ = agent_for(run, [DIAGNOSIS, _patch("C = 1.0", "C = 0.3")], edit_mode="patch")
    proposal = agent.propose(run.context())
    assert proposal.code == BETTER and proposal.recipe["sketch"] == "Sketch: lower C."


def test_patch_that_does_not_apply_is_retried_then_labelled(run: Run) -> None:
    two_drafts(run)
    bad = _patch("C = 2.0", "C = 0.3")
    replies = [DIAGNOSIS, bad, bad]
    agent, client = agent_for(run, replies, edit_mode="patch", hypothesis_attempts=1)
    proposal = agent.propose(run.context())
    assert proposal.operator == "malformed-reply"
    assert "not in the script" in proposal.recipe["failure"]
    assert "not in the script" in client.calls[2][1][-1]["content"]


def _stall(run: Run, steps: int) -> None:
    for i in range(steps):
        run.add(
            SCRIPT.replace("0.80", "0.75"),
            "improve",
            score=0.75,
            parents=("t0001",),
            hypothesis=f"dead end {i}",
        )


def test_stalled_trace_restarts_with_success_memory_but_no_failures(run: Run) -> None:
    two_drafts(run)
    _stall(run, 6)
    agent, client = agent_for(run, [script_reply(BETTER, "Plan: fresh start.")])
    proposal = agent.propose(run.context())
    assert proposal.operator == "restart" and proposal.recipe["segment"] == 1
    prompt = client.prompt(0)
    assert "Accepted steps" in prompt and "t0001" in prompt
    assert "dead end" not in prompt
    # the next step sees segment 1 with no valid script yet -> a draft, not an improve step
    run.add(BETTER, "restart", score=0.82, segment=1)
    agent, _ = agent_for(run, [script_reply(SCRIPT)])
    assert agent.propose(run.context()).recipe["segment"] == 1


def test_restart_switched_off_keeps_improving(run: Run) -> None:
    two_drafts(run)
    _stall(run, 6)
    agent, client = agent_for(run, [DIAGNOSIS, script_reply(BETTER)], restart=False)
    proposal = agent.propose(run.context())
    assert proposal.operator == "improve"
    assert proposal.recipe["step_size"] == "rewrite"
    assert "dead end 5" in client.prompt(0)  # failed directions are listed


def test_momentum_off_lists_failures_only(run: Run) -> None:
    two_drafts(run)
    _stall(run, 2)
    agent, client = agent_for(run, [DIAGNOSIS, script_reply(BETTER)], momentum=False)
    agent.propose(run.context())
    prompt = client.prompt(0)
    assert "dead end 1" in prompt
    assert "Accepted steps" not in prompt and "Best script so far" not in prompt


def test_traces_alternate_and_are_told_their_siblings(run: Run) -> None:
    two_drafts(run)
    agent, client = agent_for(run, [script_reply(SCRIPT)], traces=2)
    proposal = agent.propose(run.context())
    assert proposal.recipe["trace"] == 1 and proposal.operator == "draft"
    assert "- trace 0: draft t0002" in client.prompt(0)
    run.add(BETTER, "draft", score=0.82, trace=1, hypothesis="gradient boosting")
    run.add(BETTER, "draft", score=0.81, trace=1)
    in_flight = [
        Proposal(code="", operator="improve", hypothesis="try catboost", recipe={"trace": 1})
    ]
    fresh = script_reply(BETTER.replace("0.3", "0.2"))  # a script not run yet
    agent, client = agent_for(run, [DIAGNOSIS, fresh], traces=2)
    proposal = agent.propose(run.context(in_flight=in_flight))  # trace 0: 2 trials vs 3
    assert (proposal.recipe["trace"], proposal.operator) == (0, "improve")
    prompt = client.prompt(0)
    assert "in flight: try catboost" in prompt and "trace 1: gradient boosting" in prompt
    agent, client = agent_for(run, [DIAGNOSIS, fresh], traces=2, diversify=False)
    agent.propose(run.context(in_flight=in_flight))
    assert "catboost" not in client.prompt(0) and "Other traces" not in client.prompt(0)


def test_merge_near_the_end_combines_the_traces_best_scripts(run: Run) -> None:
    two_drafts(run)
    run.add(BETTER, "draft", score=0.85, trace=1)
    run.add(BETTER, "draft", score=0.84, trace=1)
    run.add(SCRIPT, "improve", score=0.79, parents=("t0001",))
    agent, client = agent_for(run, [script_reply(BETTER.replace("0.3", "0.5"))], traces=2)
    proposal = agent.propose(run.context(time_left=300.0))  # 91 % of the budget spent
    assert proposal.operator == "merge"
    assert proposal.parent_ids == ("t0003", "t0001")
    assert "Best scripts of the other traces" in client.prompt(0)
    run.add(proposal.code, "merge", score=0.86, parents=proposal.parent_ids)
    fresh = script_reply(SCRIPT.replace("1.0", "2.0"))
    agent, _ = agent_for(run, [DIAGNOSIS, fresh], traces=2)
    assert agent.propose(run.context(time_left=250.0)).operator != "merge"  # once only


def test_real_llm_client_with_litellm_mock_response(run: Run, tmp_path: Path) -> None:
    from gome.llm import LLMClient

    class Mocked:
        def __init__(self, replies: list[str]) -> None:
            self.client = LLMClient("openai/gpt-4o-mini", ledger_path=tmp_path / "ledger.jsonl")
            self.replies = replies

        def complete(self, messages: list[dict], *, purpose: str = "") -> LLMReply:
            return self.client.complete(
                messages, purpose=purpose, mock_response=self.replies.pop(0)
            )

    two_drafts(run)
    agent = GomeAgent(Mocked([DIAGNOSIS, script_reply(BETTER)]), run_dir=run.dir)
    proposal = agent.propose(run.context())
    assert proposal.code == BETTER and proposal.tokens > 0
    purposes = [
        json.loads(line)["purpose"] for line in (tmp_path / "ledger.jsonl").read_text().splitlines()
    ]
    assert purposes == ["gome:diagnosis", "gome:implement"]


def test_schedule_sets_step_size_late_and_off_leaves_it_to_the_model(run: Run) -> None:
    two_drafts(run)
    agent, client = agent_for(run, [DIAGNOSIS, script_reply(BETTER)])
    assert agent.propose(run.context(time_left=300.0)).recipe["step_size"] == (
        "hyperparameter-tweak"
    )
    assert "Small step" in client.prompt(0)
    agent, client = agent_for(run, [DIAGNOSIS, script_reply(BETTER)], schedule=False)
    proposal = agent.propose(run.context(time_left=300.0))
    assert "step_size" not in proposal.recipe and "Step size now" not in client.prompt(0)
    assert proposal.recipe["gome"]["schedule"] is False


def test_omega_registry_algorithms_are_offered_as_model_choices(
    run: Run, empty_omega_registry: Path
) -> None:
    saved_entry(empty_omega_registry)  # a classification algorithm; the toy task classifies
    two_drafts(run)
    agent, client = agent_for(run, [DIAGNOSIS, script_reply(BETTER)])
    agent.propose(run.context())
    diagnosis, implement = client.prompt(0), client.prompt(1)
    assert "# More models" in diagnosis and "`ShrunkCentroid` (mean rank" in diagnosis
    assert "class ShrunkCentroid" not in diagnosis  # choosing needs the idea, not the code
    assert "class ShrunkCentroid" in implement  # coding needs the code to paste

    off, client_off = agent_for(run, [DIAGNOSIS, script_reply(BETTER)], omega_models=0)
    off.propose(run.context())
    assert "More models" not in client_off.prompt(0) + client_off.prompt(1)


def test_model_choices_are_the_first_thing_an_over_budget_prompt_drops(
    run: Run, empty_omega_registry: Path
) -> None:
    saved_entry(empty_omega_registry)
    agent, client = agent_for(run, [script_reply(SCRIPT)])
    agent.propose(run.context())
    full = client.prompt(0)
    assert "class ShrunkCentroid" in full
    tokens = len(full) // 4  # a cap a little under the full prompt
    capped, client_capped = agent_for(run, [script_reply(SCRIPT)], max_prompt_tokens=tokens)
    capped.propose(run.context())
    prompt = client_capped.prompt(0)
    assert "class ShrunkCentroid" not in prompt and "x1: float64" in prompt
