"""Trend shapes (peak, valley, auto's guard) and special values in numeric binning."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearline.core.scoring.binning import FeatureBinning, fit_numeric
from clearline.core.scoring.trends import turning_points


def _fit(x: np.ndarray, y: np.ndarray, **kw: object) -> tuple[FeatureBinning, np.ndarray]:
    args = dict(n_prebins=20, max_bins=10, min_share=0.03, monotonic="auto") | kw
    return fit_numeric("x", x, y, **args)  # type: ignore[arg-type]


def _rates(b: FeatureBinning) -> np.ndarray:
    k = b.n_regular
    return b.events[:k] / b.counts[:k]


def _bowl(n: int, seed: int, depth: float) -> tuple[np.ndarray, np.ndarray]:
    """Risk lowest in the middle of x (a valley of depth ``depth`` on the logit)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(depth * (x**2 - 1) - 1.0)))).astype(float)
    return x, y


def test_turning_points_counts_changes_of_direction_and_ignores_ties() -> None:
    assert turning_points(np.array([0.1, 0.2, 0.3])) == 0
    assert turning_points(np.array([0.3, 0.1, 0.1, 0.4])) == 1
    assert turning_points(np.array([0.1, 0.3, 0.2, 0.4])) == 2


def test_a_valley_fit_on_a_bowl_shaped_risk_falls_then_rises_once() -> None:
    x, y = _bowl(20_000, 0, 0.6)
    b, _ = _fit(x, y, monotonic="valley")
    rates = _rates(b)
    assert b.trend == "valley"
    assert turning_points(rates) == 1
    low = int(np.argmin(rates))
    assert 0 < low < len(rates) - 1  # the minimum is inside, not at an end
    assert np.all(np.diff(rates[: low + 1]) <= 0) and np.all(np.diff(rates[low:]) >= 0)


def test_a_peak_fit_on_an_upside_down_bowl_rises_then_falls_once() -> None:
    x, y = _bowl(20_000, 1, -0.6)
    b, _ = _fit(x, y, monotonic="peak")
    rates = _rates(b)
    assert turning_points(rates) == 1
    top = int(np.argmax(rates))
    assert np.all(np.diff(rates[: top + 1]) >= 0) and np.all(np.diff(rates[top:]) <= 0)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), shape=st.sampled_from(["peak", "valley"]))
def test_a_forced_peak_or_valley_has_at_most_one_turning_point_even_on_noise(
    seed: int, shape: str
) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 60, size=800).astype(float)
    y = (rng.random(800) < 0.3).astype(float)
    b, _ = _fit(x, y, monotonic=shape)
    assert turning_points(_rates(b)) <= 1


def test_auto_picks_a_valley_when_both_ends_are_clearly_riskier() -> None:
    x, y = _bowl(20_000, 2, 0.6)
    b, _ = _fit(x, y)
    assert b.trend == "valley"


@pytest.mark.parametrize("seed", range(5))
def test_auto_stays_monotonic_on_a_straight_risk_line_plus_noise(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-(0.8 * x - 1.0)))).astype(float)
    b, _ = _fit(x, y)
    assert b.trend == "ascending"


@pytest.mark.parametrize("seed", range(5))
def test_auto_does_not_bend_a_weak_small_sample_into_a_valley(seed: int) -> None:
    # A faint bowl on 800 rows: the IV gain of the bend is within noise, so auto must
    # keep a monotonic trend (the guard against fitting a turn to noise).
    x, y = _bowl(800, 10 + seed, 0.05)
    b, _ = _fit(x, y)
    assert b.trend in ("ascending", "descending", "none")


def test_special_codes_get_bins_of_their_own_after_the_missing_bin() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 100, size=5000)
    special = rng.random(5000)
    x[special < 0.10] = -999.0  # "no bureau file": risky, and far below every real value
    x[(special >= 0.10) & (special < 0.15)] = -1.0  # "file frozen": safe
    x[(special >= 0.15) & (special < 0.20)] = np.nan
    risk = np.where(x == -999.0, 0.6, np.where(x == -1.0, 0.02, 0.1 + 0.002 * np.nan_to_num(x)))
    y = (rng.random(5000) < risk).astype(float)
    b, idx = _fit(x, y, special_codes=np.array([-999.0, -1.0]))
    k = b.n_regular
    assert b.specials.tolist() == [-999.0, -1.0]
    assert b.labels()[k:] == ["(missing)", "(special -999)", "(special -1)"]
    assert b.counts[k + 1] == np.sum(x == -999.0) and b.counts[k + 2] == np.sum(x == -1.0)
    assert b.counts[k] == np.isnan(x).sum()
    # Specials are not real values: the regular bins start above them.
    assert b.edges.min() > 0.0
    assert np.all(idx[x == -999.0] == k + 1) and np.all(idx[x == -1.0] == k + 2)
    assert np.array_equal(b.index_numeric(x), idx)
    assert b.woe[k + 1] < 0 < b.woe[k + 2]  # risky code: negative WoE, safe: positive


def test_a_special_code_never_seen_in_training_is_neutral() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=2000)
    y = (rng.random(2000) < 0.3).astype(float)
    b, _ = _fit(x, y, special_codes=np.array([-999.0]))
    k = b.n_regular
    assert b.counts[k + 1] == 0 and b.woe[k + 1] == 0.0
    assert b.index_numeric(np.array([-999.0]))[0] == k + 1


def test_a_binning_with_specials_round_trips_through_its_dict() -> None:
    rng = np.random.default_rng(5)
    x = np.where(rng.random(1000) < 0.1, -7.0, rng.normal(size=1000))
    y = (rng.random(1000) < 0.3).astype(float)
    b, _ = _fit(x, y, special_codes=np.array([-7.0]))
    twin = FeatureBinning.from_dict(b.to_dict())
    assert np.array_equal(twin.specials, b.specials)
    assert np.array_equal(twin.index_numeric(x), b.index_numeric(x))
    assert np.array_equal(twin.woe, b.woe)


def test_an_unknown_trend_is_rejected() -> None:
    x, y = _bowl(500, 0, 0.5)
    with pytest.raises(ValueError, match="unknown trend"):
        _fit(x, y, monotonic="zigzag")
