"""Validation: discrimination, calibration, KS/ROC curves, champion vs challenger."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from clearline.core.scoring.metrics import auc, ks
from clearline.core.scoring.validation import (
    calibration_table,
    compare_models,
    compare_predictions,
    discrimination,
    ks_curve,
    roc_points,
    validate_model,
)


def _noisy(n: int = 4000, seed: int = 0, signal: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int)
    p = 1.0 / (1.0 + np.exp(-(signal * y + rng.normal(0.0, 1.0, n) - 1.5)))
    return y, p


class _Fixed:
    """A 'model' that returns a fixed PD per row index (X is the row index)."""

    def __init__(self, p: np.ndarray) -> None:
        self.p = p

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        pd_ = self.p[np.asarray(X, dtype=int).ravel()]
        return np.column_stack([1 - pd_, pd_])


def test_discrimination_matches_the_metric_functions_and_gini_is_two_auc_minus_one() -> None:
    y, p = _noisy()
    d = discrimination(y, p)
    assert d["auc"] == pytest.approx(auc(y, p))
    assert d["ks"] == pytest.approx(ks(y, p))
    assert d["gini"] == pytest.approx(2 * d["auc"] - 1)
    assert d["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert (d["n"], d["events"]) == (y.size, int(y.sum()))


def test_discrimination_on_a_one_class_sample_keeps_brier_and_leaves_ranking_undefined() -> None:
    d = discrimination(np.zeros(4), np.array([0.1, 0.2, 0.3, 0.4]))
    assert d["auc"] is None and d["ks"] is None and d["gini"] is None
    assert d["brier"] == pytest.approx((0.01 + 0.04 + 0.09 + 0.16) / 4)


def test_calibration_table_on_two_known_groups_gives_their_rates_and_ece() -> None:
    # Five rows predicted 0.1 with one default (observed 0.2), five predicted 0.9 with
    # four defaults (observed 0.8): each group is off by 0.1, so ECE = 0.1.
    p = np.array([0.1] * 5 + [0.9] * 5)
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 0])
    cal = calibration_table(y, p, bins=2)
    rows = cal["rows"]
    assert [r["count"] for r in rows] == [5, 5]
    assert [r["events"] for r in rows] == [1, 4]
    assert rows[0]["mean_predicted"] == pytest.approx(0.1)
    assert rows[0]["observed_rate"] == pytest.approx(0.2)
    assert rows[1]["mean_predicted"] == pytest.approx(0.9)
    assert rows[1]["observed_rate"] == pytest.approx(0.8)
    assert cal["ece"] == pytest.approx(0.1)


def test_calibration_deciles_are_ordered_by_pd_and_split_rows_evenly() -> None:
    y, p = _noisy(n=1003)
    rows = calibration_table(y, p)["rows"]
    counts = [r["count"] for r in rows]
    assert len(rows) == 10 and sum(counts) == 1003 and max(counts) - min(counts) <= 1
    # group i's largest PD is never above group i+1's smallest
    assert all(a["p_max"] <= b["p_min"] for a, b in zip(rows, rows[1:], strict=False))
    assert sum(r["events"] for r in rows) == int(y.sum())


def test_calibration_table_with_more_bins_than_rows_uses_one_row_per_bin() -> None:
    cal = calibration_table([0, 1, 1], [0.2, 0.5, 0.7], bins=10)
    assert [r["count"] for r in cal["rows"]] == [1, 1, 1]


def test_a_perfectly_calibrated_constant_prediction_has_zero_ece() -> None:
    y = np.array([1, 0, 0, 0] * 25)
    assert calibration_table(y, np.full(100, 0.25), bins=1)["ece"] == pytest.approx(0.0)


@pytest.mark.parametrize("max_points", [None, 7])
def test_ks_curve_maximum_equals_the_ks_metric_even_with_ties_and_thinning(
    max_points: int | None,
) -> None:
    y, p = _noisy()
    p = np.round(p, 2)  # many ties
    curve = ks_curve(y, p, max_points=max_points)
    gaps = np.abs(np.array(curve["cdf_events"]) - np.array(curve["cdf_non_events"]))
    assert gaps.max() == pytest.approx(ks(y, p))
    assert curve["ks"] == pytest.approx(ks(y, p))
    assert curve["threshold_at_ks"] in curve["threshold"]
    assert curve["cdf_events"][-1] == pytest.approx(1.0)
    if max_points is not None:
        assert len(curve["threshold"]) <= max_points


def test_the_area_under_roc_points_equals_the_mid_rank_auc_with_ties() -> None:
    y, p = _noisy()
    p = np.round(p, 1)
    pts = roc_points(y, p)
    assert np.trapezoid(pts["tpr"], pts["fpr"]) == pytest.approx(auc(y, p), abs=1e-12)
    assert (pts["fpr"][0], pts["tpr"][0]) == (0.0, 0.0)
    assert pts["fpr"][-1] == pytest.approx(1.0) and pts["tpr"][-1] == pytest.approx(1.0)


def test_validate_model_reports_every_named_sample_as_strict_json() -> None:
    y, p = _noisy(n=600)
    model = _Fixed(p)
    idx = np.arange(600).reshape(-1, 1)
    out = validate_model(model, {"train": (idx[:300], y[:300]), "test": (idx[300:], y[300:])})
    assert set(out) == {"train", "test"}
    assert out["test"]["auc"] == pytest.approx(auc(y[300:], p[300:]))
    assert len(out["train"]["calibration"]) == 10
    json.dumps(out, allow_nan=False)  # raises on NaN or numpy types


def test_validate_model_refuses_no_samples_and_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="at least one"):
        validate_model(_Fixed(np.ones(2) / 2), {})
    with pytest.raises(ValueError, match="values"):
        validate_model(_Fixed(np.full(3, 0.5)), {"test": (np.arange(3), np.array([0, 1]))})


def test_metrics_refuse_a_label_that_is_not_binary() -> None:
    with pytest.raises(ValueError, match="0/1"):
        discrimination(np.array([0, 1, 2]), np.array([0.1, 0.2, 0.3]))


def test_bootstrap_interval_contains_the_point_difference_and_repeats_for_a_seed() -> None:
    y, weak = _noisy(signal=0.5, seed=1)
    rng = np.random.default_rng(2)
    strong = 1.0 / (1.0 + np.exp(-(1.5 * y + rng.normal(0.0, 1.0, y.size) - 1.5)))
    a = compare_predictions(y, weak, strong, n_boot=200, seed=7)
    b = compare_predictions(y, weak, strong, n_boot=200, seed=7)
    c = compare_predictions(y, weak, strong, n_boot=200, seed=8)
    assert a == b
    assert a["ci95"] != c["ci95"]
    lo, hi = a["ci95"]
    assert a["auc_diff"] == pytest.approx(auc(y, strong) - auc(y, weak))
    assert lo <= a["auc_diff"] <= hi
    assert lo > 0  # a much stronger challenger wins clearly
    assert a["p_challenger_better"] == 1.0 and a["n_used"] == 200
    json.dumps(a, allow_nan=False)


def test_comparing_a_model_with_itself_gives_a_zero_difference_and_interval() -> None:
    y, p = _noisy(n=500)
    out = compare_predictions(y, p, p, n_boot=50)
    assert out["auc_diff"] == 0.0 and out["ci95"] == [0.0, 0.0]


def test_compare_models_scores_both_models_on_the_same_holdout() -> None:
    y, p = _noisy(n=800)
    rng = np.random.default_rng(3)
    q = np.clip(p + rng.normal(0, 0.2, p.size), 0.001, 0.999)
    idx = np.arange(800).reshape(-1, 1)
    out = compare_models(_Fixed(p), _Fixed(q), idx, y, n_boot=30, names=("sc", "gbm"))
    assert out["sc"]["auc"] == pytest.approx(auc(y, p))
    assert out["gbm"]["auc"] == pytest.approx(auc(y, q))
    assert out["auc_diff"] == pytest.approx(auc(y, q) - auc(y, p))


def test_compare_predictions_rejects_bad_settings() -> None:
    y, p = _noisy(n=50)
    with pytest.raises(ValueError, match="n_boot"):
        compare_predictions(y, p, p, n_boot=0)
    with pytest.raises(ValueError, match="different names"):
        compare_predictions(y, p, p, names=("m", "m"))
    with pytest.raises(ValueError, match="missing"):
        compare_predictions(y, p, np.full(p.size, math.nan))
