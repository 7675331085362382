"""The journal: durable appends, tolerant reads after a kill, views that respect flags."""

from __future__ import annotations

from pathlib import Path

from gome.direction import Direction
from gome.journal import Journal, Trial
from tests.conftest import make_trial as trial_record


def make_trial(trial_id: str, score: float | None, label: str = "ok", flags=()) -> Trial:
    return trial_record(
        trial_id,
        hypothesis="h",
        code_hash="abc",
        label=label,
        validation_score=score,
        flags=tuple(flags),
    )


def test_append_is_durable_and_reloads(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append(make_trial("t0001", 0.7))
    journal.append(make_trial("t0002", 0.8, flags=("copy-of-sample-submission",)))
    reloaded = Journal(tmp_path)
    assert [t.id for t in reloaded] == ["t0001", "t0002"]
    assert reloaded.get("t0002").flags == ("copy-of-sample-submission",)
    assert reloaded.get("t0001") == journal.get("t0001")


def test_line_cut_by_a_kill_is_ignored(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append(make_trial("t0001", 0.7))
    with journal.path.open("a") as fh:
        fh.write('{"id": "t0002", "parent_ids": [')  # killed mid-write
    assert [t.id for t in Journal(tmp_path)] == ["t0001"]


def test_best_skips_flagged_and_failed_trials(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append(make_trial("t0001", 0.70))
    journal.append(make_trial("t0002", 0.99, flags=("known-leak: uses x",)))
    journal.append(make_trial("t0003", 0.95, label="invalid-submission"))
    journal.append(make_trial("t0004", 0.75))
    best = journal.best(Direction.HIGHER)
    assert best is not None and best.id == "t0004"
    assert journal.best(Direction.LOWER).id == "t0001"
    assert {t.id for t in journal.failed} == {"t0002", "t0003"}


def test_direction_decides_what_is_better() -> None:
    assert Direction.HIGHER.is_better(2.0, 1.0)
    assert Direction.LOWER.is_better(1.0, 2.0)
    assert not Direction.HIGHER.is_better(1.0, 1.0)
