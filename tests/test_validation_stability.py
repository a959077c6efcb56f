"""Stability: PSI of the score and CSI per feature."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest

from clearline.core.scoring.scorecard import Scorecard
from clearline.core.scoring.stability import (
    EPS,
    csi,
    index_from_counts,
    psi,
    psi_table,
    quantile_binner,
    status,
)


def test_psi_of_a_sample_against_itself_is_zero() -> None:
    x = np.random.default_rng(0).normal(size=5000)
    assert psi(x, x) == 0.0
    assert psi(x, x.copy()[::-1]) == 0.0  # order does not matter


def test_psi_matches_a_hand_computed_example() -> None:
    # 0..99 in 4 quantile bins holds 25 rows each (shares 0.25). The actual sample puts
    # 40 % / 10 % / 25 % / 25 % in them:
    # PSI = (0.40-0.25) ln(0.40/0.25) + (0.10-0.25) ln(0.10/0.25) = 0.15 ln 4 = 0.2079.
    expected = np.arange(100.0)
    actual = np.concatenate(
        [np.arange(0, 40) % 25, 25 + np.arange(10), 50 + np.arange(25), 75 + np.arange(25)]
    ).astype(float)
    table = psi_table(expected, actual, bins=4)
    assert table["expected_share"] == [0.25] * 4
    assert table["actual_share"] == pytest.approx([0.40, 0.10, 0.25, 0.25])
    assert table["psi"] == pytest.approx(0.15 * math.log(4.0))
    assert table["status"] == "watch"


def test_psi_grows_as_the_recent_scores_shift_further() -> None:
    rng = np.random.default_rng(1)
    dev = rng.normal(size=20_000)
    base = rng.normal(size=20_000)
    values = [psi(dev, base + shift) for shift in (0.0, 0.1, 0.5, 1.0)]
    assert values[0] < 0.01
    assert values == sorted(values) and values[-1] > 0.25


def test_an_empty_bin_costs_a_finite_amount_through_the_epsilon() -> None:
    # everything recent lands in the first of two bins: the empty second bin is EPS.
    value = index_from_counts([50, 50], [100, 0])
    expected = (1 - 0.5) * math.log(1 / 0.5) + (EPS - 0.5) * math.log(EPS / 0.5)
    assert value == pytest.approx(expected)


def test_scores_with_few_distinct_values_collapse_duplicate_quantile_edges() -> None:
    # Ten quantiles of three values: edges are observed values, one per value change,
    # so the bins are exactly the three scores (70 / 20 / 10 %).
    dev = np.repeat([500.0, 550.0, 600.0], [70, 20, 10])
    table = psi_table(dev, dev, bins=10)
    assert table["edges"] == [550.0, 600.0]
    assert table["expected_share"] == pytest.approx([0.7, 0.2, 0.1])
    assert table["psi"] == 0.0


def test_psi_refuses_missing_empty_or_bad_bins() -> None:
    with pytest.raises(ValueError, match="missing"):
        psi([1.0, math.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        psi([1.0, 2.0], [])
    with pytest.raises(ValueError, match="bins"):
        psi([1.0, 2.0], [1.0, 2.0], bins=1)
    with pytest.raises(ValueError, match="same 1-D shape"):
        index_from_counts([1, 2], [1, 2, 3])


@pytest.mark.parametrize(
    ("value", "light"),
    [(0.0, "stable"), (0.0999, "stable"), (0.10, "watch"), (0.2499, "watch"), (0.25, "shifted")],
)
def test_status_follows_the_usual_point_one_and_point_two_five_thresholds(
    value: float, light: str
) -> None:
    assert status(value) == light


def test_csi_matches_a_hand_computed_example_with_a_custom_binner() -> None:
    # dev bins [0, 0, 1, 1] -> shares 0.5 / 0.5; recent [0, 0, 0, 1] -> 0.75 / 0.25:
    # CSI = 0.25 ln(1.5) - 0.25 ln(0.5) = 0.25 ln 3.
    def binner(frame: pl.DataFrame, feature: str) -> tuple[np.ndarray, int]:
        return frame[feature].to_numpy().astype(np.int64), 2

    dev = pl.DataFrame({"f": [0, 0, 1, 1]})
    recent = pl.DataFrame({"f": [0, 0, 0, 1]})
    (row,) = csi(dev, recent, ["f"], binner)
    assert row["csi"] == pytest.approx(0.25 * math.log(3.0))
    assert row["status"] == "shifted" and row["n_bins"] == 2


def _frames(n: int = 3000, shift: float = 0.0, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(shift, 1.0, n)
    b = rng.normal(0.0, 1.0, n)
    c = rng.choice(["x", "y", "z"], n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.5 + a - 0.5 * b + (c == "z"))))).astype(int)
    a = np.where(rng.random(n) < 0.05, np.nan, a)
    return pl.DataFrame({"a": a, "b": b, "c": c}), y


def test_csi_on_the_model_bins_flags_only_the_feature_that_moved() -> None:
    dev, y = _frames()
    model = Scorecard().fit(dev, y)
    recent, _ = _frames(shift=1.0, seed=1)
    rows = {r["feature"]: r for r in csi(dev, recent, model.features_, binner=model)}
    assert set(rows) == set(model.features_) == {"a", "b", "c"}
    assert rows["a"]["status"] == "shifted"
    assert rows["b"]["csi"] < 0.05 and rows["c"]["csi"] < 0.05
    # the model's own bins: regular + missing (+ unseen for categorical)
    assert rows["a"]["n_bins"] == len(model.binnings_["a"].counts)
    same = csi(dev, dev, model.features_, binner=model)
    assert all(r["csi"] == 0.0 for r in same)


def test_csi_accepts_pandas_frames_like_polars_ones() -> None:
    dev, y = _frames()
    model = Scorecard().fit(dev, y)
    recent, _ = _frames(shift=0.5, seed=2)
    on_polars = csi(dev, recent, ["a", "c"], binner=model)
    on_pandas = csi(dev.to_pandas(), recent.to_pandas(), ["a", "c"], binner=model)
    assert on_polars == on_pandas


def test_quantile_csi_puts_unseen_categories_and_missing_values_in_bins_of_their_own() -> None:
    dev = pd.DataFrame({"c": ["x", "y"] * 50, "n": np.arange(100.0)})
    recent = pd.DataFrame({"c": ["x", "y", "new", None] * 25, "n": [np.nan] * 50 + [1.0] * 50})
    binner = quantile_binner(dev, ["c", "n"], bins=4)
    idx, k = binner(recent, "c")
    assert k == 4  # x, y, missing, unseen
    assert sorted(set(idx.tolist())) == [0, 1, 2, 3]
    rows = {r["feature"]: r for r in csi(dev, recent, ["c", "n"])}  # default: quantile bins
    assert rows["c"]["status"] == "shifted" and rows["n"]["status"] == "shifted"
    assert csi(dev, dev, ["c", "n"])[0]["csi"] == 0.0


def test_csi_refuses_an_unknown_feature_or_binner() -> None:
    dev, y = _frames(n=500)
    model = Scorecard().fit(dev, y)
    with pytest.raises(ValueError, match="missing columns"):
        csi(dev, dev.drop("a"), ["a"], binner=model)
    with pytest.raises(TypeError, match="binner"):
        csi(dev, dev, ["a"], binner=42)


def test_stability_summary_bundles_score_psi_and_csi_as_strict_json() -> None:
    import json

    from clearline.core.scoring.validation import stability_summary

    dev, y = _frames(n=1500)
    model = Scorecard().fit(dev, y)
    recent, _ = _frames(n=1500, shift=1.0, seed=4)
    out = stability_summary(model, dev, recent)
    assert out["score_psi"] == pytest.approx(
        psi(model.score_points(dev), model.score_points(recent))
    )
    assert out["score_status"] == status(out["score_psi"]) != "stable"
    assert [r["feature"] for r in out["csi"]] == model.features_
    json.dumps(out, allow_nan=False)
