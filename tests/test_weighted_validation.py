"""Validation and calibration with sample weights: a development sample drawn by outcome
(every bad, one good in eight) is measured and calibrated as the population it stands
for when its rows carry the weights the fit was given."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from clearline import Scorecard
from clearline.core.scoring.calibrated import calibrate, calibrate_cv
from clearline.core.scoring.calibration import (
    Calibrator,
    expected_calibration_error,
    reliability,
)
from clearline.core.scoring.metrics import auc, brier, gini, ks
from clearline.core.scoring.stability import csi, psi
from clearline.core.scoring.validation import (
    calibration_table,
    compare_predictions,
    discrimination,
    stability_summary,
    validate_model,
)

GOODS_KEPT = 8  # the drawn sample keeps one good in eight, so each good weighs 8


def _population(n: int = 40_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A risk driver ``z`` and outcomes with a bad rate near 10 %."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(2.6 - 1.2 * z))).astype(np.int64)
    return z, y


def _drawn(y: np.ndarray, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Rows of every bad and one good in eight, and the weights that restore the mix."""
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero((y == 1) | (rng.random(len(y)) < 1.0 / GOODS_KEPT))
    return rows, np.where(y[rows] == 1, 1.0, float(GOODS_KEPT))


@pytest.fixture(scope="module")
def scored() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 400)
    p = np.clip(0.3 * y + rng.random(400) * 0.7, 0, 1).round(2)  # with ties
    w = rng.integers(0, 4, 400).astype(float)
    return y, p, w


@pytest.mark.parametrize("metric", [auc, ks, gini, brier])
def test_an_integer_weight_counts_as_that_many_copies_of_the_row(metric, scored) -> None:  # noqa: ANN001
    y, p, w = scored
    copies = np.repeat(np.arange(len(y)), w.astype(int))
    assert metric(y, p, sample_weight=w) == pytest.approx(metric(y[copies], p[copies]), abs=1e-12)


def test_weighted_auc_and_brier_agree_with_scikit_learn(scored) -> None:  # noqa: ANN001
    y, p, _ = scored
    w = np.random.default_rng(3).uniform(0.1, 5.0, len(y))
    assert auc(y, p, w) == pytest.approx(roc_auc_score(y, p, sample_weight=w), abs=1e-12)
    assert brier(y, p, w) == pytest.approx(brier_score_loss(y, p, sample_weight=w), abs=1e-12)


def test_scaling_the_weights_changes_no_metric(scored) -> None:  # noqa: ANN001
    y, p, w = scored
    for metric in (auc, ks, brier):
        assert metric(y, p, w * 7.5) == pytest.approx(metric(y, p, w), abs=1e-12)
    assert discrimination(y, p, w * 1e-3)["auc"] == pytest.approx(auc(y, p, w), abs=1e-12)


def test_unit_weights_give_the_unweighted_figures(scored) -> None:  # noqa: ANN001
    y, p, _ = scored
    ones = np.ones(len(y))
    plain, unit = discrimination(y, p), discrimination(y, p, ones)
    assert unit.pop("weight") == len(y)
    assert unit == plain
    plain_t, unit_t = calibration_table(y, p), calibration_table(y, p, sample_weight=ones)
    for row in unit_t["rows"]:
        assert row.pop("weight") == row["count"]
    assert unit_t == plain_t
    other = np.abs(p - np.random.default_rng(2).normal(scale=0.2, size=len(p)))
    boot = compare_predictions(y, p, other, n_boot=30)
    boot_unit = compare_predictions(y, p, other, n_boot=30, sample_weight=ones)
    for name in ("champion", "challenger"):
        boot_unit[name].pop("weight")
    assert boot_unit == boot and boot["auc_diff"] != 0


def test_a_row_of_weight_zero_is_left_out(scored) -> None:  # noqa: ANN001
    y, p, w = scored
    kept = w > 0
    assert auc(y, p, w) == pytest.approx(auc(y[kept], p[kept], w[kept]), abs=1e-12)
    weighted, left_out = discrimination(y, p, w), discrimination(y[kept], p[kept], w[kept])
    assert weighted == pytest.approx(left_out, abs=1e-12)
    assert weighted["n"] == int(kept.sum())
    assert calibration_table(y, p, 5, w) == calibration_table(y[kept], p[kept], 5, w[kept])
    assert reliability(y, p, 5, sample_weight=w).equals(
        reliability(y[kept], p[kept], 5, sample_weight=w[kept])
    )


def test_the_drawn_sample_weighted_is_measured_as_the_population() -> None:
    z, y = _population()
    pd_true = 1.0 / (1.0 + np.exp(2.6 - 1.2 * z))
    rows, w = _drawn(y)
    population = discrimination(y, pd_true)
    drawn = discrimination(y[rows], pd_true[rows])
    weighted = discrimination(y[rows], pd_true[rows], w)
    assert weighted["event_rate"] == pytest.approx(population["event_rate"], abs=0.003)
    assert drawn["event_rate"] > 3 * population["event_rate"]
    assert weighted["brier"] == pytest.approx(population["brier"], abs=0.003)
    assert abs(drawn["brier"] - population["brier"]) > 0.05
    # The true PD is calibrated in the population: the weighted table says so, the
    # unweighted one does not.
    assert calibration_table(y[rows], pd_true[rows], 10, w)["ece"] < 0.01
    assert calibration_table(y[rows], pd_true[rows], 10)["ece"] > 0.1
    assert expected_calibration_error(y[rows], pd_true[rows], sample_weight=w) < 0.01
    assert expected_calibration_error(y[rows], pd_true[rows]) > 0.1


@pytest.mark.parametrize("method", ["platt", "isotonic", "auto"])
def test_a_calibrator_fitted_with_the_weights_gives_the_population_s_pd(method: str) -> None:
    z, y = _population()
    points = 600.0 - 40.0 * z  # higher is safer
    rows, w = _drawn(y)
    weighted = Calibrator(method=method).fit(points[rows], y[rows], sample_weight=w)
    plain = Calibrator(method=method).fit(points[rows], y[rows])
    rate = y.mean()
    assert weighted.transform(points).mean() == pytest.approx(rate, abs=0.01)
    assert plain.transform(points).mean() > 2.5 * rate
    assert brier(y, weighted.transform(points)) < brier(y, plain.transform(points))


def test_a_calibrator_ignores_the_weights_scale_and_leaves_out_weight_zero() -> None:
    z, y = _population(6_000, seed=4)
    points = 600.0 - 40.0 * z
    w = np.random.default_rng(5).integers(0, 3, len(y)).astype(float)
    fitted = Calibrator().fit(points, y, sample_weight=w).to_dict()
    assert Calibrator().fit(points, y, sample_weight=w * 7.5).to_dict() == fitted
    kept = w > 0
    assert Calibrator().fit(points[kept], y[kept], sample_weight=w[kept]).to_dict() == fitted


def test_isotonic_calibration_with_integer_weights_equals_repeated_rows() -> None:
    z, y = _population(3_000, seed=6)
    points = np.round(600.0 - 40.0 * z)
    w = np.random.default_rng(8).integers(1, 4, len(y))
    copies = np.repeat(np.arange(len(y)), w)
    weighted = Calibrator(method="isotonic").fit(points, y, sample_weight=w)
    repeated = Calibrator(method="isotonic").fit(points[copies], y[copies])
    grid = np.linspace(points.min(), points.max(), 200)
    np.testing.assert_allclose(weighted.transform(grid), repeated.transform(grid), atol=1e-12)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.full(5, -1.0), ">= 0"),
        (np.array([1.0, np.nan, 1, 1, 1]), "missing or infinite"),
        (np.ones(4), "lengths must match"),
        (np.ones((5, 1)), "1-D"),
        (np.array(list("abcde")), "numbers"),
        (np.zeros(5), "zero for every row"),
        (np.array([0.0, 0, 1, 1, 1]), "zero for every"),
    ],
)
def test_bad_weights_are_refused_by_name(weights: np.ndarray, message: str) -> None:
    y, p = np.array([1, 1, 0, 0, 0]), np.array([0.9, 0.8, 0.1, 0.4, 0.3])
    with pytest.raises(ValueError, match=message):
        auc(y, p, weights)
    with pytest.raises(ValueError, match=message):
        Calibrator(method="platt").fit(p, y, sample_weight=weights)
    if message != "zero for every":  # one class left: reported, without an AUC
        with pytest.raises(ValueError, match=message):
            discrimination(y, p, weights)
    else:
        assert discrimination(y, p, weights)["auc"] is None


def test_cross_fitted_calibration_weighs_every_fit_and_validation_takes_triples() -> None:
    z, y = _population(12_000, seed=9)
    rng = np.random.default_rng(10)
    noisy = z + rng.normal(scale=0.3, size=len(z))
    X = pd.DataFrame({"z": noisy, "noise": rng.normal(size=len(z))})
    rows, w = _drawn(y, seed=11)
    Xd, yd = X.iloc[rows].reset_index(drop=True), y[rows]
    model = calibrate_cv(Scorecard(), Xd, yd, cv=3, method="platt", sample_weight=w)
    pd_all = model.predict_proba(X)[:, 1]
    assert pd_all.mean() == pytest.approx(y.mean(), abs=0.015)
    plain = calibrate_cv(Scorecard(), Xd, yd, cv=3, method="platt")
    assert plain.predict_proba(X)[:, 1].mean() > 2.5 * y.mean()
    held = calibrate(plain.model, Xd, yd, method="platt", sample_weight=w)  # a held-out set
    assert held.predict_proba(X)[:, 1].mean() == pytest.approx(y.mean(), abs=0.015)
    report = validate_model(model, {"drawn": (Xd, yd, w), "plain": (Xd, yd)})
    assert report["drawn"]["event_rate"] == pytest.approx(y.mean(), abs=0.01)
    # Calibrated to the population: so on the drawn rows, only weighted.
    assert report["drawn"]["ece"] < 0.03 < 0.1 < report["plain"]["ece"]
    assert "weight" in report["drawn"] and "weight" not in report["plain"]
    with pytest.raises(ValueError, match=r"\(X, y\) or \(X, y, sample_weight\)"):
        validate_model(model, {"bad": (Xd,)})


def test_the_drawn_sample_weighted_is_as_stable_as_the_population_it_stands_for() -> None:
    z, y = _population()
    rows, w = _drawn(y)
    fresh, _ = _population(seed=12)  # the same population again
    assert psi(z[rows], fresh, expected_weight=w) < 0.01
    assert psi(z[rows], fresh) > 0.1  # unweighted, the sample's bads look like a shift
    dev = pd.DataFrame({"z": z[rows]})
    recent = pd.DataFrame({"z": fresh})
    weighted = csi(dev, recent, ["z"], dev_weight=w)[0]
    assert weighted["csi"] < 0.01 and weighted["status"] == "stable"
    assert csi(dev, recent, ["z"])[0]["status"] != "stable"
    # Weights on the recent side too; scale and weight 0 as elsewhere.
    wr = np.random.default_rng(13).integers(0, 3, len(fresh)).astype(float)
    kept = wr > 0
    assert psi(z[rows], fresh, 10, w * 3.0, wr) == pytest.approx(
        psi(z[rows], fresh[kept], 10, w, wr[kept]), abs=1e-12
    )
    with pytest.raises(ValueError, match="lengths must match"):
        psi(z[rows], fresh, expected_weight=w[:-1])


def test_a_scorecard_s_stability_summary_takes_both_samples_weights() -> None:
    z, y = _population(8_000, seed=14)
    X = pd.DataFrame({"z": z})
    rows, w = _drawn(y, seed=15)
    model = Scorecard().fit(X.iloc[rows], y[rows], sample_weight=w)
    fresh, _ = _population(8_000, seed=16)
    recent = pd.DataFrame({"z": fresh})
    weighted = stability_summary(model, X.iloc[rows], recent, dev_weight=w)
    plain = stability_summary(model, X.iloc[rows], recent)
    assert weighted["score_psi"] < 0.02 < 0.1 < plain["score_psi"]
    assert weighted["csi"][0]["csi"] < 0.02 < 0.1 < plain["csi"][0]["csi"]
    ones = stability_summary(model, X.iloc[rows], recent, recent_weight=np.ones(len(fresh)))
    assert ones == plain  # model bins and unit weights: the unweighted figures
