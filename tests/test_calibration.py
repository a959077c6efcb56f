"""Calibration to PD: Platt and isotonic, the automatic choice, reliability, JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clearline import Scorecard
from clearline.core.scoring.calibrated import CalibratedModel, calibrate, calibrate_cv
from clearline.core.scoring.calibration import (
    Calibrator,
    expected_calibration_error,
    reliability,
)
from clearline.core.scoring.gbm import GBMChallenger
from clearline.core.scoring.metrics import brier


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def _miscalibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """True PD ``sigmoid(x - 1)``; the model says ``sigmoid(3x + 1)``: overconfident and
    far too pessimistic, though it ranks perfectly."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (rng.random(n) < _sigmoid(x - 1)).astype(int)
    return _sigmoid(3 * x + 1), y


@pytest.mark.parametrize("method", ["platt", "isotonic", "auto"])
def test_calibration_lowers_the_brier_score_of_a_miscalibrated_model(method) -> None:
    p_cal, y_cal = _miscalibrated(4000, 0)
    p_new, y_new = _miscalibrated(4000, 1)  # judged on fresh rows
    cal = Calibrator(method=method).fit(p_cal, y_cal)
    assert cal.input_ == "pd"
    fixed = cal.transform(p_new)
    assert brier(y_new, fixed) < brier(y_new, p_new) - 0.05
    assert expected_calibration_error(y_new, fixed) < 0.03
    assert expected_calibration_error(y_new, p_new) > 0.2


def test_platt_recovers_a_known_logistic_link_on_scores() -> None:
    rng = np.random.default_rng(2)
    score = rng.normal(600, 40, size=40000)  # points: higher is safer
    y = (rng.random(len(score)) < _sigmoid(-(score - 560) / 25)).astype(int)
    cal = Calibrator(method="platt").fit(score, y)
    assert cal.input_ == "score"
    a, b = cal.platt_  # pd = sigmoid(a + b * (-score)) = sigmoid((560 - score) / 25)
    assert b == pytest.approx(1 / 25, rel=0.05)
    assert a / b == pytest.approx(560, abs=3)


def test_auto_records_its_choice_and_picks_the_lower_validation_brier() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=6000)
    # A step in the true PD: a sigmoid cannot follow it, a monotone step function can.
    y = (rng.random(len(z)) < np.where(z > 0.5, 0.6, 0.05)).astype(int)
    cal = Calibrator(method="auto", input="pd").fit(_sigmoid(z), y)
    assert set(cal.validation_) == {"platt", "isotonic"}
    v = cal.validation_
    assert cal.chosen_ == min(v, key=lambda m: v[m]["brier"])
    assert cal.chosen_ == "isotonic"
    assert all(np.isfinite(m["log_loss"]) for m in v.values())


def test_explicit_methods_are_not_validated() -> None:
    p, y = _miscalibrated(500, 0)
    cal = Calibrator(method="isotonic").fit(p, y)
    assert cal.chosen_ == "isotonic" and cal.validation_ == {}


def test_calibrated_pds_never_reach_zero_or_one() -> None:
    p, y = _miscalibrated(2000, 0)
    out = Calibrator(method="isotonic").fit(p, y).transform(np.array([0.0, 1e-9, 1.0]))
    assert np.all((out > 0) & (out < 1))


def test_the_reliability_table_of_a_small_example_is_right() -> None:
    p = np.array([0.1, 0.1, 0.9, 0.9])
    y = np.array([0, 1, 1, 1])
    t = reliability(y, p, bins=2)
    np.testing.assert_allclose(t["mean_predicted"], [0.1, 0.9])
    np.testing.assert_allclose(t["observed_rate"], [0.5, 1.0])
    assert t["count"].tolist() == [2, 2]
    # ECE = 1/2 * |0.5 - 0.1| + 1/2 * |1.0 - 0.9|
    assert expected_calibration_error(y, p, bins=2) == pytest.approx(0.25)


def test_reliability_deciles_cover_every_row_and_match_a_calibrated_pd() -> None:
    rng = np.random.default_rng(4)
    p = rng.uniform(0.01, 0.5, size=50000)
    y = (rng.random(len(p)) < p).astype(int)
    t = reliability(y, p)
    assert len(t) == 10 and t["count"].sum() == len(p)
    assert np.all(np.diff(t["mean_predicted"]) > 0)
    np.testing.assert_allclose(t["observed_rate"], t["mean_predicted"], atol=0.03)
    uniform = reliability(y, p, bins=10, strategy="uniform")
    assert uniform["p_max"].max() <= 0.5 and len(uniform) == 5  # empty bins left out


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_a_calibrator_round_trips_through_json_unchanged(method) -> None:
    p, y = _miscalibrated(1000, 0)
    cal = Calibrator(method=method).fit(p, y)
    back = Calibrator.from_dict(json.loads(json.dumps(cal.to_dict())))
    grid = np.linspace(0, 1, 101)
    np.testing.assert_array_equal(back.transform(grid), cal.transform(grid))
    assert back.chosen_ == method


def _credit(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    grade = rng.choice(list("ABCD"), n)
    y = (rng.random(n) < _sigmoid(1.3 * x + (grade == "D") - 1.5)).astype(int)
    return pd.DataFrame({"x": x, "grade": grade}), y


def test_a_calibrated_gbm_keeps_the_base_points_and_reasons_and_round_trips() -> None:
    X, y = _credit()
    # Trained on a sample with every bad row repeated 4 times: its PDs are far too high.
    heavy = np.concatenate([np.arange(2000), np.repeat(np.flatnonzero(y[:2000] == 1), 3)])
    base = GBMChallenger(n_estimators=60, random_state=0).fit(X.iloc[heavy], y[heavy])
    model = calibrate(base, X.iloc[2000:2500], y[2000:2500], method="platt")
    test = X.iloc[2500:]
    assert brier(y[2500:], model.predict_proba(test)[:, 1]) < brier(
        y[2500:], base.predict_proba(test)[:, 1]
    )
    np.testing.assert_array_equal(model.score_points(test), base.score_points(test))
    pd.testing.assert_frame_equal(model.explain(test), base.explain(test))
    assert model.features_ == base.features_
    back = CalibratedModel.from_dict(json.loads(json.dumps(model.to_dict())))
    np.testing.assert_array_equal(back.predict_proba(test), model.predict_proba(test))


def test_cross_fitted_calibration_works_for_the_scorecard() -> None:
    X, y = _credit(1500)
    model = calibrate_cv(Scorecard(), X, y, cv=3, method="auto")
    assert isinstance(model.model, Scorecard) and model.calibrator.chosen_ in {"platt", "isotonic"}
    p = model.predict_proba(X)[:, 1]
    assert np.all((p > 0) & (p < 1))
    assert abs(p.mean() - y.mean()) < 0.03  # calibrated: the mean PD matches the bad rate
    back = CalibratedModel.from_dict(json.loads(json.dumps(model.to_dict())))
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))


def test_bad_inputs_are_rejected_with_a_clear_message() -> None:
    p, y = _miscalibrated(200, 0)
    with pytest.raises(ValueError, match="method must be one of"):
        Calibrator(method="beta")
    with pytest.raises(ValueError, match="not fitted"):
        Calibrator().transform(p)
    with pytest.raises(ValueError, match="0/1 or boolean"):
        Calibrator().fit(p, y + 1)
    with pytest.raises(ValueError, match="missing or infinite"):
        Calibrator().fit(np.append(p[:-1], np.nan), y)
    with pytest.raises(ValueError, match="both outcomes"):
        Calibrator().fit(p, np.zeros_like(y))
    with pytest.raises(ValueError, match="method='platt'"):
        Calibrator(method="auto").fit(p[:20], (np.arange(20) == 0).astype(int))
    fitted = Calibrator(method="platt").fit(p, y)
    with pytest.raises(ValueError, match="fitted on PDs"):
        fitted.transform(np.array([620.0]))
    with pytest.raises(ValueError, match="p must be probabilities"):
        reliability(y, p * 3)
    with pytest.raises(ValueError, match="model must be fitted"):
        calibrate(GBMChallenger(), np.zeros((3, 1)), [0, 1, 0])
    with pytest.raises(ValueError, match="model_class must be one of"):
        CalibratedModel.from_dict(
            {"format": "clearline.CalibratedModel/1", "model_class": "os.system"}
        )
