"""Comparing estimators over many datasets (Demšar 2006, JMLR 7:1-30).

Ranks per dataset (1 = best, ties share the mean rank, a failed estimator ranks last), the
Friedman test on them, Nemenyi's critical difference for mean ranks, and for each pair a
per-dataset paired test over the same folds (Wilcoxon signed-rank) giving wins, ties and
losses, plus a Wilcoxon test across datasets on the mean scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05


def rank_table(means: pd.DataFrame) -> pd.DataFrame:
    """Ranks of each column (estimator) within each row (dataset); higher scores are better.

    NaN (the estimator failed on that dataset) ranks last, tied with other failures.
    """
    filled = means.astype(float).fillna(-np.inf).to_numpy()
    ranks = np.vstack([stats.rankdata(-row, method="average") for row in filled])
    return pd.DataFrame(ranks, index=means.index, columns=means.columns)


@dataclass(frozen=True)
class Friedman:
    statistic: float
    p_value: float


def friedman(means: pd.DataFrame) -> Friedman | None:
    """scipy's Friedman chi-square over datasets; None with fewer than 3 estimators or
    2 datasets, where it is undefined."""
    if means.shape[1] < 3 or means.shape[0] < 2:
        return None
    filled = means.astype(float).fillna(-np.inf).to_numpy()
    # scipy ranks the raw values itself; -inf keeps failures last
    result = stats.friedmanchisquare(*filled.T)
    return Friedman(float(result.statistic), float(result.pvalue))


def nemenyi_cd(k: int, n: int, alpha: float = ALPHA) -> float:
    """Critical difference of mean ranks for k estimators on n datasets: q_alpha
    sqrt(k(k+1)/(6n)), q_alpha being the studentized range quantile over sqrt(2)."""
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / (6 * n)))


def nemenyi_groups(mean_ranks: pd.Series, cd: float) -> list[tuple[str, ...]]:
    """Maximal runs of estimators (sorted by mean rank) spanning less than `cd`: the groups a
    critical-difference diagram joins with a bar, since Nemenyi cannot tell them apart."""
    ordered = mean_ranks.sort_values()
    names, values = list(ordered.index), ordered.to_numpy()
    groups: list[tuple[int, int]] = []
    for i in range(len(values)):
        j = max(j for j in range(i, len(values)) if values[j] - values[i] < cd)
        if j > i and not (groups and groups[-1][1] >= j):
            groups.append((i, j))
    return [tuple(names[i : j + 1]) for i, j in groups]


@dataclass(frozen=True)
class PairRecord:
    """`a` against `b`: datasets won, tied and lost by `a`, and the across-datasets test."""

    a: str
    b: str
    wins: int
    ties: int
    losses: int
    p_value: float | None  # Wilcoxon on the per-dataset mean scores; None if all equal


def _fold_test(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided p of the Wilcoxon signed-rank test on paired fold scores (1.0 if equal)."""
    if np.allclose(x, y):
        return 1.0
    return float(stats.wilcoxon(x, y).pvalue)


def pair_record(
    a: str, b: str, folds_a: dict[str, np.ndarray], folds_b: dict[str, np.ndarray]
) -> PairRecord:
    """Per dataset: a win (loss) when `a`'s folds beat (trail) `b`'s at level ALPHA, else a
    tie; a dataset where one side failed (any NaN fold) is lost by that side."""
    wins = ties = losses = 0
    mean_a, mean_b = [], []
    for name in folds_a:
        x, y = folds_a[name], folds_b[name]
        bad_a, bad_b = bool(np.isnan(x).any()), bool(np.isnan(y).any())
        if bad_a or bad_b:
            wins += int(bad_b and not bad_a)
            losses += int(bad_a and not bad_b)
            ties += int(bad_a and bad_b)
            continue
        mean_a.append(x.mean())
        mean_b.append(y.mean())
        if _fold_test(x, y) < ALPHA:
            wins += int(x.mean() > y.mean())
            losses += int(x.mean() < y.mean())
        else:
            ties += 1
    p = None if np.allclose(mean_a, mean_b) else float(stats.wilcoxon(mean_a, mean_b).pvalue)
    return PairRecord(a, b, wins, ties, losses, p)


@dataclass(frozen=True)
class Comparison:
    """Everything the report says about one task's estimators."""

    means: pd.DataFrame  # datasets x estimators, NaN where an estimator failed
    ranks: pd.DataFrame
    friedman: Friedman | None
    cd: float | None

    @property
    def mean_ranks(self) -> pd.Series:
        return self.ranks.mean(axis=0).sort_values()


def compare(means: pd.DataFrame) -> Comparison:
    k, n = means.shape[1], means.shape[0]
    cd = nemenyi_cd(k, n) if k >= 2 and n >= 1 else None
    return Comparison(means, rank_table(means), friedman(means), cd)
