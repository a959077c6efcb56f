"""Binning of single features: monotonic trend, missing bin, minimum share, categories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearline.core.scoring.binning import FeatureBinning, fit_categorical, fit_numeric
from clearline.core.scoring.frame import Table
from clearline.core.scoring.merging import WOE_ALPHA, enforce_size, merge_costs, pav, woe_iv


def _risky_numeric(n: int = 5000, seed: int = 0, sign: float = 1.0) -> tuple:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(sign * 1.2 * x - 1.0)))
    y = (rng.random(n) < p).astype(float)
    x[rng.random(n) < 0.07] = np.nan
    return x, y


def _fit(x: np.ndarray, y: np.ndarray, **kw: object) -> tuple[FeatureBinning, np.ndarray]:
    args = dict(n_prebins=20, max_bins=10, min_share=0.05, monotonic="auto") | kw
    return fit_numeric("x", x, y, **args)  # type: ignore[arg-type]


def _regular_rates(b: FeatureBinning) -> np.ndarray:
    k = b.n_regular
    return b.events[:k] / b.counts[:k]


def test_numeric_bins_have_a_strictly_increasing_event_rate_when_risk_rises() -> None:
    x, y = _risky_numeric(sign=1.0)
    b, _ = _fit(x, y)
    rates = _regular_rates(b)
    assert b.trend == "ascending"
    assert len(rates) >= 3
    assert np.all(np.diff(rates) > 0)


def test_auto_trend_picks_descending_when_risk_falls_with_the_feature() -> None:
    x, y = _risky_numeric(sign=-1.0, seed=1)
    b, _ = _fit(x, y)
    assert b.trend == "descending"
    assert np.all(np.diff(_regular_rates(b)) < 0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), trend=st.sampled_from(["ascending", "descending"]))
def test_a_forced_trend_is_monotonic_even_on_pure_noise(seed: int, trend: str) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 50, size=600).astype(float)
    y = (rng.random(600) < 0.3).astype(float)
    b, _ = _fit(x, y, monotonic=trend)
    diffs = np.diff(_regular_rates(b))
    assert np.all(diffs > 0) if trend == "ascending" else np.all(diffs < 0)


def test_missing_values_get_a_bin_of_their_own() -> None:
    x, y = _risky_numeric()
    b, idx = _fit(x, y)
    k = b.n_regular
    assert b.counts[k] == np.isnan(x).sum()
    assert b.events[k] == y[np.isnan(x)].sum()
    assert np.all(idx[np.isnan(x)] == k)
    assert np.all(idx[~np.isnan(x)] < k)
    assert b.labels()[k] == "(missing)"


def test_the_training_bin_indices_agree_with_looking_the_values_up_again() -> None:
    x, y = _risky_numeric(seed=3)
    b, idx = _fit(x, y)
    assert np.array_equal(idx, b.index_numeric(x))
    assert np.array_equal(np.bincount(idx, minlength=len(b.counts)), b.counts)


def test_bins_are_half_open_intervals_at_the_edges() -> None:
    x, y = _risky_numeric()
    b, _ = _fit(x, y)
    e = b.edges
    # A value exactly on an edge opens the next bin; just below stays in the previous.
    assert np.array_equal(b.index_numeric(e), np.arange(1, len(e) + 1))
    assert np.array_equal(b.index_numeric(np.nextafter(e, -np.inf)), np.arange(len(e)))


@pytest.mark.parametrize("share", [0.05, 0.1, 0.2])
def test_every_regular_numeric_bin_holds_at_least_the_minimum_share(share: float) -> None:
    x, y = _risky_numeric(n=3000, seed=2)
    b, _ = _fit(x, y, min_share=share)
    assert np.all(b.counts[: b.n_regular] >= share * len(x))


def test_max_bins_caps_the_number_of_regular_bins() -> None:
    x, y = _risky_numeric(n=20000)
    b, _ = _fit(x, y, max_bins=3, min_share=0.0)
    assert b.n_regular == 3


def test_a_feature_with_one_value_gets_one_bin_and_no_information() -> None:
    y = np.array([0, 1, 0, 1, 0, 0], dtype=float)
    b, _ = _fit(np.ones(6), y)
    assert b.n_regular == 1
    assert b.iv == pytest.approx(0.0)


def test_pool_adjacent_violators_merges_exactly_the_violating_neighbours() -> None:
    # Rates .1 .5 .2 .8: only .5 > .2 violates an ascending trend -> pool bins 1 and 2.
    e = np.array([1, 5, 2, 8])
    n = np.array([10, 10, 10, 10])
    assert pav(e, n, ascending=True).tolist() == [0, 1, 3]
    # Descending: .1,.5 pool to .3; .3 > .2 holds; .2,.8 pool to .5 > .3, so all pool.
    assert pav(e, n, ascending=False).tolist() == [0]


def test_woe_is_the_log_of_the_good_share_over_the_bad_share_with_smoothing() -> None:
    events = np.array([10, 30, 0])
    counts = np.array([100, 100, 0])  # the third bin is empty
    woe, iv = woe_iv(events, counts)
    a = WOE_ALPHA
    pg0, pb0 = (90 + a) / (160 + 2 * a), (10 + a) / (40 + 2 * a)
    assert woe[0] == pytest.approx(np.log(pg0 / pb0))
    assert iv[0] == pytest.approx((pg0 - pb0) * np.log(pg0 / pb0))
    assert woe[2] == 0.0 and iv[2] == 0.0  # an empty bin is neutral


def test_merging_neighbours_never_gains_information_value() -> None:
    rng = np.random.default_rng(5)
    n = rng.integers(1, 200, size=30).astype(float)
    e = np.floor(n * rng.random(30))
    assert np.all(merge_costs(e, n, e.sum(), n.sum()) >= -1e-12)


def test_enforce_size_merges_the_small_bin_into_a_neighbour() -> None:
    e = np.array([10, 1, 30, 40])
    n = np.array([100, 5, 100, 100])
    starts = enforce_size(
        e, n, np.arange(4), min_count=50, max_bins=10, total_e=81.0, total_n=305.0
    )
    assert len(starts) == 3
    assert starts[0] == 0


def _cats(values: list[object]) -> tuple[np.ndarray, np.ndarray]:
    return Table(pd.DataFrame({"c": pd.Series(values, dtype=object)})).categories("c")


def test_rare_categories_are_pooled_and_groups_are_ordered_by_event_rate() -> None:
    values = ["a"] * 400 + ["b"] * 400 + ["c"] * 180 + ["r1"] * 10 + ["r2"] * 10
    y = np.array([0.1] * 400 + [0.5] * 400 + [0.3] * 180 + [0.0] * 20)
    rng = np.random.default_rng(0)
    yb = (rng.random(len(values)) < y).astype(float)
    codes, labels = _cats(values)
    b, idx = fit_categorical("c", codes, labels, yb, max_bins=10, min_share=0.05)
    flat = [c for g in b.groups for c in g]
    assert sorted(flat) == ["a", "b", "c", "r1", "r2"]
    assert not any(g == ["r1"] or g == ["r2"] for g in b.groups)  # never alone
    assert np.all(b.counts[: b.n_regular] >= 0.05 * len(values))
    assert np.all(np.diff(_regular_rates(b)) >= 0)
    assert np.array_equal(np.bincount(idx, minlength=len(b.counts)), b.counts)


def test_missing_and_unseen_categories_have_their_own_bins_and_unseen_is_neutral() -> None:
    values = ["a", "b", None] * 100
    yb = np.array([0.0, 1.0, 1.0] * 100)
    yb[:30] = 1 - yb[:30]
    b, idx = fit_categorical("c", *_cats(values), yb, max_bins=10, min_share=0.05)
    k = b.n_regular
    assert b.counts[k] == 100  # missing
    codes, labels = _cats(["a", "zzz", None])
    looked = b.index_codes(codes, labels)
    assert looked[1] == k + 1 and looked[2] == k
    assert b.woe[k + 1] == 0.0 and b.counts[k + 1] == 0


def test_booleans_and_integer_codes_get_the_same_labels_from_pandas_and_polars() -> None:
    import polars as pl

    pdf = pd.DataFrame({"b": [True, False, None], "i": [1.0, 2.0, np.nan]})
    plf = pl.DataFrame({"b": [True, False, None], "i": [1, 2, None]})
    for col in ("b", "i"):
        c1, l1 = Table(pdf).categories(col)
        c2, l2 = Table(plf).categories(col)
        assert list(l1[c1[c1 >= 0]]) == list(l2[c2[c2 >= 0]])
        assert list(c1 < 0) == [False, False, True] == list(c2 < 0)
    assert set(Table(pdf).categories("i")[1]) == {"1", "2"}


def test_a_binning_survives_its_dict_round_trip() -> None:
    x, y = _risky_numeric()
    b, _ = _fit(x, y)
    b2 = FeatureBinning.from_dict(b.to_dict())
    assert np.array_equal(b2.woe, b.woe)
    assert np.array_equal(b2.index_numeric(x), b.index_numeric(x))
