"""The evaluation suite's statistics on a crafted score table checked by hand, and a real
(tiny) evaluation in the sandbox: two reference models and a candidate on two bundled sets."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from omega.candidate import Candidate
from omega.datasets import prepare, resolve_names
from omega.evaluate import Entrant, Scores, Suite, evaluate
from omega.registry import judge
from omega.report import mean_table, summarise, write_report
from omega.stats import compare, nemenyi_cd, nemenyi_groups, pair_record, rank_table
from tests.test_omega_checks import GOOD

# datasets x estimators; C failed on d4
TABLE = pd.DataFrame(
    {"A": [0.90, 0.85, 0.90, 0.70], "B": [0.80, 0.86, 0.80, 0.60], "C": [0.70, 0.70, 0.85, np.nan]},
    index=["d1", "d2", "d3", "d4"],
)


def test_ranks_friedman_and_critical_difference_by_hand() -> None:
    ranks = rank_table(TABLE)
    assert ranks.to_numpy().tolist() == [[1, 2, 3], [2, 1, 3], [1, 3, 2], [1, 2, 3]]
    comparison = compare(TABLE)
    assert comparison.mean_ranks.to_dict() == {"A": 1.25, "B": 2.0, "C": 2.75}
    # chi² = 12N/(k(k+1)) (Σ R_j² - k(k+1)²/4) = 4 (13.125 - 12) = 4.5, 2 degrees of freedom
    assert comparison.friedman.statistic == pytest.approx(4.5)
    assert comparison.friedman.p_value == pytest.approx(math.exp(-4.5 / 2))
    # Demšar's table: q_0.05 = 2.343 for k = 3; CD = 2.343 sqrt(3·4 / (6·4))
    assert comparison.cd == pytest.approx(2.343 * math.sqrt(0.5), abs=1e-3)
    assert nemenyi_cd(10, 30) == pytest.approx(3.164 * math.sqrt(110 / 180), abs=1e-3)
    assert nemenyi_groups(comparison.mean_ranks, comparison.cd) == [("A", "B", "C")]
    assert nemenyi_groups(comparison.mean_ranks, 1.0) == [("A", "B"), ("B", "C")]
    assert compare(TABLE[["A", "B"]]).friedman is None


def test_wins_ties_losses_use_a_paired_test_per_dataset() -> None:
    base = np.linspace(0.70, 0.79, 10)
    a = {"d1": base + 0.05, "d2": base, "d3": base.copy(), "d4": base, "d5": base + 0.001}
    b = {"d1": base, "d2": base, "d3": base, "d4": base.copy(), "d5": base}
    a["d3"][0] = np.nan  # a failed on d3
    b["d4"][3] = np.nan  # b failed on d4
    record = pair_record("a", "b", a, b)
    # d1: 10 of 10 folds better, Wilcoxon p = 2/1024 -> win; d2 equal -> tie;
    # d3 a failed -> loss; d4 b failed -> win; d5 better by 0.001 on every fold -> win
    assert (record.wins, record.ties, record.losses) == (3, 1, 1)
    assert stats.wilcoxon(a["d1"], b["d1"]).pvalue == pytest.approx(2 / 1024)


def _scores(name: str, means: list[float], baseline: bool) -> Scores:
    folds = {f"d{i}": [m, m] for i, m in enumerate(means)}
    status = {d: "ok" if not np.isnan(v[0]) else "error" for d, v in folds.items()}
    return Scores(name, "classification", folds, status, {}, 1.0, baseline)


def test_acceptance_needs_every_dataset_and_the_median_baseline_rank() -> None:
    baselines = [_scores(n, [s, s, s], True) for n, s in (("b1", 0.9), ("b2", 0.8), ("b3", 0.7))]
    assert judge(_scores("good", [0.85, 0.85, 0.85], False), baselines).accepted
    weak = judge(_scores("weak", [0.75, 0.75, 0.75], False), baselines)
    assert (
        not weak.accepted and weak.mean_rank == 3 and weak.median_baseline_rank == 2
    )  # b: 1, 2, 4
    broken = judge(_scores("broken", [0.95, 0.95, np.nan], False), baselines)
    assert not broken.accepted and "failed on d2" in broken.reason


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GOME_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_tiny_suite_in_the_sandbox_end_to_end(cache: Path, tmp_path: Path) -> None:
    suite = Suite(
        tuple(prepare(resolve_names(["iris", "wine"]))), n_repeats=1, fit_timeout_s=30, n_jobs=1
    )
    entrants = [
        Entrant("logistic", "classification", baseline="logistic"),
        Entrant("knn", "classification", baseline="knn"),
        Entrant.of_candidate("centroid", Candidate("c01", "classification", GOOD, "test")),
    ]
    scores = [evaluate(e, suite, tmp_path / "work") for e in entrants]
    assert all(s.valid for s in scores)
    assert all(len(s.folds[d]) == 2 for s in scores for d in ("iris", "wine"))
    assert all(0.5 < s.mean(d) <= 1.0 for s in scores for d in ("iris", "wine"))

    again = evaluate(entrants[0], suite, tmp_path / "elsewhere")  # reference scores are cached
    assert again == scores[0] and not (tmp_path / "elsewhere").exists()

    [result] = summarise({"classification": scores})
    assert result.comparison.ranks.equals(rank_table(mean_table(scores)))
    assert [(r.a, r.b) for r in result.records] == [("centroid", "logistic"), ("centroid", "knn")]
    report = write_report([result], tmp_path / "out", "tiny")
    for name in ("report.md", "scores.csv", "ranks.csv", "wtl.csv"):
        assert (tmp_path / "out" / name).is_file()
    assert (tmp_path / "out" / "cd_classification.png").read_bytes()[:4] == b"\x89PNG"
    assert "| centroid |" in report.read_text()
    scores_csv = pd.read_csv(tmp_path / "out" / "scores.csv")
    assert len(scores_csv) == 6 and set(scores_csv["status"]) == {"ok"}


def test_a_crashing_candidate_is_invalid_not_fatal(cache: Path, tmp_path: Path) -> None:
    suite = Suite(tuple(prepare(resolve_names(["iris"]))), n_repeats=1, n_jobs=1)
    broken = GOOD.replace(
        "        self.mean_ = X.mean(axis=0)", "        raise RuntimeError('boom')"
    )
    entrant = Entrant.of_candidate("broken", Candidate("c01", "classification", broken, "test"))
    scores = evaluate(entrant, suite, tmp_path / "work")
    assert not scores.valid and scores.status == {"iris": "error"}
    assert "boom" in scores.errors["iris"]
