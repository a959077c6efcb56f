"""Pre-bin cuts chosen by the outcome, where ties made a pre-bin wide (``prebins.py``).

The data mimic the Taiwanese card bills of benchmarks/bench_peers_unseen.py: 17 % of
the rows are exactly zero and default often, small positive values rarely, larger
values in between. Quantile pre-bins end the spike's pre-bin at the next quantile,
deep in the small values.
"""

from __future__ import annotations

import numpy as np
import pytest

from clearline.core.scoring import binning, prebins
from clearline.core.scoring.metrics import auc
from clearline.core.scoring.prebins import MIN_PIECE_SHARE, informative_edges

SETTINGS = dict(n_prebins=20, max_bins=10, min_share=0.03, monotonic="auto")


def _spike(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    zero = rng.random(n) < 0.17
    x = np.where(zero, 0.0, rng.random(n))
    rate = np.where(zero, 0.35, np.where(x < 0.33, 0.03, 0.20))
    return x, (rng.random(n) < rate).astype(np.int64)


def _noise(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=5_000), (rng.random(5_000) < 0.2).astype(np.int64)


def test_the_spike_ends_at_a_cut_of_its_own() -> None:
    x, y = _spike(20_000, 0)
    quantile = binning.prebin_edges(x, 20)
    assert not ((quantile > 0) & (quantile < 0.03)).any()  # the spike's pre-bin runs on
    edges = binning.fit_prebins(x, y, 20)[0]
    assert ((edges > 0) & (edges < 0.01)).any()
    assert set(quantile.tolist()) <= set(edges.tolist())  # the quantile edges stay
    assert np.isin(edges, x).all()  # observed values: no pre-bin is empty
    # The change point at 0.33 lies in a pre-bin of ordinary width: not cut again.
    assert len(edges) == len(quantile) + 1


def test_no_wide_prebin_no_cut() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=20_000)
    y = (rng.random(20_000) < np.where(x < 0.1, 0.05, 0.30)).astype(np.int64)
    assert len(informative_edges(x, y, 20))  # a strong change, between quantile edges
    assert binning.fit_prebins(x, y, 20)[0].tolist() == binning.prebin_edges(x, 20).tolist()


def test_outcome_cuts_lift_holdout_auc(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = _spike(20_000, 0)
    xt, yt = _spike(20_000, 1)

    def holdout_auc() -> float:
        b, _ = binning.fit_numeric("bill", x, y, **SETTINGS)
        return auc(yt, -b.woe[b.index_numeric(xt)])

    with_cuts = holdout_auc()
    monkeypatch.setattr(binning, "outcome_cuts", lambda *a: np.empty(0))
    assert with_cuts > holdout_auc() + 0.01


def test_pieces_keep_the_minimum_share_and_the_count() -> None:
    x, y = _spike(20_000, 0)
    cuts = informative_edges(x, y, 20)
    pieces = np.bincount(np.searchsorted(cuts, x, side="right"))
    assert pieces.min() >= MIN_PIECE_SHARE * len(x)
    assert len(informative_edges(x, y, 2)) == 1


def test_noise_gets_no_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    with_cut = sum(len(informative_edges(*_noise(seed), 20)) > 0 for seed in range(40))
    assert with_cut <= 2
    # The chi-square test is what holds them back: without it most noise is cut.
    monkeypatch.setattr(prebins, "KEEP_APART_G", 0.0)
    assert sum(len(informative_edges(*_noise(seed), 20)) > 0 for seed in range(40)) >= 30


def test_few_values_keep_one_prebin_each() -> None:
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 6, size=5_000).astype(float)
    y = (rng.random(5_000) < 0.1 + 0.05 * counts).astype(np.int64)
    assert binning.fit_prebins(counts, y, 20)[0].tolist() == [1, 2, 3, 4, 5]


def test_no_finite_value_no_cut() -> None:
    assert informative_edges(np.empty(0), np.empty(0, dtype=np.int64), 20).size == 0
    assert binning.fit_prebins(np.array([np.inf, -np.inf]), np.array([0, 1]), 20)[0].size == 0
