"""Sample weights in the Scorecard and the GBM challenger: only their ratios matter, a
weight of 0 leaves a row out, and weights restore a population from a sample drawn by
outcome."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold, cross_validate

from clearline import Scorecard
from clearline.core.scoring.gbm import GBMChallenger


def _population(n: int = 40_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """About 10 % bad: a numeric driver with missing values, a grade, a special code."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    grade = rng.choice(list("ABCDE"), n)
    months = rng.poisson(3, n).astype(float)
    logit = -2.6 + 1.1 * x + 0.5 * (grade == "E") - 0.1 * months
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    x[rng.random(n) < 0.05] = np.nan
    months[rng.random(n) < 0.03] = -1.0
    return pd.DataFrame({"x": x, "grade": grade, "months": months}), y


def _sample_by_outcome(X: pd.DataFrame, y: np.ndarray, one_in: int, seed: int = 1):  # noqa: ANN202
    """Every bad and one good in ``one_in``, with the weights that restore the population."""
    rng = np.random.default_rng(seed)
    keep = (y == 1) | (rng.random(len(y)) < 1 / one_in)
    w = np.where(y[keep] == 1, 1.0, float(one_in))
    return X[keep].reset_index(drop=True), y[keep], w


def _weights(n: int, seed: int = 2, zeros: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.2, 3.0, n)
    w[rng.random(n) < zeros] = 0.0
    return w


MODELS = [
    pytest.param(lambda: Scorecard(special_codes=[-1]), id="scorecard"),
    pytest.param(lambda: Scorecard(bagging=5, special_codes=[-1]), id="bagged"),
    pytest.param(lambda: Scorecard(selection="stepwise", C="auto"), id="stepwise"),
    pytest.param(lambda: Scorecard(selection="l1", bagging=1), id="l1"),
    pytest.param(lambda: GBMChallenger(n_estimators=40), id="gbm"),
]


@pytest.mark.parametrize("make", MODELS)
def test_only_the_ratios_of_the_weights_matter(make) -> None:  # noqa: ANN001
    X, y = _population(6_000)
    w = _weights(len(y))
    a = make().fit(X, y, sample_weight=w)
    for scale in (7.5, 1e300):  # the second would overflow a plain sum
        b = make().fit(X, y, sample_weight=scale * w)
        np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-9)
    as_objects = make().fit(X, y, sample_weight=w.astype(object))
    np.testing.assert_array_equal(as_objects.predict_proba(X), a.predict_proba(X))
    equal = make().fit(X, y, sample_weight=np.full(len(y), 3.0))
    np.testing.assert_array_equal(equal.predict_proba(X), make().fit(X, y).predict_proba(X))


@pytest.mark.parametrize("make", MODELS)
def test_a_row_of_weight_zero_is_left_out(make) -> None:  # noqa: ANN001
    X, y = _population(6_000)
    w = _weights(len(y), zeros=0.3)
    kept = w > 0
    a = make().fit(X, y, sample_weight=w)
    b = make().fit(X[kept].reset_index(drop=True), y[kept], sample_weight=w[kept])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-9)


def test_the_weights_change_the_model() -> None:
    X, y = _population(6_000)
    w = _weights(len(y))
    plain = Scorecard().fit(X, y).predict_proba(X)
    weighted = Scorecard().fit(X, y, sample_weight=w).predict_proba(X)
    assert np.abs(plain - weighted).max() > 1e-3


@pytest.mark.parametrize("make", MODELS)
def test_weights_restore_the_population_from_a_sample_drawn_by_outcome(make) -> None:  # noqa: ANN001
    X, y = _population()
    Xs, ys, ws = _sample_by_outcome(X, y, one_in=8)
    assert 0.35 < ys.mean() < 0.6 and 0.08 < y.mean() < 0.12
    unweighted = make().fit(Xs, ys).predict_proba(X)[:, 1].mean()
    weighted = make().fit(Xs, ys, sample_weight=ws).predict_proba(X)[:, 1].mean()
    assert abs(weighted - y.mean()) < 0.015
    assert unweighted > 2.5 * y.mean()


def test_bin_counts_are_the_weighted_counts() -> None:
    X, y = _population(6_000)
    w = _weights(len(y))
    sc = Scorecard(bagging=1, special_codes=[-1]).fit(X, y, sample_weight=w)
    scaled = w / w.mean()
    for f in ("x", "grade", "months"):
        b = sc.binnings_[f]
        idx = (
            b.index_codes(*_codes(X[f]))
            if b.kind == "categorical"
            else b.index_numeric(X[f].to_numpy(float))
        )
        counts = np.bincount(idx, weights=scaled, minlength=len(b.counts))
        events = np.bincount(idx, weights=scaled * y, minlength=len(b.counts))
        np.testing.assert_allclose(b.counts, counts, rtol=1e-9)
        np.testing.assert_allclose(b.events, events, rtol=1e-9, atol=1e-9)
    table = sc.points_table()
    assert table["count"].dtype == np.float64
    rate = table["event_rate"].dropna()
    assert ((rate >= 0) & (rate <= 1)).all()


def _codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, labels = pd.factorize(s)
    return codes.astype(np.int64), np.asarray(labels, dtype=object)


def test_a_weighted_model_survives_json() -> None:
    X, y = _population(6_000)
    sc = Scorecard(special_codes=[-1]).fit(X, y, sample_weight=_weights(len(y)))
    again = Scorecard.from_dict(json.loads(json.dumps(sc.to_dict())))
    np.testing.assert_array_equal(again.predict_proba(X), sc.predict_proba(X))
    gbm = GBMChallenger(n_estimators=30).fit(X, y, sample_weight=_weights(len(y)))
    back = GBMChallenger.from_dict(json.loads(json.dumps(gbm.to_dict())))
    np.testing.assert_array_equal(back.predict_proba(X), gbm.predict_proba(X))


def test_the_weighted_segment_sets_the_trend() -> None:
    """x raises the risk in segment a and lowers it in segment b: the trend the binning
    finds is the one of the segment that carries the weight."""
    rng = np.random.default_rng(3)
    n = 8_000
    x = rng.normal(size=n)
    a = rng.random(n) < 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-np.where(a, 1.5, -1.5) * x))).astype(int)
    X = pd.DataFrame({"x": x})
    for heavy, trend in ((a, "ascending"), (~a, "descending")):
        w = np.where(heavy, 20.0, 1.0)
        sc = Scorecard(bagging=1).fit(X, y, sample_weight=w)
        assert sc.binnings_["x"].trend == trend


@pytest.mark.parametrize("make", MODELS)
def test_cross_validate_passes_the_weights_to_fit(make) -> None:  # noqa: ANN001
    X, y = _population(4_000)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    w = _weights(len(y))
    out = cross_validate(make(), X, y, cv=cv, scoring="roc_auc", params={"sample_weight": w})
    plain = cross_validate(make(), X, y, cv=cv, scoring="roc_auc")
    assert np.all(out["test_score"] > 0.7)
    assert not np.allclose(out["test_score"], plain["test_score"])


BAD = [
    (np.ones(10), "lengths must match"),
    (np.ones((4_000, 2)), "must be 1-D"),
    (np.full(4_000, -1.0), "must be >= 0"),
    (np.r_[np.nan, np.ones(3_999)], "missing or infinite"),
    (np.r_[np.inf, np.ones(3_999)], "missing or infinite"),
    (np.array(["1"] * 4_000), "must be numbers"),
    (np.array(["a"] * 4_000, dtype=object), "must be numbers"),
    (np.zeros(4_000), "zero for every row"),
]


@pytest.mark.parametrize("make", [Scorecard, GBMChallenger])
@pytest.mark.parametrize(("weights", "message"), BAD)
def test_bad_weights_are_refused_by_name(make, weights, message) -> None:  # noqa: ANN001
    X, y = _population(4_000)
    with pytest.raises(ValueError, match=message):
        make().fit(X, y, sample_weight=weights)


@pytest.mark.parametrize("make", [Scorecard, GBMChallenger])
def test_weights_that_leave_out_a_whole_class_are_refused(make) -> None:  # noqa: ANN001
    X, y = _population(4_000)
    with pytest.raises(ValueError, match="zero for every row of class 1"):
        make().fit(X, y, sample_weight=(y == 0).astype(float))
