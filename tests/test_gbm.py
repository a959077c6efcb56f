"""The GBM challenger: monotone constraints, exact reasons, categories, points, JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.exceptions import NotFittedError

from clearline.core.scoring.gbm import GBMChallenger


def _data(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Risk rises with ``debt``, falls with ``income``, is U-shaped in ``age`` and
    depends on ``grade``; ``noise`` carries nothing."""
    rng = np.random.default_rng(seed)
    debt = rng.normal(size=n)
    income = rng.normal(size=n)
    age = rng.uniform(-2, 2, size=n)
    grade = rng.choice(list("ABCD"), n)
    noise = rng.normal(size=n)
    logit = -1.0 + 1.2 * debt - 0.8 * income + 1.0 * age**2 - 1.0 + (grade == "D") * 1.2
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    debt[rng.random(n) < 0.05] = np.nan
    X = pd.DataFrame({"debt": debt, "income": income, "age": age, "grade": grade, "noise": noise})
    return X, y


def _grid_predictions(model: GBMChallenger, X: pd.DataFrame, feature: str) -> np.ndarray:
    """(rows, grid) PDs with ``feature`` swept over a grid and the other columns fixed."""
    grid = np.linspace(X[feature].min(), X[feature].max(), 41)
    base = X.head(30).reset_index(drop=True)
    sweep = base.loc[base.index.repeat(len(grid))].reset_index(drop=True)
    sweep[feature] = np.tile(grid, len(base))
    return model.predict_proba(sweep)[:, 1].reshape(len(base), len(grid))


FAST = {"n_estimators": 60, "learning_rate": 0.1, "random_state": 0}


def test_an_ascending_constraint_makes_the_pd_non_decreasing_along_a_u_shaped_feature() -> None:
    X, y = _data()
    up = GBMChallenger(monotonic={"age": "ascending"}, **FAST).fit(X, y)
    down = GBMChallenger(monotonic={"age": "descending"}, **FAST).fit(X, y)
    free = GBMChallenger(monotonic="none", **FAST).fit(X, y)
    assert np.all(np.diff(_grid_predictions(up, X, "age"), axis=1) >= -1e-12)
    assert np.all(np.diff(_grid_predictions(down, X, "age"), axis=1) <= 1e-12)
    # Without the constraint the U shape shows: the check above could have failed.
    steps = np.diff(_grid_predictions(free, X, "age"), axis=1)
    assert (steps < -1e-6).any() and (steps > 1e-6).any()


def test_auto_takes_each_direction_from_the_training_rows_and_skips_weak_features() -> None:
    X, y = _data()
    m = GBMChallenger(**FAST).fit(X, y)
    assert m.trends_["debt"] == "ascending" and m.trends_["income"] == "descending"
    assert m.trends_["noise"] == "none"  # no significant rank correlation
    assert m.trends_["grade"] == "none"  # categories have no order
    j = m.column_names_.index("income")
    assert m.monotone_constraints_[j] == -1
    assert np.all(np.diff(_grid_predictions(m, X, "income"), axis=1) <= 1e-12)
    # Flip the target: the learned directions flip with it (fit only looks at its rows).
    flipped = GBMChallenger(**FAST).fit(X, 1 - y)
    assert flipped.trends_["debt"] == "descending" and flipped.trends_["income"] == "ascending"


def test_peak_and_valley_trends_leave_the_feature_unconstrained() -> None:
    X, y = _data(800)
    m = GBMChallenger(monotonic={"age": "valley", "debt": "peak"}, **FAST).fit(X, y)
    for f in ("age", "debt"):
        assert m.monotone_constraints_[m.column_names_.index(f)] == 0


def test_contributions_sum_to_the_raw_log_odds_of_default() -> None:
    X, y = _data()
    m = GBMChallenger(**FAST).fit(X, y)
    c = m.contributions(X.head(200))
    assert list(c.columns) == [*m.column_names_, "bias"]
    np.testing.assert_allclose(c.sum(axis=1), m.decision_function(X.head(200)), atol=1e-9)
    pd_ = 1 / (1 + np.exp(-c.sum(axis=1).to_numpy()))
    np.testing.assert_allclose(pd_, m.predict_proba(X.head(200))[:, 1], atol=1e-12)


def test_explain_ranks_the_features_that_pushed_the_log_odds_up_most() -> None:
    X, y = _data()
    X["constant"] = 1.0  # never split on: must never be a reason
    m = GBMChallenger(**FAST).fit(X, y)
    assert "constant" not in m.features_
    rows = X.head(300)
    reasons = m.explain(rows, top=3)
    contrib = m.contributions(rows)
    idx, lost = m.explain_indices(rows, top=3)
    for i in range(len(rows)):
        names = [r for r in reasons.iloc[i] if r is not None]
        assert set(names) <= set(m.features_)
        values = [contrib.iloc[i][n] for n in names]
        assert all(v > 0 for v in values)
        assert values == sorted(values, reverse=True)
        # every feature with a larger positive push than the last reason was named
        others = contrib.iloc[i][[f for f in m.features_ if f not in names]]
        if len(names) == 3:
            assert (others <= values[-1] + 1e-12).all()
        else:
            assert (others <= 1e-9).all()  # no positive contribution left unnamed
        np.testing.assert_allclose(lost[i, : len(names)], m.factor_ * np.array(values))
    assert (idx[lost == 0] == -1).all()
    assert reasons.index.equals(rows.index)


def test_score_points_use_the_scorecard_scale() -> None:
    X, y = _data(800)
    m = GBMChallenger(**FAST).fit(X, y)
    p = m.predict_proba(X)[:, 1]
    factor = 20 / np.log(2)
    # base_score 600 at good:bad odds 50, +20 points per doubling of those odds
    expected = 600 + factor * (np.log((1 - p) / p) - np.log(50))
    np.testing.assert_allclose(m.score_points(X), expected, rtol=1e-10)


def test_unseen_and_missing_categories_score_like_missing_values_without_crashing() -> None:
    X, y = _data(1000)
    m = GBMChallenger(**FAST).fit(X, y)
    new = X.head(3).copy()
    new["grade"] = ["Z", None, "A"]
    as_missing = new.copy()
    as_missing["grade"] = [None, None, "A"]
    np.testing.assert_array_equal(m.predict_proba(new), m.predict_proba(as_missing))
    assert m.explain(new).shape == (3, 4)


def test_a_round_trip_through_json_predicts_and_explains_identically() -> None:
    X, y = _data(1000)
    X["flag"] = X["grade"] == "D"  # a boolean column is categorical too
    m = GBMChallenger(monotonic={"debt": "ascending"}, **FAST).fit(X, y)
    back = GBMChallenger.from_dict(json.loads(json.dumps(m.to_dict())))
    np.testing.assert_array_equal(back.predict_proba(X), m.predict_proba(X))
    np.testing.assert_array_equal(back.score_points(X), m.score_points(X))
    pd.testing.assert_frame_equal(back.explain(X), m.explain(X))
    assert back.features_ == m.features_ and back.get_params() == m.get_params()


def test_polars_and_pandas_inputs_give_the_same_predictions() -> None:
    X, y = _data(800)
    m = GBMChallenger(**FAST).fit(X, y)
    np.testing.assert_allclose(m.predict_proba(pl.from_pandas(X)), m.predict_proba(X))


def test_only_model_features_are_required_to_score() -> None:
    X, y = _data(800)
    X["constant"] = 1.0
    m = GBMChallenger(**FAST).fit(X, y)
    np.testing.assert_array_equal(m.predict_proba(X.drop(columns="constant")), m.predict_proba(X))
    with pytest.raises(ValueError, match="missing columns"):
        m.predict_proba(X.drop(columns="debt"))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"monotonic": "sideways"}, "monotonic trends"),
        ({"monotonic": {"nope": "ascending"}}, "monotonic names columns not in X"),
        ({"categorical": ["nope"]}, "categorical names columns not in X"),
        ({"num_leaves": 1}, "num_leaves"),
        ({"subsample": 0.0}, "subsample"),
        ({"learning_rate": -1}, "learning_rate"),
        ({"auto_z": -1}, "auto_z"),
    ],
)
def test_bad_parameters_are_rejected_with_a_clear_message(params, message) -> None:
    X, y = _data(200)
    with pytest.raises(ValueError, match=message):
        GBMChallenger(**params).fit(X, y)


def test_bad_targets_and_inputs_are_rejected_with_a_clear_message() -> None:
    X, y = _data(200)
    with pytest.raises(ValueError, match="only 1 class"):
        GBMChallenger().fit(X, np.zeros(200))
    with pytest.raises(ValueError, match="lengths must match"):
        GBMChallenger().fit(X, y[:-1])
    with pytest.raises(ValueError, match="missing values"):
        GBMChallenger().fit(X, np.where(np.arange(200) == 0, np.nan, y))
    with pytest.raises(NotFittedError):
        GBMChallenger().predict_proba(X)
    m = GBMChallenger(**FAST).fit(X, y)
    bad = X.assign(debt="high")
    with pytest.raises(ValueError, match="'debt' must be numeric"):
        m.predict_proba(bad)
    with pytest.raises(ValueError, match="top must be >= 1"):
        m.explain(X, top=0)
    with pytest.raises(ValueError, match="not a serialised GBMChallenger"):
        GBMChallenger.from_dict({"format": "clearline.Scorecard/1"})


def test_a_date_column_is_refused_by_name_unless_named_categorical() -> None:
    X, y = _data(300)
    X = X.assign(opened=pd.date_range("2024-01-01", periods=300, freq="D"))
    with pytest.raises(ValueError, match=r"date or time columns \['opened'\]"):
        GBMChallenger(**FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"date or time columns \['opened'\]"):
        GBMChallenger(**FAST).fit(pl.from_pandas(X), y)
    model = GBMChallenger(categorical=["opened"], **FAST).fit(X, y)
    assert "opened" in model.categories_
