"""`gome compare`: the plan, the table's numbers against each run's own files, the progress
plot, and a resume that skips finished runs and continues an unfinished one."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from gome.compare import (
    COMPARE_FILE,
    ComparePlan,
    failure_label,
    parse_agents,
    progress_curve,
    resume_plan,
)
from gome.direction import Direction
from gome.errors import GomeError
from gome.journal import FINAL_SEED, HARNESS_OPERATORS, Journal, Trial
from tests.conftest import (
    TOY_ID,
    gome_with_scripted_model,
    ledger_of,
    make_trial,
    read_csv_rows,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_agents_are_parsed_and_checked() -> None:
    assert parse_agents(" gome, aide ,builtin") == ("gome", "aide", "builtin")
    for bad, needle in (("gome,omega", "'omega'"), ("aide,aide", "twice"), (" , ", "at least")):
        with pytest.raises(GomeError, match=needle):
            parse_agents(bad)


def test_runs_go_seed_by_seed_so_a_cut_comparison_stays_balanced() -> None:
    plan = ComparePlan(TOY_ID, ("gome", "builtin"), seeds=2, budget_s=60)
    assert plan.runs() == [("gome", 0), ("builtin", 0), ("gome", 1), ("builtin", 1)]


def test_resume_refuses_settings_that_differ_from_the_plan_but_may_add_seeds(
    tmp_path: Path,
) -> None:
    plan = ComparePlan(TOY_ID, ("builtin",), seeds=2, budget_s=60, model="openai/x")
    assert resume_plan(plan, {"seeds": 2, "budget_s": 60.0, "model": None}, tmp_path) == plan
    assert resume_plan(plan, {"seeds": 3}, tmp_path) == replace(plan, seeds=3)
    assert resume_plan(plan, {"seeds": 3}, tmp_path).runs()[:2] == plan.runs()
    with pytest.raises(GomeError, match="seeds=2"):
        resume_plan(plan, {"seeds": 1}, tmp_path)
    with pytest.raises(GomeError, match="budget_s"):
        resume_plan(plan, {"budget_s": 120.0, "seeds": 3}, tmp_path)


def test_scaffolding_reaches_gome_and_aide_alike_and_survives_resume(
    toy_competition, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything but the search policy held fixed: both LLM agents get the same scaffolding."""
    from types import SimpleNamespace

    from rich.console import Console

    import gome.compare as compare

    calls: list[dict] = []

    def fake_run_solve(console: Console, **kwargs: object) -> SimpleNamespace:
        calls.append(kwargs)
        return SimpleNamespace(interrupted=False)

    monkeypatch.setattr(compare, "run_solve", fake_run_solve)
    scaffolding = {"initialisation": "builtin", "edit_mode": "slot"}
    plan = ComparePlan(TOY_ID, ("gome", "aide"), seeds=1, budget_s=60, scaffolding=scaffolding)
    compare.start_compare(plan, tmp_path / "cmp")
    assert compare.load_compare(tmp_path / "cmp")[0] == plan
    assert compare.run_compare(Console(quiet=True), plan, tmp_path / "cmp")
    assert [(c["agent"], c["gome_settings"], c["aide_settings"]) for c in calls] == [
        ("gome", scaffolding | {"coworker": False}, scaffolding),  # AIDE has no co-worker
        ("aide", scaffolding | {"coworker": False}, scaffolding),
    ]
    with pytest.raises(GomeError, match="scaffolding"):
        resume_plan(plan, {"scaffolding": {"edit_mode": "full"}}, tmp_path)


def step(tid: str, started: str, finished: str, score: float | None, label: str = "ok") -> Trial:
    return make_trial(
        tid,
        code_path="",
        label=label,
        validation_score=score,
        started_at=f"2025-01-01T10:{started}+00:00",
        finished_at=f"2025-01-01T10:{finished}+00:00",
    )


def test_progress_curve_counts_run_time_and_skips_the_gap_before_a_resume(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path)
    for trial in (
        step("t0001", "00:30", "02:00", 0.9),
        step("t0002", "02:00", "03:00", 0.7),  # better: lower is better here
        step("t0003", "03:00", "04:00", None, label="crash"),
        # killed, resumed at 10:30:00
        step("t0004", "30:00", "31:00", 0.8),
        step("t0005", "31:00", "32:00", 0.5),
        # the harness re-running t0005 under another seed: not an improvement by the agent
        replace(step("t0006", "32:00", "33:00", 0.1), operator=FINAL_SEED, parent_ids=("t0005",)),
    ):
        journal.append(trial)
    (tmp_path / "run.log").write_text(
        "2025-01-01T10:00:00+00:00 search: agent=builtin workers=1\n"
        "2025-01-01T10:03:00+00:00 backoff: something\n"
        "2025-01-01T10:30:00+00:00 search: agent=builtin workers=1\n"
    )
    # the second session's clock picks up at 4 min, where the last trial before the gap ended
    assert progress_curve(tmp_path, Direction.LOWER) == [(2.0, 0.9), (3.0, 0.7), (6.0, 0.5)]
    assert progress_curve(tmp_path, Direction.HIGHER) == [(2.0, 0.9)]


def test_failures_are_labelled_by_the_runner_or_the_audit() -> None:
    crash = step("t1", "00:00", "00:01", None, label="crash")
    flagged = replace(step("t2", "00:00", "00:01", 0.9), flags=("reads private answers",))
    assert (failure_label(crash), failure_label(flagged)) == ("crash", "flagged")


def test_a_journal_line_without_llm_s_reads_as_zero() -> None:
    raw = json.loads(step("t1", "00:00", "00:01", 0.5).to_json())
    del raw["llm_s"]
    assert Trial.from_dict(raw).llm_s == 0.0


# -- end to end -------------------------------------------------------------------------------
def journal_of(run_dir: Path) -> list[dict]:
    text = (run_dir / "journal.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def is_valid(trial: dict) -> bool:
    return trial["label"] == "ok" and trial["validation_score"] is not None and not trial["flags"]


def proposed(trials: list[dict]) -> list[dict]:
    """The agent's own trials: without the harness's final re-runs and refit."""
    return [t for t in trials if t["operator"] not in HARNESS_OPERATORS]


def check_row_against_run(row: dict[str, str], run_dir: Path, best: Callable) -> None:
    """One summary.csv row says what the run's own files say (`best`: max or min, the metric's
    direction)."""
    assert row["run"] == f"{row['agent']}-s{row['seed']}" == run_dir.name
    every = journal_of(run_dir)
    trials = proposed(every)
    grade = json.loads((run_dir / "grade.json").read_text())
    valid = [t for t in trials if is_valid(t)]
    assert row["ran_as"] == row["agent"] == grade["agent"]
    assert int(row["trials"]) == len(trials) > 0
    assert int(row["final_reruns"]) == len(every) - len(trials)
    assert int(row["valid_trials"]) == len(valid)
    assert float(row["valid_rate"]) == pytest.approx(len(valid) / len(trials))
    assert float(row["score"]) == grade["score"]
    assert row["valid_submission"] == str(grade["valid_submission"])
    assert float(row["best_validation"]) == pytest.approx(
        best(t["validation_score"] for t in valid)
    )
    calls = ledger_of(run_dir)  # every call, also one the budget cut before its trial
    assert int(row["tokens"]) == sum(c["prompt_tokens"] + c["completion_tokens"] for c in calls)
    assert int(row["tokens"]) >= sum(t["tokens"] for t in every)
    assert float(row["dollars"]) == pytest.approx(sum(c["cost_usd"] for c in calls))
    assert float(row["llm_s"]) == pytest.approx(sum(t["llm_s"] for t in every))
    failures = sum(int(row[k]) for k in row if k.startswith("fail_"))
    assert failures == len(trials) - len(valid)
    elapsed = json.loads((run_dir / "run.json").read_text())["elapsed_s"]
    assert float(row["llm_share"]) == pytest.approx(float(row["llm_s"]) / elapsed)


def compare(*args: str, server: str) -> subprocess.CompletedProcess:
    return gome_with_scripted_model("compare", *args, server=server, timeout=400)


AGENTS = ("builtin", "gome", "aide")
# a run stops proposing with under 15 s left: this leaves room for one or two short trials
BUDGET_S = 20.0


@pytest.mark.slow
def test_compare_tables_every_run_and_resume_skips_finished_ones(
    toy_competition, scripted_server: str, tmp_path: Path
) -> None:
    folder = tmp_path / "cmp"
    flags = ["--minutes", str(BUDGET_S / 60), "--seeds", "2", "--trial-timeout", "30"]
    done = compare(
        TOY_ID, "--agents", ",".join(AGENTS), *flags, "--dir", str(folder), server=scripted_server
    )
    assert done.returncode == 0, done.stdout + done.stderr
    expected = {(agent, seed) for agent in AGENTS for seed in (0, 1)}
    assert set(json.loads((folder / COMPARE_FILE).read_text())["finished"]) == {
        f"{a}-s{s}" for a, s in expected
    }

    gome_config = json.loads((folder / "gome-s0" / "run.json").read_text())["config"]["gome"]
    assert gome_config["coworker"] is False  # AIDE has no counterpart: held off

    rows = read_csv_rows(folder / "summary.csv")
    per_run = [r for r in rows if r["seed"] != "mean"]
    assert {(r["agent"], int(r["seed"])) for r in per_run} == expected
    assert len(per_run) == len(expected)
    for row in per_run:
        check_row_against_run(row, folder / row["run"], best=max)  # accuracy
        if row["agent"] == "builtin":
            assert row["model"] == "" and int(row["tokens"]) == 0 and float(row["llm_s"]) == 0
        else:
            assert row["model"] == "openai/scripted"
            assert int(row["tokens"]) > 0 and float(row["llm_s"]) > 0

    means = {r["agent"]: r for r in rows if r["seed"] == "mean"}
    assert set(means) == set(AGENTS)
    for agent, mean in means.items():
        scores = [float(r["score"]) for r in per_run if r["agent"] == agent]
        assert float(mean["score"]) == pytest.approx(sum(scores) / len(scores))
    summary = (folder / "summary.md").read_text()
    assert all(f"| {agent} | mean |" in summary for agent in AGENTS)
    png = folder / "progress.png"
    assert png.read_bytes()[:8] == PNG_SIGNATURE and png.stat().st_size > 1000
    with Image.open(png) as image:
        assert image.size[0] > 100 and image.size[1] > 100

    # make one run unfinished (killed with time for one more trial), then resume the comparison
    unfinished = folder / "builtin-s1"
    manifest = json.loads((folder / COMPARE_FILE).read_text())
    manifest["finished"].remove("builtin-s1")
    (folder / COMPARE_FILE).write_text(json.dumps(manifest))
    config = json.loads((unfinished / "run.json").read_text())
    (unfinished / "run.json").write_text(json.dumps(config | {"elapsed_s": BUDGET_S - 17}))
    before = {name: (folder / name / "journal.jsonl").read_bytes() for name in manifest["finished"]}
    grades = {name: (folder / name / "grade.json").read_bytes() for name in manifest["finished"]}
    old = journal_of(unfinished)

    resumed = compare("--resume", str(folder), "--seeds", "2", server=scripted_server)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout.count("finished, skipped") == len(expected) - 1
    for name, journal in before.items():
        assert (folder / name / "journal.jsonl").read_bytes() == journal, name
        assert (folder / name / "grade.json").read_bytes() == grades[name], name
    new = journal_of(unfinished)
    assert new[: len(old)] == old and len(new) > len(old), "the unfinished run did not resume"
    row = next(r for r in read_csv_rows(folder / "summary.csv") if r["run"] == "builtin-s1")
    assert int(row["trials"]) == len(proposed(new))
