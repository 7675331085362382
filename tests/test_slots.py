"""Slot edits: splicing a reply's function by name, the slot checked alone on a data sample,
the template's slots reaching the models, and GoME's slot-mode improve step end to end."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gome.competitions import load_competition
from gome.llm import MalformedReplyError
from gome.optimizer import GomeAgent, GomeConfig
from gome.optimizer.slots import (
    HANDLED_ALREADY,
    ONLY_THESE_MODELS,
    SLOTS,
    SlotCheck,
    available_slots,
    check_slot_in_isolation,
    choose_slot,
    function_source,
    splice_slot,
    without_failing_statement,
)
from gome.proposers.builtin import BuiltinProposer
from gome.proposers.recipes import BLOCKS, FAMILIES
from gome.proposers.templates import solution as template
from tests.conftest import TOY_ID
from tests.test_optimizer_agent import (
    BETTER,
    Run,
    ScriptedClient,
    agent_for,
    script_reply,
    two_drafts,
)
from tests.test_optimizer_agent import DIAGNOSIS as PLAIN_DIAGNOSIS

PARENT = '''import pandas as pd


def add_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Extra features."""
    return frame


def main() -> None:
    print("validation_score: 0.5")
'''
DIAGNOSIS = json.dumps(
    {
        "scenario_problems": [{"problem": "x1 and x2 interact", "evidence": "both matter"}],
        "feedback_problems": [],
        "hypotheses": [
            {
                "problem": 1,
                "hypothesis": "add the product of x1 and x2 as a new feature column",
                "scores": {c: 8 for c in ("alignment", "impact", "novelty", "feasibility")}
                | {"risk_reward": 8},
            }
        ],
    }
)


def slot_reply(body: str, sketch: str = "Add x1 * x2.") -> str:
    return script_reply(f"def add_features(frame):\n{body}\n", sketch)


# slot bodies the scripted model replies with
READS_TARGET = "    frame['y2'] = frame['label'] * 2\n    return frame"
PRODUCT = "    frame['x1x2'] = frame['x1'] * frame['x2']\n    return frame"
DIFFERENCE = "    frame['x1m2'] = frame['x1'] - frame['x2']\n    return frame"


def slot_agent(run: Run, replies: list[str], **config: object) -> tuple[GomeAgent, ScriptedClient]:
    """GoME in slot mode from the built-in θ₀, answered by `replies` in order."""
    client = ScriptedClient(replies)
    settings = GomeConfig(initialisation="builtin", edit_mode="slot", **config)
    agent = GomeAgent(
        client, settings, run_dir=run.dir, seed_proposer=BuiltinProposer(), budget_s=3300
    )
    return agent, client


@pytest.fixture
def run(toy_competition: tuple[Path, Path], tmp_path: Path) -> Run:
    return Run(tmp_path, load_competition(TOY_ID))


@pytest.fixture
def builtin_code(run: Run) -> str:
    return BuiltinProposer().propose(run.context()).code


def test_splice_replaces_the_function_by_name_and_keeps_the_rest() -> None:
    reply = (
        "import numpy as np\n\ndef add_features(frame):\n    frame['r'] = np.log1p(frame['x1'])\n"
        "    return frame\n\nadd_features(pd.DataFrame())  # an example call\n"
    )
    spliced = splice_slot(PARENT, "add_features", reply)
    assert "frame['r'] = np.log1p" in spliced and '"""Extra features."""' not in spliced
    assert "import numpy as np\ndef add_features(frame):" in spliced  # its import kept
    assert "an example call" not in spliced
    head, tail = PARENT.split("def add_features")[0], PARENT.split("return frame\n")[1]
    assert spliced.startswith(head) and spliced.endswith(tail)
    assert function_source(spliced, "main") == function_source(PARENT, "main")


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        ("def features(frame):\n    return frame\n", "found: features"),
        (
            "def helper(x):\n    return x\n\ndef add_features(frame):\n    return frame\n",
            "exactly one function",
        ),
        ("x = 1\n", "found: none"),
    ],
)
def test_splice_rejects_a_reply_without_exactly_that_function(reply: str, match: str) -> None:
    with pytest.raises(MalformedReplyError, match=match):
        splice_slot(PARENT, "add_features", reply)


def test_splice_lets_a_syntax_error_through_for_repair() -> None:
    with pytest.raises(SyntaxError):
        splice_slot(PARENT, "add_features", "def add_features(frame):\n    return (\n")


def test_slot_choice_follows_the_hypothesis() -> None:
    slots = ["add_features", "model_params"]
    assert choose_slot("lower the learning rate and add leaves", slots) == "model_params"
    assert choose_slot("change model_params for xgboost", slots) == "model_params"
    assert choose_slot("ratio of spend to age", slots) == "add_features"
    assert choose_slot("something vague", slots) == "add_features"
    assert available_slots(PARENT) == ["add_features"]


def test_template_slots_are_identities_and_new_columns_reach_the_features(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "c": ["x", "y", "x"]})
    assert template.add_features(frame) is frame
    assert template.model_params("lightgbm", {"num_leaves": 7}) == {"num_leaves": 7}
    profile = template.profile_columns(frame, "id")
    base = template.build_features(frame, profile, ["base"])
    assert list(base.columns) == ["a", "c"]

    def add(frame: pd.DataFrame) -> pd.DataFrame:
        frame["double"] = frame["a"] * 2
        frame["flag"] = frame["a"] > 1
        frame["a"] = 0.0  # changes to raw columns are ignored
        return frame

    monkeypatch.setattr(template, "add_features", add)
    features = template.build_features(frame, profile, ["base"])
    assert features["double"].tolist() == [2.0, 4.0, 6.0]
    assert features["flag"].tolist() == [0.0, 1.0, 1.0] and features["a"].tolist() == [1, 2, 3]


def test_new_columns_of_any_dtype_reach_the_models_as_numbers_or_small_categories() -> None:
    few = pd.Series(["a", "b", None, "a"])
    assert isinstance(template.as_model_column(few).dtype, pd.CategoricalDtype)
    mixed = pd.Series([True, None, 2.5, "4"], dtype=object)  # e.g. Age * a True/False column
    assert template.as_model_column(mixed).tolist()[::2] == [1.0, 2.5]
    ratio = pd.Series([1.0, np.inf, -np.inf, 2.0])  # a ratio with a zero denominator
    assert template.as_model_column(ratio).isna().tolist() == [False, True, True, False]
    flags = pd.Series([True, pd.NA, False], dtype="boolean")
    assert template.as_model_column(flags).tolist()[::2] == [1.0, 0.0]
    many = pd.Series([f"name {i % 60}" for i in range(120)] + ["name 0"])
    counts = template.as_model_column(many)  # too many for a category: rows sharing the value
    assert counts.dtype == float and counts.iloc[0] == 3.0 and counts.iloc[1] == 2.0
    assert template.as_model_column(pd.Series([None, None], dtype=object)) is None


def _isolated(code: str, body: str, run: Run) -> SlotCheck:
    spliced = splice_slot(code, "add_features", f"def add_features(frame):\n{body}\n")
    found = check_slot_in_isolation(
        spliced, "add_features", code, run.context().public_dir, ["label"]
    )
    if found.line is not None:  # the line of the spliced script the failure points at
        assert "frame[" in spliced.splitlines()[found.line - 1]
    return found


def test_isolation_check_passes_a_good_slot_and_names_each_broken_contract(
    run: Run, builtin_code: str
) -> None:
    good = "    frame['x1x2'] = frame['x1'] * frame['x2']\n    return frame"
    assert _isolated(builtin_code, good, run).problem is None
    drops = _isolated(builtin_code, "    return frame.dropna()", run)
    assert "must keep every row" in drops.problem
    target = _isolated(builtin_code, "    frame['y'] = frame['label'] * 2\n    return frame", run)
    assert "read the target column 'label'" in target.problem and target.line is not None
    # a string column is converted by the script, not refused
    text = _isolated(builtin_code, "    frame['c2'] = frame['colour'] + '!'\n    return frame", run)
    assert text.problem is None
    empty = _isolated(builtin_code, "    frame['n'] = float('nan')\n    return frame", run)
    assert "all NaN" in empty.problem
    # mapping values as something they are not: the message shows what they are
    mapped = "    frame['c'] = frame['colour'].map({1: 'r'}).astype(float)\n    return frame"
    problem = _isolated(builtin_code, mapped, run).problem
    assert "all NaN (the input values it reads look like colour: '" in problem
    assert "(str)" in problem
    series = _isolated(builtin_code, "    return frame['x1']", run)
    assert "must return a DataFrame" in series.problem


def test_gome_slot_step_checks_the_slot_alone_and_repairs_it_before_any_trial(
    run: Run, builtin_code: str
) -> None:
    run.add(builtin_code, "init-builtin", score=0.8)
    agent, client = slot_agent(run, [DIAGNOSIS, slot_reply(READS_TARGET), slot_reply(PRODUCT)])
    proposal = agent.propose(run.context())
    assert [p for p, _ in client.calls] == ["gome:diagnosis", "gome:implement", "gome:repair"]
    implement = client.prompt(1)
    assert "def add_features(frame: pd.DataFrame)" in implement  # the slot's current code
    assert "def build_features" not in implement  # and nothing else of the script
    assert "x1: float64" in implement and "add the product of x1 and x2" in implement
    # imputation and encoding, the 1.5B model's most frequent ideas, are ruled out up front
    assert HANDLED_ALREADY in implement and HANDLED_ALREADY in client.prompt(0)
    # and a model change can only pick a family the script has (not "a Transformers model")
    assert ONLY_THESE_MODELS in client.prompt(0) and "lightgbm, xgboost, hgb" in ONLY_THESE_MODELS
    repair = client.prompt(2)
    assert "read the target column 'label'" in repair and "frame['y2']" in repair
    assert "def build_features" not in repair
    # the repair shows no data preview, so it names the function's input columns (no target)
    assert "Its input's columns: id, x1, x2, colour\n" in repair
    assert proposal.operator == "improve" and "frame['x1x2']" in proposal.code
    assert function_source(proposal.code, "build_features") == function_source(
        builtin_code, "build_features"
    )
    notes = proposal.recipe
    assert (notes["edit_mode"], notes["slot"]) == ("slot", "add_features")
    rounds = notes["static_checks"]
    assert len(rounds) == 2 and rounds[-1] == {"problems": []}
    assert "target column" in rounds[0]["problems"][0] and rounds[0]["resampled"] is False
    assert notes["gome"]["edit_mode"] == "slot"


# hypotheses the 1.5B local model wrote (benchmarks/results/reply_replay/corpus.jsonl) that no
# feature or parameter slot could test
RECIPE_HYPOTHESES = (
    "Use a different model family, such as XGBoost, which is less prone to overfitting",
    "Increase the number of folds to 10 for better validation",
    "Use multiple seeds for the group CV to reduce the risk of overfitting.",
)


@pytest.mark.parametrize("hypothesis", RECIPE_HYPOTHESES)
def test_model_family_folds_and_seeds_go_to_the_recipe_slot(hypothesis: str) -> None:
    assert choose_slot(hypothesis, list(SLOTS)) == "choose_recipe"


def test_recipe_slot_contract_names_the_families_and_blocks_the_script_has() -> None:
    contract = SLOTS["choose_recipe"].contract
    for name in (*FAMILIES, *template.BLOCKS):
        assert repr(name) in contract
    assert set(BLOCKS) == set(template.BLOCKS)


def _recipe_checked(code: str, body: str, run: Run) -> SlotCheck:
    spliced = splice_slot(code, "choose_recipe", f"def choose_recipe(recipe):\n{body}\n")
    return check_slot_in_isolation(
        spliced, "choose_recipe", code, run.context().public_dir, ["label"]
    )


def test_isolation_check_runs_the_recipe_a_slot_returns_against_its_contract(
    run: Run, builtin_code: str
) -> None:
    assert "choose_recipe" in available_slots(builtin_code)
    more_seeds = "    recipe['seeds'] = [0, 1]\n    return recipe"
    assert _recipe_checked(builtin_code, more_seeds, run).problem is None
    add = "    recipe['members'].append(dict(recipe['members'][0], family='xgboost'))\n"
    assert _recipe_checked(builtin_code, add + "    return recipe", run).problem is None
    family = "    recipe['members'][0]['family'] = 'catboost'\n    return recipe"
    assert "family 'catboost' is not one of" in _recipe_checked(builtin_code, family, run).problem
    folds = "    recipe['folds'] = 50\n    del recipe['group_cv']\n    return recipe"
    found = _recipe_checked(builtin_code, folds, run).problem
    assert "folds must be an int in 2-10" in found and "lost its key 'group_cv'" in found
    same = _recipe_checked(builtin_code, "    return dict(recipe)", run).problem
    assert "unchanged" in same
    raises = _recipe_checked(builtin_code, "    return recipe['model']", run)
    assert "KeyError" in raises.problem and raises.line is not None
    lost = _recipe_checked(builtin_code, "    del recipe['members']\n    return recipe", run)
    assert lost.problem.count("members") == 1  # the lost key, said once


def test_parameters_no_model_library_takes_are_caught_before_a_run(
    run: Run, builtin_code: str
) -> None:
    """Seen with the 1.5B model: a choose_recipe edit put {'transformer': {...}} into a
    member's params, and LightGBM raised on the dict in the trial."""
    nested = "    recipe['members'][0]['params']['transformer'] = {'layers': 2}\n    return recipe"
    found = _recipe_checked(builtin_code, nested, run).problem
    assert "member 0: params 'transformer' is of type dict" in found
    # a list is a value LightGBM takes; this one fails the fit (two constraints for more
    # features), which a fit on the sample finds before the trial. LightGBM has raised on it
    # (CI) and aborted the process (a dev machine, same version), so either is a catch; both
    # name the fit and the slot
    listed = (
        "    recipe['members'][0]['params']['monotone_constraints'] = [1, 0]\n    return recipe"
    )
    found = _recipe_checked(builtin_code, listed, run).problem
    assert "is of type" not in found
    assert re.match(
        r"fitting lightgbm with the parameters from choose_recipe (crashed the process|raised)",
        found,
    ), found
    body = "    return dict(params, cv=object())"
    code = splice_slot(builtin_code, "model_params", f"def model_params(family, params):\n{body}\n")
    problem = check_slot_in_isolation(
        code, "model_params", builtin_code, run.context().public_dir, ["label"]
    )
    assert "'cv' is of type object" in problem.problem and "must be a number" in problem.problem


def _params_checked(code: str, body: str, run: Run) -> SlotCheck:
    spliced = splice_slot(code, "model_params", f"def model_params(family, params):\n{body}\n")
    return check_slot_in_isolation(
        spliced, "model_params", code, run.context().public_dir, ["label"]
    )


def test_a_parameter_edit_must_change_what_a_model_predicts(run: Run, builtin_code: str) -> None:
    """Seen with the 1.5B model: model_params set n_estimators (which the script sets itself),
    'family' and 'thread' (no LightGBM parameters), and a choose_recipe edit put 'transformer'
    into a member's params; both ran valid and changed nothing."""
    ignored = "    return {**params, 'n_estimators': 100, 'family': 'hgb', 'thread': 2}"
    found = _params_checked(builtin_code, ignored, run).problem
    assert "model_params changes nothing the models use" in found
    assert "predict exactly the same" in found and "(family, n_estimators, thread)" in found
    other = "    return {**params, 'max_depth': 3} if family == 'xgboost' else params"
    found = _params_checked(builtin_code, other, run).problem
    assert "same parameters as before for the recipe's models (lightgbm)" in found
    assert (
        _params_checked(builtin_code, "    return {**params, 'num_leaves': 3}", run).problem is None
    )
    broken = _params_checked(builtin_code, "    return {**params, 'num_leaves': -3}", run).problem
    assert broken.startswith("fitting lightgbm with the parameters from model_params raised")
    unused = "    recipe['members'][0]['params']['transformer'] = 'bert'\n    return recipe"
    found = _recipe_checked(builtin_code, unused, run).problem
    assert "choose_recipe changes nothing the models use" in found and "(transformer)" in found
    deeper = "    recipe['members'][0]['params']['num_leaves'] = 3\n    return recipe"
    assert _recipe_checked(builtin_code, deeper, run).problem is None


def _run_script(code: str, run: Run, folder: Path) -> str:
    """Run a script on the toy data in `folder`; its output (it must succeed)."""
    (folder / "input").symlink_to(run.context().public_dir)
    (folder / "solution.py").write_text(code)
    proc = subprocess.run(
        [sys.executable, "solution.py"], cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "validation_score: " in proc.stdout
    return proc.stdout


def test_the_recipe_a_slot_chooses_is_the_one_the_script_runs(
    run: Run, builtin_code: str, tmp_path: Path
) -> None:
    body = "    recipe['seeds'] = [0, 1]\n    recipe['folds'] = 3\n    return recipe"
    code = splice_slot(builtin_code, "choose_recipe", f"def choose_recipe(recipe):\n{body}\n")
    stdout = _run_script(code, run, tmp_path)
    assert re.search(r"seed 0: ", stdout) and re.search(r"seed 1: ", stdout)


@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "hgb"])
def test_model_params_that_repeat_the_scripts_own_settings_cannot_break_the_fit(
    run: Run, builtin_code: str, tmp_path: Path, family: str
) -> None:
    """Seen with the 1.5B model: its model_params set n_estimators, which the script also
    passes, and the fit failed on a repeated keyword argument. The member keeps the toy
    recipe's LightGBM parameters, which HistGradientBoosting would reject."""
    recipe = f"    recipe['members'][0]['family'] = {family!r}\n    return recipe"
    code = splice_slot(builtin_code, "choose_recipe", f"def choose_recipe(recipe):\n{recipe}\n")
    owned = {"lightgbm": "n_estimators", "xgboost": "tree_method", "hgb": "max_iter"}[family]
    value = "'approx'" if family == "xgboost" else "50"
    params = f"    return {{**params, {owned!r}: {value}, 'random_state': 7}}"
    code = splice_slot(code, "model_params", f"def model_params(family, params):\n{params}\n")
    assert f"{family} seed 0: " in _run_script(code, run, tmp_path)


def test_a_failing_statement_is_cut_but_never_the_docstring_the_return_or_the_last_one() -> None:
    code = (
        "def add_features(frame):\n"
        '    """Doc."""\n'
        "    frame['a'] = 1\n"
        "    for c in ['x', 'y']:\n"
        "        frame[c + '_n'] = frame[c].str.len()\n"
        "    return frame\n"
    )
    cut = without_failing_statement(code, "add_features", 5)  # inside the loop: the loop goes
    assert cut is not None
    pruned, statement = cut
    assert statement == "for c in ['x', 'y']:" and "str.len" not in pruned
    assert "frame['a'] = 1" in pruned and function_source(pruned, "add_features")
    for line in (1, 2, 6):  # the def line, the docstring, the return
        assert without_failing_statement(code, "add_features", line) is None
    alone = "def add_features(frame):\n    frame['a'] = frame['zz']\n"
    assert without_failing_statement(alone, "add_features", 2) is None  # nothing would be left
    assert without_failing_statement(code, "model_params", 3) is None  # no such slot


def test_isolation_check_fails_a_slot_that_adds_no_column_and_explains_a_dropped_one(
    run: Run, builtin_code: str
) -> None:
    noop = _isolated(builtin_code, "    x = frame['x1'] * 2\n    return frame", run)
    assert "adds no new column" in noop.problem
    changed = _isolated(builtin_code, "    frame['x1'] = frame['x1'] * 2\n    return frame", run)
    assert "changed the existing columns ['x1'] and added none" in changed.problem
    assert "frame['x1_filled'] = " in changed.problem
    dropped = "    frame = frame.drop(columns=['x1'])\n    frame['r'] = frame['x1']\n"
    found = _isolated(builtin_code, dropped + "    return frame", run)
    assert "KeyError 'x1'" in found.problem and "removed or renamed it" in found.problem


HALF_BROKEN = (
    "    frame['x1x2'] = frame['x1'] * frame['x2']\n"
    "    frame['c_len'] = frame['colour'].apply(lambda v: v.size)\n"  # AttributeError on str
    "    return frame"
)


@pytest.mark.parametrize("prune", [True, False])
def test_gome_slot_step_drops_a_failing_statement_instead_of_asking_for_a_repair(
    run: Run, builtin_code: str, prune: bool
) -> None:
    run.add(builtin_code, "init-builtin", score=0.8)
    replies = [DIAGNOSIS, slot_reply(HALF_BROKEN), slot_reply(PRODUCT)]
    agent, client = slot_agent(run, replies, prune=prune)
    proposal = agent.propose(run.context())
    assert "frame['x1x2']" in proposal.code and "c_len" not in proposal.code
    first_round = proposal.recipe["static_checks"][0]
    assert "AttributeError" in first_round["problems"][0]
    calls = [p for p, _ in client.calls]
    if prune:
        assert calls == ["gome:diagnosis", "gome:implement"]  # no repair call
        assert first_round["pruned"] == [
            {
                "statement": "frame['c_len'] = frame['colour'].apply(lambda v: v.size)",
                "problem": first_round["problems"][0],
            }
        ]
    else:
        assert calls == ["gome:diagnosis", "gome:implement", "gome:repair"]
        assert "pruned" not in first_round


def test_slot_mode_on_a_parent_without_slots_writes_whole_scripts(run: Run) -> None:
    two_drafts(run)
    agent, client = agent_for(run, [PLAIN_DIAGNOSIS, script_reply(BETTER)], edit_mode="slot")
    proposal = agent.propose(run.context())
    assert proposal.code == BETTER and proposal.recipe["edit_mode"] == "full"
    assert "complete new script" in client.prompt(1)


def _two_hypotheses() -> str:
    diagnosis = json.loads(DIAGNOSIS)
    diagnosis["scenario_problems"].append({"problem": "x1 - x2 matters", "evidence": "a gap"})
    second = {**diagnosis["hypotheses"][0], "problem": 2, "hypothesis": "add x1 minus x2"}
    diagnosis["hypotheses"].append(second)
    return json.dumps(diagnosis)


def test_an_improve_step_whose_code_fails_every_repair_tries_its_next_hypothesis(
    run: Run, builtin_code: str
) -> None:
    run.add(builtin_code, "init-builtin", score=0.8)
    replies = [_two_hypotheses(), slot_reply(READS_TARGET), slot_reply(DIFFERENCE)]
    agent, _ = slot_agent(run, replies, static_repairs=0)
    proposal = agent.propose(run.context())
    assert proposal.operator == "improve" and "frame['x1m2']" in proposal.code
    [abandoned] = proposal.recipe["abandoned"]
    assert abandoned["stage"] == "static-check" and "label" in abandoned["reason"]
    assert proposal.hypothesis != abandoned["hypothesis"]
    assert proposal.recipe["static_checks"] == [{"problems": []}]  # the second attempt's
    # with one attempt the same replies end the step as a labelled failure
    agent, _ = slot_agent(run, replies, static_repairs=0, hypothesis_attempts=1)
    failed = agent.propose(run.context())
    assert failed.operator == "malformed-reply" and "abandoned" not in failed.recipe


def test_an_edit_that_gives_a_script_already_run_is_not_run_again(
    run: Run, builtin_code: str
) -> None:
    t0 = run.add(builtin_code, "init-builtin", score=0.8)
    first, _ = slot_agent(run, [DIAGNOSIS, slot_reply(PRODUCT)], hypothesis_attempts=1)
    code = first.propose(run.context()).code
    earlier = run.add(code, "improve", score=0.79, parents=(t0.id,)).id  # not the parent
    replies = [_two_hypotheses(), slot_reply(PRODUCT), slot_reply(DIFFERENCE)]
    agent, _ = slot_agent(run, replies)
    proposal = agent.propose(run.context())
    [abandoned] = proposal.recipe["abandoned"]
    assert abandoned["reason"] == f"the edit gives the same script as {earlier}"
    assert "frame['x1m2']" in proposal.code and proposal.operator == "improve"


def test_when_every_hypothesis_failed_a_problem_no_hypothesis_answered_is_tried(
    run: Run, builtin_code: str
) -> None:
    run.add(builtin_code, "init-builtin", score=0.8)
    diagnosis = json.loads(DIAGNOSIS)  # one hypothesis, for the first of two problems
    diagnosis["feedback_problems"] = [{"problem": "x1 - x2 is unused", "evidence": "a gap"}]
    replies = [json.dumps(diagnosis), slot_reply(READS_TARGET), slot_reply(DIFFERENCE)]
    agent, client = slot_agent(run, replies, static_repairs=0)
    proposal = agent.propose(run.context())
    assert proposal.operator == "improve" and proposal.hypothesis == "x1 - x2 is unused"
    assert proposal.recipe["drawn"]["unanswered_problem"] is True
    assert "x1 - x2 is unused" in client.prompt(2)  # the second implement prompt states it
    [abandoned] = proposal.recipe["abandoned"]
    assert abandoned["hypothesis"].startswith("add the product of x1 and x2")
