"""A rare but telling category or value keeps a bin of its own below the minimum share.

In the mortgage data of benchmarks/bench_peers_unseen.py, the 2 % of applicants refused
mortgage insurance are denied 92 % of the time against 10 % for the rest; merging them
into the other level to meet a 3 % minimum share dropped the strongest feature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from clearline import Scorecard
from clearline.core.scoring import merging
from clearline.core.scoring.binning import (
    fit_categorical,
    fit_numeric,
    prebin_edges,
    single_valued,
)


def _flagged(n: int, share: float, flag_rate: float, seed: int = 0) -> tuple:
    """A 0/1 flag set on ``share`` of the rows, whose event rate is ``flag_rate``
    (10 % elsewhere), plus a weak continuous feature."""
    rng = np.random.default_rng(seed)
    flag = rng.random(n) < share
    y = np.where(flag, rng.random(n) < flag_rate, rng.random(n) < 0.10).astype(np.int64)
    weak = rng.normal(size=n) + 0.3 * y
    return flag, weak, y


def _categorical(flag: np.ndarray, y: np.ndarray) -> tuple:
    labels = np.array(["no", "yes"], dtype=object)
    codes = flag.astype(np.int64)
    return fit_categorical("insurance", codes, labels, y, max_bins=10, min_share=0.03)


def test_g_apart_is_the_likelihood_ratio_statistic_of_the_two_by_two_table() -> None:
    e1, n1, e2, n2 = 44.0, 48.0, 242.0, 2332.0
    table = [[e1, n1 - e1], [e2, n2 - e2]]
    expected = chi2_contingency(table, correction=False, lambda_="log-likelihood")[0]
    got = merging.g_apart(np.array([e1]), np.array([n1]), np.array([e2]), np.array([n2]))[0]
    assert got == pytest.approx(expected, rel=1e-9)
    assert merging.keeps_apart(e1, n1, e2, n2)
    assert not merging.keeps_apart(5.0, 48.0, 242.0, 2332.0)  # the same rate: no evidence


def test_a_rare_category_with_a_plainly_different_rate_keeps_its_own_bin() -> None:
    flag, _, y = _flagged(4000, share=0.02, flag_rate=0.9)
    b, idx = _categorical(flag, y)
    assert b.n_regular == 2
    assert ["yes"] in b.groups
    assert b.iv > 0.3
    assert np.array_equal(np.bincount(idx, minlength=len(b.counts)), b.counts)


def test_a_rare_category_at_the_common_rate_is_still_merged() -> None:
    flag, _, y = _flagged(4000, share=0.02, flag_rate=0.10)
    b, _ = _categorical(flag, y)
    assert b.n_regular == 1


def test_without_the_test_the_rare_category_is_merged_away(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(merging, "KEEP_APART_G", np.inf)
    flag, _, y = _flagged(4000, share=0.02, flag_rate=0.9)
    b, _ = _categorical(flag, y)
    assert b.n_regular == 1


def test_a_rare_numeric_value_keeps_its_own_bin_but_a_range_obeys_the_share() -> None:
    flag, weak, y = _flagged(4000, share=0.02, flag_rate=0.9)
    b, _ = fit_numeric(
        "flag", flag.astype(float), y, n_prebins=20, max_bins=10, min_share=0.03, monotonic="auto"
    )
    assert b.n_regular == 2 and b.counts[1] == flag.sum()
    # A steep continuous feature: its ranges keep the minimum share however different.
    x = weak + 3.0 * y
    c, _ = fit_numeric("x", x, y, n_prebins=20, max_bins=10, min_share=0.2, monotonic="auto")
    assert np.all(c.counts[: c.n_regular] >= 0.2 * len(x))


def test_few_distinct_values_are_pre_binned_by_value_many_by_quantile() -> None:
    rng = np.random.default_rng(0)
    counts = rng.choice(8, size=50_000, p=[0.6, 0.2, 0.1, 0.05, 0.03, 0.015, 0.004, 0.001])
    assert prebin_edges(counts.astype(float), 20).tolist() == [1, 2, 3, 4, 5, 6, 7]
    tied = rng.integers(0, 1000, size=50_000).astype(float)  # ties, but 1,000 values
    edges = prebin_edges(tied, 20)
    assert len(edges) == 19 and np.all(np.diff(edges) > 0)


def test_single_valued_flags_the_pre_bins_of_one_value() -> None:
    x = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.5])
    edges = np.array([1.0, 2.0])
    idx = np.searchsorted(edges, x, side="right")
    n = np.bincount(idx, minlength=3)
    assert single_valued(x, edges, idx, n).tolist() == [True, True, False]


def test_the_bagged_scorecard_keeps_the_rare_bin_and_scores_it_lowest() -> None:
    flag, weak, y = _flagged(2400, share=0.02, flag_rate=0.9, seed=1)
    X = pd.DataFrame({"insurance": np.where(flag, "denied", "ok"), "weak": weak})
    sc = Scorecard(random_state=0).fit(X, y)
    assert sc.n_members_ > 1 and "insurance" in sc.features_
    table = sc.points_table()
    rows = table[table.feature == "insurance"].set_index("label")
    assert rows.loc["denied", "count"] == flag.sum()
    assert rows.loc["denied", "points"] < rows.loc["ok", "points"] - 50
