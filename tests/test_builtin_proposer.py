"""The built-in proposer: its scripts run on small synthetic competitions, and its policy."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gome.agent import Proposal, SearchContext
from gome.competitions import Competition
from gome.journal import Trial
from gome.proposers import BuiltinProposer
from gome.proposers.recipes import Member, Recipe, task_config
from gome.proposers.script import OmegaEstimator, render
from tests.test_omega_registry import saved_entry

ROWS = 200


def spec(metric: str, higher: bool, target: str, columns: dict[str, str]) -> Competition:
    return Competition(
        id="toy",
        name="Toy",
        suite="practice",
        modality="tabular",
        metric=metric,
        higher_is_better=higher,
        id_column="id",
        target_columns=[target],
        submission_columns=columns,
        split={"kind": "csv_split"},
    )


def write_public(root: Path, frame: pd.DataFrame, target: str, fills: dict[str, object]) -> Path:
    """train/test/sample_submission from `frame` (last 50 rows are test)."""
    public = root / "public"
    public.mkdir()
    train, test = frame.iloc[:-50], frame.iloc[-50:]
    train.to_csv(public / "train.csv", index=False)
    test.drop(columns=[target]).to_csv(public / "test.csv", index=False)
    # the sample lists ids in another order than test.csv: the script must follow the sample
    sample = pd.DataFrame({"id": test["id"].to_numpy()[::-1], **fills})
    sample.to_csv(public / "sample_submission.csv", index=False)
    return public


@pytest.fixture
def passengers(tmp_path: Path) -> Path:
    """Spaceship-like rows: group ids, a structured cabin, spends, a bool target."""
    rng = np.random.default_rng(0)
    group = rng.integers(0, 120, ROWS)
    spend = rng.exponential(500, ROWS) * (rng.random(ROWS) < 0.4)
    side = rng.choice(["P", "S"], ROWS)
    frame = pd.DataFrame(
        {
            "id": [f"{g:04d}_{i:03d}" for i, g in enumerate(group)],  # unique, groups repeat
            "cabin": pd.Series(rng.choice(list("ABC"), ROWS))
            + "/"
            + pd.Series(rng.integers(0, 300, ROWS)).astype(str)
            + "/"
            + side,
            "planet": rng.choice(["Earth", "Mars"], ROWS),
            "age": rng.normal(30, 10, ROWS).round(),
            "spa": spend,
            "bar": rng.exponential(300, ROWS) * (rng.random(ROWS) < 0.5),
        }
    )
    frame.loc[rng.random(ROWS) < 0.1, "age"] = np.nan
    frame["moved"] = (side == "S") ^ (spend > 0) ^ (rng.random(ROWS) < 0.1)
    return write_public(tmp_path, frame, "moved", {"moved": False})


@pytest.fixture
def numbers(tmp_path: Path) -> Path:
    """Numeric-only regression rows with an integer id."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(ROWS, 3))
    frame = pd.DataFrame({"id": np.arange(ROWS), "a": x[:, 0], "b": x[:, 1], "c": x[:, 2]})
    frame["y"] = 3 * x[:, 0] - x[:, 1] + rng.normal(0, 0.3, ROWS)
    return write_public(tmp_path, frame, "y", {"y": 0.0})


@pytest.fixture
def species(tmp_path: Path) -> Path:
    """Three classes named a/b/c; the submission wants one probability column per class."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(ROWS, 3))
    frame = pd.DataFrame({"id": np.arange(ROWS), "u": x[:, 0], "v": x[:, 1], "w": x[:, 2]})
    frame["kind"] = np.array(["a", "b", "c"])[x.argmax(axis=1)]
    return write_public(tmp_path, frame, "kind", {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})


ACCURACY = spec("accuracy", True, "moved", {"id": "str", "moved": "bool"})
ROC_AUC = spec("roc_auc", True, "moved", {"id": "str", "moved": "probability"})
RMSE = spec("rmse", False, "y", {"id": "int", "y": "float"})
LOG_LOSS = spec(
    "multiclass_log_loss", False, "kind", {"id": "int", **dict.fromkeys("abc", "probability")}
)


def context(comp: Competition, public: Path, history=(), seed: int = 0, **kw) -> SearchContext:
    return SearchContext(
        competition=comp,
        public_dir=public,
        history=list(history),
        trial_timeout_s=kw.get("trial_timeout_s", 120.0),
        time_left_s=kw.get("time_left_s", 3600.0),
        environment="test",
        rng=random.Random(seed),
        in_flight=kw.get("in_flight", ()),
    )


def run(proposal: Proposal, public: Path, trial_dir: Path) -> tuple[float, pd.DataFrame, str]:
    """Run the script alone in its folder; its score line, submission and output."""
    trial_dir.mkdir()
    (trial_dir / "input").symlink_to(public)
    (trial_dir / "solution.py").write_text(proposal.code)
    proc = subprocess.run(
        [sys.executable, "solution.py"], cwd=trial_dir, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    scores = re.findall(r"^validation_score: (\S+)$", proc.stdout, re.MULTILINE)
    assert len(scores) == 1, proc.stdout
    return float(scores[0]), pd.read_csv(trial_dir / "submission.csv"), proc.stdout


def fake_trial(proposal: Proposal, n: int, score: float | None, runtime: float = 5.0) -> Trial:
    return Trial(
        id=f"t{n:04d}",
        parent_ids=proposal.parent_ids,
        agent="builtin",
        operator=proposal.operator,
        hypothesis=proposal.hypothesis,
        code_path="",
        code_hash="",
        recipe=proposal.recipe,
        label="ok" if score is not None else "crash",
        runtime_s=runtime,
        validation_score=score,
    )


def assert_matches_sample(submission: pd.DataFrame, public: Path) -> None:
    sample = pd.read_csv(public / "sample_submission.csv")
    assert list(submission.columns) == list(sample.columns)
    assert submission["id"].tolist() == sample["id"].tolist()


# -- scripts ------------------------------------------------------------------------------------
def test_draft_classifies_bool_target(passengers: Path, tmp_path: Path) -> None:
    proposal = BuiltinProposer().propose(context(ACCURACY, passengers))
    assert proposal.operator == "draft"
    assert 'cabin by "/"' in proposal.hypothesis  # structured string detected and split
    score, submission, _ = run(proposal, passengers, tmp_path / "t1")
    assert 0.5 < score <= 1.0
    assert_matches_sample(submission, passengers)
    assert set(submission["moved"].astype(str)) <= {"True", "False"}
    assert submission["moved"].dtype == bool


def test_roc_auc_writes_probabilities(passengers: Path, tmp_path: Path) -> None:
    proposal = BuiltinProposer().propose(context(ROC_AUC, passengers))
    score, submission, _ = run(proposal, passengers, tmp_path / "t1")
    assert 0.5 < score <= 1.0
    assert_matches_sample(submission, passengers)
    assert submission["moved"].between(0, 1).all()
    assert submission["moved"].nunique() > 2


def test_regression_without_string_columns(numbers: Path, tmp_path: Path) -> None:
    proposal = BuiltinProposer().propose(context(RMSE, numbers))
    assert proposal.recipe["members"][0]["features"] == ["base"]
    score, submission, _ = run(proposal, numbers, tmp_path / "t1")
    assert 0 < score < 1.5  # noise 0.3; predicting the mean would be ~3.2
    assert_matches_sample(submission, numbers)
    assert submission["y"].std() > 1


def test_multiclass_probability_per_class(species: Path, tmp_path: Path) -> None:
    proposal = BuiltinProposer().propose(context(LOG_LOSS, species))
    score, submission, _ = run(proposal, species, tmp_path / "t1")
    assert 0 < score < np.log(3)  # better than uniform
    assert_matches_sample(submission, species)
    assert np.allclose(submission[["a", "b", "c"]].sum(axis=1), 1.0)


def test_tuned_ensemble_script_runs(numbers: Path, tmp_path: Path) -> None:
    """Drive the policy to an ensemble whose members include a tuned one, then run it."""
    proposer = BuiltinProposer(explore_quota=2)
    history: list[Trial] = []
    for n, score in enumerate([1.0, 0.9, 0.8, 0.85], start=1):
        proposal = proposer.propose(context(RMSE, numbers, history, trial_timeout_s=30))
        history.append(fake_trial(proposal, n, score))
    # the leaders of both families explored are tuned
    assert [t.operator for t in history] == ["draft", "explore", "tune", "tune"]
    ensemble = proposer.propose(context(RMSE, numbers, history, trial_timeout_s=30))
    assert ensemble.operator == "ensemble"
    assert any(m["tune_trials"] for m in ensemble.recipe["members"])
    score, submission, _ = run(ensemble, numbers, tmp_path / "t1")
    assert 0 < score < 1.5
    assert_matches_sample(submission, numbers)


def test_script_trims_seeds_to_its_time_budget(numbers: Path, tmp_path: Path) -> None:
    """A recipe far too big for its budget still ends with a score, after one CV."""
    recipe = Recipe(
        members=(Member("linear", ("base",)), Member("hgb", ("base",))), seeds=tuple(range(50))
    )
    code = render(task_config(RMSE), recipe.to_dict(), time_budget_s=0, n_jobs=1, why="test")
    proposal = Proposal(code=code, operator="ensemble", hypothesis="test")
    score, _, output = run(proposal, numbers, tmp_path / "t1")
    assert 0 < score < 1.5
    assert "skipping seeds from 1" in output and "skipping members from #1" in output


# -- policy -------------------------------------------------------------------------------------
def simulate(comp: Competition, public: Path, steps: int, seed: int = 0) -> list[Proposal]:
    """Proposals of a search where every trial succeeds with a slowly improving score."""
    proposer = BuiltinProposer()
    history: list[Trial] = []
    proposals = []
    for n in range(1, steps + 1):
        proposal = proposer.propose(context(comp, public, history, seed=seed))
        proposals.append(proposal)
        history.append(fake_trial(proposal, n, 0.7 + 0.001 * (n % 7)))
    return proposals


def test_policy_moves_through_phases(passengers: Path) -> None:
    operators = [p.operator for p in simulate(ACCURACY, passengers, 14)]
    assert operators[0] == "draft"
    assert operators[1:6] == ["explore"] * 5  # quota of 6 single-model trials
    assert {"tune", "ensemble"} <= set(operators[6:])
    first_tune, first_ensemble = operators.index("tune"), operators.index("ensemble")
    assert first_tune < first_ensemble


def test_recipes_never_repeat(passengers: Path) -> None:
    proposals = simulate(ACCURACY, passengers, 40)
    keys = [Recipe.from_dict(p.recipe).key() for p in proposals]
    assert len(set(keys)) == len(keys)


def test_in_flight_recipes_are_not_proposed_again(passengers: Path) -> None:
    proposer = BuiltinProposer()
    first = proposer.propose(context(ACCURACY, passengers))
    second = proposer.propose(context(ACCURACY, passengers, in_flight=[first]))
    assert second.recipe != first.recipe


def test_failed_draft_falls_back_to_simpler_model(passengers: Path) -> None:
    proposer = BuiltinProposer()
    draft = proposer.propose(context(ACCURACY, passengers))
    retry = proposer.propose(context(ACCURACY, passengers, [fake_trial(draft, 1, None)]))
    assert retry.operator == "draft"
    assert retry.recipe["members"][0]["family"] != draft.recipe["members"][0]["family"]


def test_deterministic_for_a_seed(passengers: Path) -> None:
    run_a = simulate(ACCURACY, passengers, 12, seed=3)
    run_b = simulate(ACCURACY, passengers, 12, seed=3)
    assert [p.code for p in run_a] == [p.code for p in run_b]


def test_little_time_left_goes_to_ensemble(passengers: Path) -> None:
    proposer = BuiltinProposer()
    history: list[Trial] = []
    for n, family_score in enumerate([0.80, 0.81], start=1):
        proposal = proposer.propose(context(ACCURACY, passengers, history))
        history.append(fake_trial(proposal, n, family_score))
    late = proposer.propose(context(ACCURACY, passengers, history, time_left_s=20.0))
    assert late.operator == "ensemble"
    assert set(late.parent_ids) == {"t0001", "t0002"}


def test_lower_is_better_ranks_by_smallest_score(numbers: Path) -> None:
    proposer = BuiltinProposer(explore_quota=2)
    history: list[Trial] = []
    for n, score in enumerate([2.0, 0.5], start=1):
        proposal = proposer.propose(context(RMSE, numbers, history))
        history.append(fake_trial(proposal, n, score))
    tune = proposer.propose(context(RMSE, numbers, history))
    assert tune.operator == "tune"
    assert tune.parent_ids == ("t0002",)


def test_label_column_in_train_with_one_probability_column_per_class(tmp_path: Path) -> None:
    """Answers one-hot per class, train.csv one label column (spooky, practice-hpc-jobs)."""
    rng = np.random.default_rng(0)
    n = 240
    frame = pd.DataFrame({"id": np.arange(n), "x": rng.normal(size=n)})
    frame["kind"] = np.where(frame["x"] > 0.5, "A", np.where(frame["x"] < -0.5, "C", "B"))
    public = tmp_path / "input"
    public.mkdir()
    frame.iloc[:200].to_csv(public / "train.csv", index=False)
    test = frame.iloc[200:].drop(columns=["kind"])
    test.to_csv(public / "test.csv", index=False)
    test[["id"]].assign(A=1 / 3, B=1 / 3, C=1 / 3).to_csv(
        public / "sample_submission.csv", index=False
    )
    one_hot = spec(
        "multiclass_log_loss", False, "A", {"id": "int", **dict.fromkeys("ABC", "probability")}
    )
    one_hot = one_hot.model_copy(update={"target_columns": ["A", "B", "C"]})
    score, submission, _ = run(
        BuiltinProposer().propose(context(one_hot, public)), public, tmp_path / "t"
    )
    assert score < 0.7
    assert list(submission.columns) == ["id", "A", "B", "C"]
    assert np.allclose(submission[["A", "B", "C"]].sum(axis=1), 1.0)
    assert (submission["A"] > submission["C"]).sum() >= 10


def test_blend_gives_a_useless_member_no_weight(monkeypatch: pytest.MonkeyPatch) -> None:
    """Greedy ensemble selection: a member of pure noise is never picked, two useful members
    with independent errors share the weight, and the blend beats either alone."""
    from gome.proposers.templates import solution

    monkeypatch.setattr(solution, "TASK", task_config(RMSE))
    rng = np.random.default_rng(0)
    y = rng.normal(size=2000)
    good_a, good_b = y + rng.normal(size=2000) * 0.5, y + rng.normal(size=2000) * 0.5
    noise = rng.normal(size=2000) * 3
    weights = solution.blend_weights(y, [good_a, noise, good_b])
    assert weights[1] == 0 and weights.sum() == pytest.approx(1.0)
    assert 0.3 <= weights[0] <= 0.7
    blend = weights[0] * good_a + weights[2] * good_b

    def rmse(pred: np.ndarray) -> float:
        return float(np.sqrt(np.mean((y - pred) ** 2)))

    assert rmse(blend) < min(rmse(good_a), rmse(good_b))


def test_omega_registry_algorithm_is_explored_run_and_ensembled_but_not_tuned(
    passengers: Path, tmp_path: Path, empty_omega_registry: Path
) -> None:
    entry = saved_entry(empty_omega_registry)  # ShrunkCentroid, a classifier
    family = f"omega:{entry.name}"
    proposer = BuiltinProposer(explore_quota=40)
    history: list[Trial] = []
    omega_step = None
    for n in range(1, 30):
        proposal = proposer.propose(context(ACCURACY, passengers, history))
        families = [m["family"] for m in proposal.recipe["members"]]
        if families == [family]:
            omega_step = proposal
        history.append(fake_trial(proposal, n, 0.7 + 0.001 * (n % 7)))
    assert omega_step is not None and omega_step.operator == "explore"
    assert omega_step.recipe["members"][0]["features"] == ["base"]
    assert f"OMEGA {entry.name}" in omega_step.hypothesis
    assert "class ShrunkCentroid" in omega_step.code  # pasted: the sandbox has no registry
    score, submission, _ = run(omega_step, passengers, tmp_path / "omega")
    assert 0.3 < score <= 1.0
    assert_matches_sample(submission, passengers)
    # an ensemble with it runs too; it is never tuned (no search space)
    recipe = Recipe.from_dict(omega_step.recipe)
    both = replace(recipe, members=(*recipe.members, Member("linear", ("base",))))
    pasted = [OmegaEstimator(entry.name, entry.class_name, entry.code)]
    code = render(task_config(ACCURACY), both.to_dict(), 60, 1, "x", omega=pasted)
    run(Proposal(code=code, operator="ensemble", hypothesis="x"), passengers, tmp_path / "ens")
    members = [m for trial in history for m in trial.recipe["members"]]
    assert not [m for m in members if m["family"] == family and m["tune_trials"]]
    # off: never proposed, and nothing pasted
    off = BuiltinProposer(omega_models=0, explore_quota=40)
    seen: list[Trial] = []
    for n in range(1, 30):
        proposal = off.propose(context(ACCURACY, passengers, seen))
        assert "omega:" not in str(proposal.recipe) and "ShrunkCentroid" not in proposal.code
        seen.append(fake_trial(proposal, n, 0.7))


def test_linear_members_sit_out_test_rows_far_beyond_the_training_range() -> None:
    from gome.proposers.templates import solution as template

    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "area": [10.0, 20.0, 30.0, 25.0, 500.0, 35.0],  # test rows: 25, 500, 35
            "rooms": [1.0, 2.0, 3.0, 2.0, 40.0, 2.0],
        }
    )
    weights = np.array([0.6, 0.4])
    rows = template.test_row_weights(weights, ["lightgbm", "linear"], frame, n_train=3)
    # only the middle test row is beyond the range on two features; the last on one
    assert rows.tolist() == [[0.6, 0.4], [1.0, 0.0], [0.6, 0.4]]
    # no bounded member to fall back on, or no linear member: the blend's own weights
    only_linear = template.test_row_weights(np.array([1.0, 0.0]), ["linear", "hgb"], frame, 3)
    assert only_linear.tolist() == [[1.0, 0.0]] * 3
    trees = template.test_row_weights(weights, ["lightgbm", "hgb"], frame, n_train=3)
    assert trees.tolist() == [[0.6, 0.4]] * 3
