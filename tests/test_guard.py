"""The generalisation guard: the guarded view, the answers out of reach, scoring, promotion."""

from __future__ import annotations

import dataclasses
import json
import shutil
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gome import runner
from gome.agent import Proposal, SearchContext
from gome.competitions import load_competition
from gome.direction import Direction
from gome.errors import GomeError
from gome.grading import validate_submission
from gome.guard import (
    ANSWERS_FILE,
    GUARD_REGRESSION,
    RAW_SUBMISSION,
    STATE_DIR,
    VALIDATION_GAP,
    VIEW_DIR,
    build_guard,
    guard_regressed,
    validation_gap,
)
from gome.journal import FINAL_REFIT
from gome.llm import LLMClient
from gome.solve import MIN_TRIAL_SECONDS, REFIT_MARGIN, SolveConfig, SolveRun, load_run
from tests.conftest import TOY_ID

# The toy label's own rule: right on nearly every row. INVERTED gets nearly every row wrong yet
# claims a higher validation score: a validation gain that does not carry over.
HONEST = """
import pandas as pd
test = pd.read_csv("input/test.csv")
sample = pd.read_csv("input/sample_submission.csv")
rule = (test["x1"] + 0.5 * test["x2"].fillna(0) + (test["colour"] == "red")) > 0.3
predicted = dict(zip(test["id"], rule.astype(int)))
sample["label"] = sample["id"].map(predicted)
sample.to_csv("submission.csv", index=False)
print("validation_score: 0.80")
"""
INVERTED = HONEST.replace("rule.astype(int)", "1 - rule.astype(int)").replace("0.80", "0.95")
# Train/validation overlap: a tree on a feature that carries no signal (the id), validated on
# the rows it was fitted on, so it reports a perfect score that no held-out row supports.
OVERLAP = """
import pandas as pd
from sklearn.tree import DecisionTreeClassifier
train = pd.read_csv("input/train.csv")
test = pd.read_csv("input/test.csv")
model = DecisionTreeClassifier(random_state=0).fit(train[["id"]], train["label"])
print(f"validation_score: {(model.predict(train[['id']]) == train['label']).mean():.4f}")
pd.DataFrame({"id": test["id"], "label": model.predict(test[["id"]])}).to_csv(
    "submission.csv", index=False
)
"""


class ScriptedAgent:
    """Proposes the given scripts in order."""

    name = "scripted"

    def __init__(self, *codes: str) -> None:
        self.codes = list(codes)

    def propose(self, context: SearchContext) -> Proposal:
        return Proposal(code=self.codes.pop(0), operator="draft", hypothesis="scripted")


def _public(data: Path) -> Path:
    return data / TOY_ID / "prepared" / "public"


def _build(public: Path, run_dir: Path, fraction: float = 0.1):
    return build_guard(load_competition(TOY_ID), public, run_dir, fraction, seed=0)


def _guard_ids(run_dir: Path) -> set[int]:
    return set(pd.read_csv(run_dir / STATE_DIR / ANSWERS_FILE)["id"])


def test_view_holds_the_guard_rows_out_of_train_and_in_test(toy_competition, tmp_path) -> None:
    _, data = toy_competition
    public, run_dir = _public(data), tmp_path / "run"
    guard, line = _build(public, run_dir)
    assert guard is not None and line.startswith("guard on: 32 of 320 train rows")
    view = run_dir / VIEW_DIR
    train, test = pd.read_csv(public / "train.csv"), pd.read_csv(public / "test.csv")
    guarded_train = pd.read_csv(view / "train.csv")
    guarded_test = pd.read_csv(view / "test.csv")
    sample = pd.read_csv(view / "sample_submission.csv")
    ids = _guard_ids(run_dir)
    assert len(ids) == 32 and not ids & set(guarded_train["id"])
    assert set(guarded_train["id"]) | ids == set(train["id"])
    assert set(guarded_test["id"]) == set(test["id"]) | ids
    assert list(guarded_test.columns) == list(test.columns)  # no label column
    # the guard rows' features are the train rows' own, shuffled in among the test rows
    rows = guarded_test[guarded_test["id"].isin(ids)].set_index("id").sort_index()
    original = train.set_index("id").loc[rows.index, rows.columns]
    pd.testing.assert_frame_equal(rows, original)
    assert guarded_test["id"].isin(ids).to_numpy()[-32:].sum() < 32  # not all appended at the end
    # the sample follows test order (as the original sample does), guard ids included
    assert sample["id"].tolist() == guarded_test["id"].tolist()
    # stratified: the guard's label share is the train share to within one row
    share = train.set_index("id").loc[sorted(ids), "label"].mean()
    assert abs(share - train["label"].mean()) <= 1 / 32
    # the other public files are linked, the labels live outside the view, owner-only
    answers = run_dir / STATE_DIR / ANSWERS_FILE
    assert not answers.is_relative_to(view)
    assert stat.S_IMODE(answers.stat().st_mode) == 0o600
    assert stat.S_IMODE(answers.parent.stat().st_mode) == 0o700
    # rebuilt identically (a resumed run)
    before = {p.name: p.read_bytes() for p in view.iterdir()}
    _build(public, run_dir)
    assert {p.name: p.read_bytes() for p in view.iterdir()} == before


def test_guard_is_off_where_it_cannot_work(toy_competition, tmp_path) -> None:
    _, data = toy_competition
    public = tmp_path / "public"
    shutil.copytree(_public(data), public)
    assert _build(public, tmp_path / "a", fraction=0)[1] == "guard off: --guard-fraction 0"
    train = pd.read_csv(public / "train.csv")
    train.head(105).to_csv(public / "train.csv", index=False)
    guard, line = _build(public, tmp_path / "b")
    assert guard is None and "fewer than 100 to train on" in line
    pd.concat([train, train.head(1)]).to_csv(public / "train.csv", index=False)
    assert "ids in train.csv are not unique" in _build(public, tmp_path / "c")[1]
    train.to_csv(public / "train.csv", index=False)
    (public / "images").mkdir()
    assert "folders (images)" in _build(public, tmp_path / "d")[1]
    (public / "images").rmdir()
    train.drop(columns=["label"]).to_csv(public / "train.csv", index=False)
    assert "lacks the target column(s) label" in _build(public, tmp_path / "e")[1]


def test_real_submission_validates_and_guard_score_is_the_metric(toy_competition, tmp_path):
    _, data = toy_competition
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = SolveConfig(competition_id=TOY_ID, budget_s=300.0, final_top_k=0)
    run = SolveRun(run_dir, config)
    run.agent = ScriptedAgent(HONEST, INVERTED)
    first, second = run.run_one(), run.run_one()
    assert first is not None and second is not None
    original = pd.read_csv(_public(data) / "sample_submission.csv")
    for trial in (first, second):
        folder = run_dir / "trials" / trial.id
        real = pd.read_csv(folder / "submission.csv")
        assert real["id"].tolist() == original["id"].tolist()  # guard rows out, sample order
        assert validate_submission(TOY_ID, folder / "submission.csv")[0]
        # the guard score by hand: accuracy of the guard rows against the train labels
        raw = pd.read_csv(folder / RAW_SUBMISSION).set_index("id")
        truth = pd.read_csv(_public(data) / "train.csv").set_index("id")["label"]
        ids = sorted(_guard_ids(run_dir))
        by_hand = float(np.mean(raw.loc[ids, "label"].to_numpy() == truth.loc[ids].to_numpy()))
        assert trial.guard_score == pytest.approx(by_hand)
        assert trial.guard_se is not None
    # validation up (0.95 > 0.80), guard down (nearly every row wrong): flagged, not promoted
    assert first.is_valid and first.guard_score > 0.9
    assert second.guard_score < 0.1 and GUARD_REGRESSION in second.flags
    assert run.status.best_trial == first.id
    kept = (run_dir / "submission.csv").read_bytes()
    assert kept == (run_dir / "trials" / first.id / "submission.csv").read_bytes()
    assert "guard-regression: t0002 beats t0001" in (run_dir / "run.log").read_text()
    # a resumed run sees the flag in the journal and keeps the same best
    assert SolveRun(run_dir, config).status.best_trial == first.id


@pytest.mark.skipif(runner._sandbox().bwrap is None, reason="filesystem isolation needs bwrap")
def test_guard_answers_cannot_be_read_from_a_trial(toy_competition, tmp_path) -> None:
    _, data = toy_competition
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (_public(data) / "notes.txt").write_text("public notes\n")  # linked into the view
    run = SolveRun(run_dir, SolveConfig(competition_id=TOY_ID, budget_s=300.0, final_top_k=0))
    train_lines = (_public(data) / "train.csv").read_text().splitlines()
    ids = {str(i) for i in _guard_ids(run_dir)}
    # every guard row's labelled line as train.csv spells it (features and label)
    secrets = [line for line in train_lines[1:] if line.split(",")[0] in ids]
    hostile = f"""
import os, sys
print("notes:", open("input/notes.txt").read().strip())
SECRETS = {secrets!r}
for path in {[str(run_dir / STATE_DIR / ANSWERS_FILE), str(_public(data) / "train.csv")]!r}:
    try:
        open(path).read()
        print("READ", path)
    except OSError as exc:
        print("blocked", type(exc).__name__)
skip = ("/proc", "/sys", "/dev", "/usr", "/etc", "/lib", "/bin", "/sbin", sys.prefix,
        sys.base_prefix)
for folder, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if not os.path.join(folder, d).startswith(skip)]
    for name in files:
        path = os.path.join(folder, name)
        try:
            text = open(path, errors="ignore").read()
        except OSError:
            continue
        lines = set(text.splitlines())
        if any(secret in lines for secret in SECRETS):
            print("LEAK", path)
print("validation_score: 0.5")
"""
    run.agent = ScriptedAgent(hostile)
    trial = run.run_one()
    assert trial is not None
    output = (run_dir / "trials" / trial.id / "stdout.txt").read_text()
    assert output.count("blocked FileNotFoundError") == 2, output
    assert "notes: public notes" in output  # the view's links resolve inside the sandbox
    assert "READ " not in output and "LEAK " not in output, output


def test_regression_needs_a_drop_beyond_the_noise() -> None:
    up = Direction.HIGHER
    assert guard_regressed(0.70, 0.02, 0.80, 0.02, up)  # 0.10 > 2 * 0.028
    assert not guard_regressed(0.78, 0.02, 0.80, 0.02, up)  # within the noise
    assert not guard_regressed(0.90, 0.02, 0.80, 0.02, up)  # better
    assert guard_regressed(0.30, 0.01, 0.20, 0.01, Direction.LOWER)
    assert not guard_regressed(None, None, 0.8, 0.01, up)  # no guard score: no veto


def test_prompts_never_show_guard_scores(toy_competition, tmp_path) -> None:
    from baselines.aide import AideAgent, AideConfig
    from gome.optimizer import GomeAgent, GomeConfig
    from tests.test_optimizer_agent import (
        BETTER,
        DIAGNOSIS,
        SCRIPT,
        Run,
        ScriptedClient,
        script_reply,
    )

    run = Run(tmp_path, load_competition(TOY_ID))
    run.add(SCRIPT, "draft", score=0.80)
    run.add(SCRIPT.replace("0.80", "0.70"), "draft", score=0.70)
    run.trials[:] = [
        dataclasses.replace(t, guard_score=0.123457 + i, guard_se=0.0456789)
        for i, t in enumerate(run.trials)
    ]
    run.trials[1] = dataclasses.replace(run.trials[1], flags=(GUARD_REGRESSION,))
    gome_client = ScriptedClient([DIAGNOSIS, script_reply(BETTER)])
    GomeAgent(gome_client, GomeConfig(), run_dir=run.dir, budget_s=3300).propose(run.context())
    review = '{"is_bug": false, "summary": "ran", "metric": 0.8, "lower_is_better": false}'
    aide_client = ScriptedClient([review, review, script_reply(BETTER)])  # 2 reviews, 1 step
    aide_agent = AideAgent(aide_client, AideConfig(num_drafts=1, debug_prob=0.0), run_dir=run.dir)
    run.trials[:] = [dataclasses.replace(t, agent="aide") for t in run.trials]
    aide_agent.propose(run.context())
    prompts = [
        client.prompt(i) for client in (gome_client, aide_client) for i in range(len(client.calls))
    ]
    assert len(prompts) == 5
    for prompt in prompts:
        assert "0.123" not in prompt and "1.123" not in prompt and "0.0456" not in prompt
        assert "guard_score" not in prompt and "guard_se" not in prompt


def test_flags_are_checked_and_old_runs_keep_their_data_view(tmp_path) -> None:
    with pytest.raises(GomeError, match="--guard-fraction"):
        SolveConfig(competition_id=TOY_ID, budget_s=60.0, guard_fraction=0.9)
    with pytest.raises(GomeError, match="--final-share"):
        SolveConfig(competition_id=TOY_ID, budget_s=60.0, final_share=1.0)
    old = {"config": {"competition_id": TOY_ID, "budget_s": 60.0}, "elapsed_s": 1.0}
    (tmp_path / "run.json").write_text(json.dumps(old))
    config, _ = load_run(tmp_path)
    assert config.guard_fraction == 0.0 and config.final_top_k == 3


def test_validation_gap_needs_both_many_standard_errors_and_a_real_share() -> None:
    up, down = Direction.of(True), Direction.of(False)
    assert validation_gap(1.0, 0.55, 0.08, up)  # 0.45 > 4 x 0.08 and > 10 % of 0.55
    assert not validation_gap(1.0, 0.75, 0.08, up)  # 0.25 is within 4 standard errors
    assert not validation_gap(0.81, 0.79, 0.001, up)  # many se, but an honest 2.5 % apart
    assert not validation_gap(0.55, 1.0, 0.01, up)  # worse on validation: never severe
    assert validation_gap(20.0, 60.0, 5.0, down)  # an RMSE far lower than the guard's
    assert not validation_gap(55.7, 69.9, 6.5, down)  # measured: diabetes, builtin, honest
    assert not validation_gap(1.0, None, None, up) and not validation_gap(None, 0.5, 0.1, up)


def test_validating_on_training_rows_is_flagged_and_never_promoted(toy_competition, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    run = SolveRun(run_dir, SolveConfig(competition_id=TOY_ID, budget_s=300.0, final_top_k=0))
    run.agent = ScriptedAgent(HONEST, OVERLAP)
    honest, overlap = run.run_one(), run.run_one()
    assert honest is not None and overlap is not None
    assert honest.is_valid and VALIDATION_GAP not in honest.flags
    assert overlap.label == "ok" and overlap.validation_score == 1.0
    assert overlap.guard_score is not None and overlap.guard_score < 0.8
    assert VALIDATION_GAP in overlap.flags and not overlap.is_valid
    assert run.status.best_trial == honest.id
    assert f"validation-gap: {overlap.id} validates at 1" in (run_dir / "run.log").read_text()


def test_kept_trial_is_refitted_on_every_train_row_and_its_file_kept(toy_competition, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    run = SolveRun(run_dir, SolveConfig(competition_id=TOY_ID, budget_s=300.0, final_top_k=0))
    count = 'print("train rows:", len(pd.read_csv("input/train.csv")))\n'
    counting = HONEST.replace('print("validation_score', count + 'print("validation_score')
    run.agent = ScriptedAgent(counting)
    kept = run.run_one()
    assert kept is not None and run.status.best_trial == kept.id
    run._finalise()
    refit = [t for t in run.journal if t.operator == FINAL_REFIT]
    assert [t.parent_ids for t in refit] == [(kept.id,)]
    rows = {
        t.id: (run_dir / "trials" / t.id / "stdout.txt").read_text().split("train rows: ")[1][:3]
        for t in (kept, refit[0])
    }
    assert rows == {kept.id: "288", refit[0].id: "320"}  # 10 % held out, then all of them
    assert refit[0].guard_score is None and run.status.best_trial == kept.id
    kept_file = (run_dir / "submission.csv").read_bytes()
    assert kept_file == (run_dir / "trials" / refit[0].id / "submission.csv").read_bytes()
    assert validate_submission(TOY_ID, run_dir / "submission.csv")[0]
    # a second finalise (a resumed run) reuses the refit instead of running it again
    run._finalise()
    assert [t.operator for t in run.journal].count(FINAL_REFIT) == 1


class SilentModel(BaseHTTPRequestHandler):
    """A model server that takes a minute before answering anything."""

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        time.sleep(60)

    def log_message(self, *args: object) -> None:
        pass


class ModelAgent:
    """Asks the model for a step through the client it is given (the run's deadline in it)."""

    name = "model"

    def __init__(self, client: LLMClient) -> None:
        self.client = client

    def propose(self, context: SearchContext) -> Proposal:
        reply = self.client.complete([{"role": "user", "content": "improve it"}])
        return Proposal(code=reply.text, operator="improve", hypothesis="model")


def test_a_slow_model_call_ends_with_the_search_so_the_refit_still_runs(toy_competition, tmp_path):
    """The model's calls end at the search's deadline, not the budget's: the time kept for
    the refit is never the model's, and the run goes on to refit."""
    import litellm  # noqa: F401 (imported before the clock starts: seconds on a loaded machine)

    server = ThreadingHTTPServer(("127.0.0.1", 0), SilentModel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    run = SolveRun(run_dir, SolveConfig(competition_id=TOY_ID, budget_s=300.0, final_top_k=0))
    # a kept trial of seconds: the refit's reserve (its runtime and a quarter) covers the second
    # or so a reply cut at the deadline takes to come back on a loaded machine
    run.agent = ScriptedAgent("import time\ntime.sleep(8)\n" + HONEST)
    kept = run.run_one()
    assert kept is not None and run._refit_reserve_s() > 10
    search_left = MIN_TRIAL_SECONDS + 5  # as if the run had spent all but that of its search
    run.status.elapsed_before_s = run.status.time_left_s - run._refit_reserve_s() - search_left
    api = f"http://127.0.0.1:{server.server_address[1]}/v1"
    # the client as `make_agent` builds it for the run: its deadline is the search's
    run.agent = ModelAgent(
        LLMClient("openai/silent", api_base=api, api_key="sk-test", deadline=run._search_deadline)
    )
    asking = time.monotonic()
    assert run.run_one() is None
    assert time.monotonic() - asking < search_left + 10  # not the model's minute
    server.shutdown()
    assert not run.stop.is_set()
    assert (
        "search over: openai/silent: the run's search time is spent"
        in (run_dir / "run.log").read_text()
    )
    # the refit is tried while this much is left (`_finalise`'s own rule), and it is
    assert run.status.time_left_s >= kept.runtime_s / REFIT_MARGIN
    run._finalise()
    refit = [t for t in run.journal if t.operator == FINAL_REFIT]
    assert [t.parent_ids for t in refit] == [(kept.id,)]
