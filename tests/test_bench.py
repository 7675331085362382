"""`gome bench`: splits and skips, the leaderboard numbers on crafted grades, the local pool's
CPU/GPU slots, resume state, and a bench end to end whose report is checked against its run
folders (then re-run: finished runs untouched, an unfinished one resumed from its journal)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from PIL import Image
from rich.console import Console

from gome import competitions
from gome.bench.command import build_task
from gome.bench.executors import ATTEMPTS_FILE, LocalExecutor, RunOutcome, RunTask
from gome.bench.plan import (
    BenchPlan,
    RunSpec,
    Skipped,
    ready_competitions,
    split_competitions,
)
from gome.bench.report import (
    BenchRow,
    agent_ranks,
    beats_reference,
    mean_sem,
    summarise_agent,
    ungraded_report,
)
from gome.bench.state import BENCH_FILE, FINISHED, load_state, open_state
from gome.competitions import load_competition
from gome.errors import GomeError
from gome.journal import HARNESS_OPERATORS
from tests.conftest import (
    TOY_ID,
    gome_with_scripted_model,
    ledger_of,
    read_csv_rows,
    write_toy_competition,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MEDAL_ID = "toy-medal"  # a "lite" competition with a leaderboard: real medals
KAGGLE_ID = "toy-kaggle"  # a "lite" one whose data is not prepared: skipped
# best first (accuracy): gold 0.99 (row 1 of 10), silver 0.95 (row 2), bronze 0.91 (row 4)
LEADERBOARD = [0.99, 0.95, 0.93, 0.91, 0.6, 0.55, 0.5, 0.45, 0.4, 0.35]


def add_competition(
    root: Path, cid: str, *, suite: str, modality: str = "tabular", prepared: bool = True
) -> None:
    """A copy of the toy competition under another id and suite (with a leaderboard unless
    it is a practice one)."""
    scratch = root / f"scratch-{cid}"
    comps, data = write_toy_competition(scratch)
    folder = root / "competitions" / cid
    shutil.move(comps / TOY_ID, folder)
    spec = yaml.safe_load((folder / "competition.yaml").read_text())
    spec.update(id=cid, suite=suite, modality=modality)
    if suite != "practice":
        del spec["reference_score"]
        (folder / "leaderboard.csv").write_text(
            "teamName,score\n" + "".join(f"t{i},{s}\n" for i, s in enumerate(LEADERBOARD))
        )
    (folder / "competition.yaml").write_text(yaml.safe_dump(spec))
    if prepared:
        shutil.move(data / TOY_ID, root / "data" / cid)
    shutil.rmtree(scratch)
    competitions.list_competition_ids.cache_clear()
    competitions.load_competition.cache_clear()


@pytest.fixture
def toy_bench(toy_competition: tuple[Path, Path], tmp_path: Path) -> Path:
    """toy-tabular (practice), toy-medal (lite, tabular, prepared), toy-kaggle (lite, image,
    not prepared). Returns the root."""
    add_competition(tmp_path, MEDAL_ID, suite="lite")
    add_competition(tmp_path, KAGGLE_ID, suite="lite", modality="image", prepared=False)
    return tmp_path


# -- plan ------------------------------------------------------------------------------------
def ids(comps: list) -> list[str]:
    return [c.id for c in comps]


def test_splits_select_by_suite_modality_and_offline_source(toy_bench: Path) -> None:
    assert ids(split_competitions("lite")) == [KAGGLE_ID, MEDAL_ID]
    assert ids(split_competitions("tabular")) == [MEDAL_ID]  # lite and tabular
    assert ids(split_competitions("practice")) == [TOY_ID]
    assert ids(split_competitions("offline")) == [TOY_ID]  # no mirror among the toys
    listing = toy_bench / "ids.txt"
    listing.write_text(f"# mine\n{MEDAL_ID}\n\n{KAGGLE_ID}  # not prepared\n")
    assert ids(split_competitions(str(listing))) == [MEDAL_ID, KAGGLE_ID]
    listing.write_text("toy-medall\n")
    with pytest.raises(GomeError, match="Did you mean: toy-medal"):
        split_competitions(str(listing))
    listing.write_text(f"{MEDAL_ID}\n{MEDAL_ID}\n")
    with pytest.raises(GomeError, match="twice"):
        split_competitions(str(listing))
    with pytest.raises(GomeError, match="lite, tabular, offline, practice"):
        split_competitions("no-such-split")


def test_unprepared_competitions_are_skipped_with_the_reason(toy_bench: Path) -> None:
    # a practice competition that cannot be made offline (no source): its preparation fails
    add_competition(toy_bench, "toy-broken", suite="practice", prepared=False)
    comps = [load_competition(c) for c in (TOY_ID, MEDAL_ID, KAGGLE_ID, "toy-broken")]
    ready, skipped = ready_competitions(comps, None, Console(quiet=True))
    assert ready == [TOY_ID, MEDAL_ID]
    reasons = {s.competition_id: s.reason for s in skipped}
    assert set(reasons) == {KAGGLE_ID, "toy-broken"}
    assert "needs Kaggle data" in reasons[KAGGLE_ID]
    assert f"gome prepare {KAGGLE_ID}" in reasons[KAGGLE_ID]
    assert reasons["toy-broken"].startswith("offline preparation (practice) failed")


def test_runs_go_seed_by_seed() -> None:
    plan = BenchPlan("lite", ("a", "b"), ("gome", "builtin"), seeds=2, budget_s=60)
    names = [spec.name for spec in plan.runs()]
    assert names[:4] == ["a_gome_s0", "a_builtin_s0", "b_gome_s0", "b_builtin_s0"]
    assert len(names) == 8 and names[4] == "a_gome_s1"


# -- numbers ---------------------------------------------------------------------------------
def test_mean_sem_matches_mle_bench_leaderboard() -> None:
    # InternAgent on lite (22 competitions, 3 seeds): 13, 13 and 15 medals -> 62.12 ± 3.03
    mean, sem = mean_sem([100 * 13 / 22, 100 * 13 / 22, 100 * 15 / 22])
    assert (round(mean, 2), round(sem, 2)) == (62.12, 3.03)
    assert mean_sem([40.0]) == (40.0, None)
    assert mean_sem([]) == (None, None)


def test_agent_summary_on_crafted_grades(toy_bench: Path) -> None:
    comp = load_competition(MEDAL_ID)
    blank = ungraded_report(comp, toy_bench, "run failed", None)
    graded = replace(blank, score=0.9, valid_submission=True, submission_exists=True, error=None)
    gold = replace(graded, any_medal=True, gold_medal=True, above_median=True)
    bronze = replace(graded, any_medal=True, bronze_medal=True, above_median=True)
    median = replace(graded, above_median=True)
    # seed 0: gold, bronze, nothing valid (failed run) -> 2/3; seed 1: above median only -> 0/3
    grades = {
        ("c1", 0): gold,
        ("c2", 0): bronze,
        ("c3", 0): blank,
        ("c1", 1): median,
        ("c2", 1): graded,
        ("c3", 1): graded,
    }
    rows = [
        BenchRow(RunSpec(c, "aide", s), "failed" if g is blank else FINISHED, g, None)
        for (c, s), g in grades.items()
    ]
    rows.append(BenchRow(RunSpec("c1", "builtin", 0), FINISHED, gold, None))
    summary = summarise_agent("aide", rows, seeds=2, ranks=agent_ranks(rows))
    assert summary.any_medal_per_seed == pytest.approx((200 / 3, 0.0))
    assert summary.any_medal_pct == pytest.approx(100 / 3)
    assert summary.any_medal_sem == pytest.approx(100 / 3)  # stdev(66.7, 0) / sqrt(2)
    assert (summary.gold, summary.silver, summary.bronze) == (1, 0, 1)
    assert summary.above_median_pct == pytest.approx(50.0)
    assert summary.valid_submission_pct == pytest.approx(500 / 6)
    assert (summary.runs, summary.finished) == (6, 5)
    assert summary.mean_tokens is None  # no run folder


def test_ranks_and_reference_read_every_competition(toy_bench: Path) -> None:
    """Practice competitions have no medals: the head-to-head reads ranks and the reference."""
    blank = ungraded_report(load_competition(MEDAL_ID), toy_bench, "run failed", None)
    kaggle = replace(blank, score=0.8, valid_submission=True, has_leaderboard=True)
    practice = replace(kaggle, has_leaderboard=False, reference_score=0.5)
    error = replace(practice, is_lower_better=True, reference_score=2.0)  # an RMSE
    scores = {  # (competition, seed) -> agent -> report
        ("k", 0): {"gome": kaggle, "aide": replace(kaggle, score=0.9), "builtin": blank},
        ("p", 0): {"gome": replace(practice, score=0.4), "aide": practice, "builtin": practice},
        ("e", 0): {"gome": replace(error, score=1.5), "aide": replace(error, score=2.5)},
    }
    rows = [
        BenchRow(RunSpec(c, agent, s), FINISHED, grade, None)
        for (c, s), by_agent in scores.items()
        for agent, grade in by_agent.items()
    ]
    ranks = agent_ranks(rows)
    assert ranks == {
        "k_gome_s0": 2.0,
        "k_aide_s0": 1.0,
        "k_builtin_s0": 3.0,  # no score: last
        "p_gome_s0": 3.0,
        "p_aide_s0": 1.5,  # a tie shares places 1 and 2
        "p_builtin_s0": 1.5,
        "e_gome_s0": 1.0,  # lower error is better
        "e_aide_s0": 2.0,
    }
    assert beats_reference(kaggle) is None  # its medals say it
    assert [beats_reference(scores[("p", 0)][a]) for a in ("gome", "aide")] == [False, True]
    assert [beats_reference(scores[("e", 0)][a]) for a in ("gome", "aide")] == [True, False]
    assert beats_reference(replace(practice, score=None)) is False
    gome = summarise_agent("gome", rows, seeds=1, ranks=ranks)
    assert gome.mean_rank == pytest.approx(2.0)  # (2 + 3 + 1) / 3
    assert gome.beats_reference_pct == pytest.approx(50.0)  # e yes, p no; k not counted
    assert summarise_agent("builtin", rows, 1, ranks).beats_reference_pct == pytest.approx(100.0)


# -- state -----------------------------------------------------------------------------------
def test_state_carries_outcomes_and_refuses_other_settings(tmp_path: Path) -> None:
    plan = BenchPlan("practice", ("a",), ("builtin",), seeds=1, budget_s=60)
    state = open_state(tmp_path, plan, [Skipped("b", "data not prepared")])
    state.record(RunOutcome("a_builtin_s0", 0, 12.0, 1))
    more = replace(plan, seeds=2)  # more seeds: the same bench, extended
    again = open_state(tmp_path, more, [])
    assert again.status("a_builtin_s0") == FINISHED and again.status("a_builtin_s1") == "pending"
    assert load_state(tmp_path).plan.seeds == 2
    with pytest.raises(GomeError, match="budget_s=60, not budget_s=120.0"):
        open_state(tmp_path, replace(plan, budget_s=120.0), [])


def test_a_started_run_resumes_with_this_sessions_endpoint_and_gpu(tmp_path: Path) -> None:
    task = RunTask(
        "r", tmp_path, ("solve", "fresh"), ("solve", "--resume"), session=(("api_base", "new"),)
    )
    assert task.attempt_argv([1]) == ["solve", "fresh", "--gpu", "1"]
    config = {"competition_id": "x", "budget_s": 60, "api_base": "old", "gpu": 0}
    (tmp_path / "run.json").write_text(json.dumps({"config": config, "elapsed_s": 5.0}))
    assert task.attempt_argv([3]) == ["solve", "--resume"]
    stored = json.loads((tmp_path / "run.json").read_text())
    assert stored["config"] == config | {"api_base": "new", "gpu": 3}
    assert stored["elapsed_s"] == 5.0


# -- the local pool --------------------------------------------------------------------------
# Each recorder waits at a rendezvous until as many recorders are alive as the pool should run
# at once (or as are left to run), so an overlap the pool allows is always observed, however
# slowly the processes start on a loaded machine; a pool that ran fewer at once shows up as
# spans that do not overlap once the wait times out.
RECORDER = """
import json, os, sys, time
from pathlib import Path
log, total, want = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
live = log.parent / "live"
live.mkdir(exist_ok=True)
me = live / str(os.getpid())
start = time.monotonic()
me.touch()
deadline = start + 20
def finished():
    return len(log.read_text().splitlines()) if log.exists() else 0
while time.monotonic() < deadline and len(list(live.iterdir())) < min(want, total - finished()):
    time.sleep(0.02)
time.sleep(0.1)
gpu = sys.argv[sys.argv.index("--gpu") + 1] if "--gpu" in sys.argv else None
end = time.monotonic()
me.unlink()
with open(log, "a") as fh:
    fh.write(json.dumps({"start": start, "end": end, "gpu": gpu}) + "\\n")
"""


def recorder_tasks(
    tmp_path: Path, n: int, gpus: int = 0, cpus: float = 1.0, at_once: int = 1
) -> list[RunTask]:
    """`n` recorder runs; each waits until `at_once` of them (or all still to finish) are alive."""
    log = tmp_path / "spans.jsonl"
    argv = (sys.executable, "-c", RECORDER, str(log), str(n), str(at_once))
    return [
        RunTask(f"r{i}", tmp_path / f"r{i}", argv, argv, gpus=gpus, cpus=cpus) for i in range(n)
    ]


def spans(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "spans.jsonl").read_text().splitlines()]


def max_overlap(items: list[dict]) -> int:
    return max(sum(o["start"] < s["end"] and s["start"] < o["end"] for o in items) for s in items)


def test_local_pool_respects_cpu_and_gpu_slots(tmp_path: Path) -> None:
    started: list[str] = []
    done: list[RunOutcome] = []
    pool = LocalExecutor(cpus=8, gpu_ids=[0, 1])
    outcomes = pool.run(recorder_tasks(tmp_path, 5, gpus=1, at_once=2), started.append, done.append)
    assert sorted(o.name for o in outcomes) == [f"r{i}" for i in range(5)]
    assert all(o.ok and o.attempts == 1 for o in outcomes) and done == outcomes
    assert started == [f"r{i}" for i in range(5)]  # in the order given
    items = spans(tmp_path)
    assert max_overlap(items) == 2  # two GPUs: two runs at a time
    for gpu in ("0", "1"):  # a GPU is never shared
        mine = [s for s in items if s["gpu"] == gpu]
        assert mine and max_overlap(mine) == 1
    assert {s["gpu"] for s in items} == {"0", "1"}
    (tmp_path / "spans.jsonl").unlink()
    LocalExecutor(cpus=3).run(recorder_tasks(tmp_path, 4, cpus=1.5, at_once=2), print, print)
    assert max_overlap(spans(tmp_path)) == 2  # 2 x 1.5 CPUs fit in 3
    (tmp_path / "spans.jsonl").unlink()
    LocalExecutor(cpus=8, max_parallel=1).run(recorder_tasks(tmp_path, 3), print, print)
    assert max_overlap(spans(tmp_path)) == 1
    with pytest.raises(GomeError, match="offers 0"):
        LocalExecutor(cpus=8).run(recorder_tasks(tmp_path, 1, gpus=1), print, print)


def test_a_run_that_crashes_or_is_killed_fails_alone(tmp_path: Path) -> None:
    crash = (sys.executable, "-c", "print('boom: bad things'); raise SystemExit(3)")
    killed = (sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    tasks = [
        RunTask("crash", tmp_path / "crash", crash, crash),
        RunTask("killed", tmp_path / "killed", killed, killed),
        *recorder_tasks(tmp_path, 1),
    ]
    outcomes = {o.name: o for o in LocalExecutor(cpus=1).run(tasks, print, print)}
    assert outcomes["crash"].returncode == 3 and "exit 3: " in outcomes["crash"].message
    assert "boom: bad things" in outcomes["crash"].message
    assert (
        outcomes["killed"].returncode == -9 and "killed by signal 9" in outcomes["killed"].message
    )
    assert outcomes["r0"].ok
    attempt = json.loads((tmp_path / "crash" / ATTEMPTS_FILE).read_text())
    assert attempt["argv"] == list(crash)


# -- end to end --------------------------------------------------------------------------------
BUDGET_S = 20.0  # a run stops proposing with under 15 s left: one or two short trials


def bench(*args: str, server: str) -> subprocess.CompletedProcess:
    return gome_with_scripted_model("bench", *args, server=server, timeout=300)


def journal_of(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]


def medal_in(grade: dict) -> str:
    medals = [m for m in ("gold", "silver", "bronze") if grade[f"{m}_medal"]]
    return medals[0] if medals else "above median" if grade["above_median"] else "-"


def test_bench_report_matches_the_run_folders_and_rerun_resumes(
    toy_bench: Path, scripted_server: str
) -> None:
    """The CI evidence: builtin and AIDE (against the scripted server, not the local model)
    over 2 seeds; the report's numbers are recomputed from each run's own files."""
    folder = toy_bench / "bench"
    split = toy_bench / "ids.txt"
    split.write_text(f"{MEDAL_ID}\n{KAGGLE_ID}\n")
    flags = [
        *("--split", str(split), "--agents", "builtin,aide", "--seeds", "2"),
        *("--minutes", str(BUDGET_S / 60), "--trial-timeout", "30", "--output-dir", str(folder)),
    ]
    done = bench(*flags, server=scripted_server)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"skipped {KAGGLE_ID}: data not prepared" in done.stdout

    state = json.loads((folder / BENCH_FILE).read_text())
    names = {f"{MEDAL_ID}_{a}_s{s}" for a in ("builtin", "aide") for s in (0, 1)}
    assert set(state["runs"]) == names
    assert all(run["status"] == FINISHED for run in state["runs"].values())
    assert [s["competition_id"] for s in state["skipped"]] == [KAGGLE_ID]

    grades = {name: json.loads((folder / name / "grade.json").read_text()) for name in names}
    rows = {row["run"]: row for row in read_csv_rows(folder / "report.csv")}
    assert set(rows) == names
    for name, row in rows.items():
        grade, trials = grades[name], journal_of(folder / name)
        assert float(row["score"]) == grade["score"]
        assert row["medal"] == medal_in(grade)
        for key in ("any_medal", "gold_medal", "bronze_medal", "above_median", "valid_submission"):
            assert row[key] == str(grade[key]), (name, key)
        own = [t for t in trials if t["operator"] not in HARNESS_OPERATORS]
        assert int(row["trials"]) == len(own) > 0
        calls = ledger_of(folder / name)
        assert int(row["tokens"]) == sum(c["prompt_tokens"] + c["completion_tokens"] for c in calls)
        assert int(row["tokens"]) >= sum(t["tokens"] for t in trials)
        assert grade["agent"] == row["agent"]
    for seed in (0, 1):  # the head-to-head rank of the two agents' runs (accuracy: higher wins)
        pair = [rows[f"{MEDAL_ID}_{agent}_s{seed}"] for agent in ("builtin", "aide")]
        losses = [-float(r["score"]) if r["score"] else math.inf for r in pair]
        builtin_worse, aide_worse = losses[0] > losses[1], losses[1] > losses[0]
        expected = [1.5, 1.5] if losses[0] == losses[1] else [1 + builtin_worse, 1 + aide_worse]
        assert [float(r["rank"]) for r in pair] == expected, losses

    report = json.loads((folder / "report.json").read_text())
    assert [s["competition_id"] for s in report["skipped"]] == [KAGGLE_ID]
    for agent in ("builtin", "aide"):
        mine = [grades[f"{MEDAL_ID}_{agent}_s{s}"] for s in (0, 1)]
        summary = report["agents"][agent]
        per_seed = [100.0 * g["any_medal"] for g in mine]  # one competition per seed
        assert summary["any_medal_per_seed"] == per_seed
        assert summary["any_medal_pct"] == pytest.approx(sum(per_seed) / 2)
        assert summary["any_medal_sem"] == pytest.approx(abs(per_seed[0] - per_seed[1]) / 2)
        for medal in ("gold", "silver", "bronze"):
            assert summary[medal] == sum(g[f"{medal}_medal"] for g in mine)
        assert summary["valid_submission_pct"] == 50.0 * sum(g["valid_submission"] for g in mine)
        assert summary["above_median_pct"] == 50.0 * sum(g["above_median"] for g in mine)
        tokens = [
            sum(
                c["prompt_tokens"] + c["completion_tokens"]
                for c in ledger_of(folder / g["run_dir"])
            )
            for g in mine
        ]
        assert summary["mean_tokens"] == pytest.approx(sum(tokens) / 2)
        assert (summary["mean_tokens"] > 0) == (agent == "aide")
        for seed, grade in enumerate(mine):
            mle = json.loads(
                (folder / "grading_reports" / f"{agent}_s{seed}_grading_report.json").read_text()
            )
            assert mle["total_runs"] == 1 and mle["total_medals"] == int(grade["any_medal"])
            assert mle["competition_reports"][0]["score"] == grade["score"]
    markdown = (folder / "report.md").read_text()
    assert "| builtin |" in markdown and f"| {MEDAL_ID} |" in markdown
    assert f"- {KAGGLE_ID}: data not prepared" in markdown
    for png in (folder / "any_medal.png", folder / "progress" / f"{MEDAL_ID}.png"):
        assert png.read_bytes()[:8] == PNG_SIGNATURE
        with Image.open(png) as image:
            assert image.size[0] > 100 and image.size[1] > 100

    # one run cut short (as if the bench had been stopped with time left for one more trial:
    # 19 s, less the final re-runs' reserve, is over the 15 s a trial needs to start)
    unfinished = folder / f"{MEDAL_ID}_builtin_s1"
    state["runs"][unfinished.name]["status"] = "interrupted"
    (folder / BENCH_FILE).write_text(json.dumps(state))
    config = json.loads((unfinished / "run.json").read_text())
    (unfinished / "run.json").write_text(json.dumps(config | {"elapsed_s": BUDGET_S - 19}))
    others = names - {unfinished.name}
    before = {n: (folder / n / "journal.jsonl").read_bytes() for n in others}
    graded = {n: (folder / n / "grade.json").read_bytes() for n in others}
    old = journal_of(unfinished)
    started = time.monotonic()
    again = bench(*flags, server=scripted_server)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "3 already finished" in again.stdout
    for name in others:
        assert (folder / name / "journal.jsonl").read_bytes() == before[name], name
        assert (folder / name / "grade.json").read_bytes() == graded[name], name
    new = journal_of(unfinished)
    assert new[: len(old)] == old and len(new) > len(old), "the run did not resume"
    attempts = (unfinished / ATTEMPTS_FILE).read_text().splitlines()
    assert len(attempts) == 2 and "--resume" in json.loads(attempts[1])["argv"]
    row = next(r for r in read_csv_rows(folder / "report.csv") if r["run"] == unfinished.name)
    assert row["status"] == FINISHED and int(row["trials"]) > 0
    assert time.monotonic() - started < BUDGET_S + 30  # only the one run ran


def test_gome_runs_without_its_coworker_so_agents_differ_only_in_search(tmp_path: Path) -> None:
    plan = BenchPlan("practice", ("a",), ("gome", "aide"), seeds=1, budget_s=60, model="m")
    gome_run = build_task(plan, RunSpec("a", "gome", 0), tmp_path, None)
    aide_run = build_task(plan, RunSpec("a", "aide", 0), tmp_path, None)
    assert "--no-coworker" in gome_run.attempt_argv([])
    assert "--no-coworker" not in aide_run.attempt_argv([])
    assert gome_run.attempt_argv([])[-2:] == aide_run.attempt_argv([])[-2:] == ["--model", "m"]


def test_a_step_cap_reaches_every_run_of_the_bench(tmp_path: Path) -> None:
    plan = BenchPlan("practice", ("a",), ("gome", "builtin"), seeds=1, budget_s=60, max_steps=5)
    for agent in plan.agents:
        argv = build_task(plan, RunSpec("a", agent, 0), tmp_path, None).attempt_argv([])
        assert argv[argv.index("--max-steps") + 1] == "5"
