"""The bagged scorecard: one points table that scores the mean of its bootstrap fits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clearline import Scorecard
from clearline.core.scoring.bagging import AUTO_MAX_ROWS, bootstraps


def _data(n: int = 1200, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "util": rng.uniform(0, 1, n),
            "income": rng.lognormal(8, 0.6, n),
            "tenure": rng.integers(0, 120, n).astype(float),
            "grade": rng.choice(list("ABCDE"), n),
        }
    )
    logit = -1.0 + 2.5 * X.util - 0.6 * np.log(X.income / 3000) - 0.01 * X.tenure
    logit += X.grade.map({"A": -0.8, "B": -0.3, "C": 0.0, "D": 0.4, "E": 0.9})
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).to_numpy().astype(int)


def test_a_bagged_scorecard_scores_exactly_the_mean_of_its_members() -> None:
    X, y = _data()
    # No pooling (min_bin_share 0) and monotone trends every member agrees on: the
    # published points must then be the members' mean, bin for bin.
    trends = {"util": "ascending", "income": "descending", "tenure": "descending"}
    sc = Scorecard(bagging=5, min_bin_share=0.0, monotonic=trends, random_state=7).fit(X, y)
    chosen = [f for f in X.columns if sc.selection_[f] == "kept"]
    assert set(chosen) == {"util", "income", "tenure", "grade"}
    member_scores = [
        Scorecard(bagging=1, min_bin_share=0.0, monotonic=trends, random_state=7)
        .fit(X[chosen].iloc[rows], y[rows])
        .score_points(X)
        for rows in bootstraps(np.asarray(y), 5, 7)
    ]
    np.testing.assert_allclose(sc.score_points(X), np.mean(member_scores, axis=0), atol=1e-9)


def test_auto_bags_small_samples_only_and_one_fit_is_the_plain_scorecard() -> None:
    X, y = _data()
    assert Scorecard().fit(X, y).n_members_ == 25
    one = Scorecard(bagging=1).fit(X, y)
    assert one.n_members_ == 1
    big_X, big_y = _data(AUTO_MAX_ROWS + 1)
    assert Scorecard().fit(big_X, big_y).n_members_ == 1
    # One fit's points are coef * WoE of its bins plus the intercept's share.
    share = one.intercept_points_ / len(one.features_)
    for f, c in zip(one.features_, one.coef_, strict=True):
        expected = share - one.factor_ * c * one.binnings_[f].woe
        np.testing.assert_allclose(one.points_[f], expected)


def test_bagging_publishes_bins_of_the_minimum_share_with_all_rows_counted() -> None:
    X, y = _data()
    sc = Scorecard(min_bin_share=0.05).fit(X, y)
    for f in sc.features_:
        b = sc.binnings_[f]
        assert b.counts.sum() == len(y) and b.events.sum() == y.sum()
        assert b.counts[: b.n_regular].min() >= 0.05 * len(y), f
        assert len(sc.points_[f]) == len(b.counts)


def test_bagged_features_are_those_the_fit_on_all_rows_chose() -> None:
    X, y = _data()
    rng = np.random.default_rng(0)
    X = X.assign(noise=rng.normal(size=len(y)), noise_cat=rng.choice(list("xyz"), len(y)))
    sc = Scorecard().fit(X, y)
    assert "noise" not in sc.features_ and "noise_cat" not in sc.features_
    assert set(sc.used_by_) == set(sc.features_)
    assert all(1 <= k <= 25 for k in sc.used_by_.values())


def test_a_bagged_model_round_trips_through_json_and_bagging_is_checked() -> None:
    X, y = _data()
    sc = Scorecard(random_state=1).fit(X, y)
    back = Scorecard.from_dict(sc.to_dict())
    np.testing.assert_array_equal(back.score_points(X), sc.score_points(X))
    assert back.n_members_ == 25 and back.used_by_ == sc.used_by_
    for bad in (0, -2, 1.5, True, "many"):
        try:
            Scorecard(bagging=bad).fit(X, y)
        except ValueError as exc:
            assert "bagging" in str(exc)
        else:
            raise AssertionError(f"bagging={bad!r} was accepted")


def test_a_handful_of_events_still_bags() -> None:
    # Two events in 30 rows: about one bootstrap draw in eight holds none, and no
    # regression can be fitted on one class. Such a draw is drawn again.
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=30), "grade": rng.choice(list("AB"), 30)})
    y = np.zeros(30, dtype=int)
    y[[3, 17]] = 1
    assert all(0 < y[rows].sum() < 30 for rows in bootstraps(y, 25, 0))
    sc = Scorecard().fit(X, y)
    assert sc.n_members_ == 25
    assert np.isfinite(sc.predict_proba(X)).all()


def test_redrawing_leaves_ordinary_draws_as_they_were() -> None:
    _, y = _data()
    rng = np.random.default_rng(7)
    plain = [np.sort(rng.integers(0, len(y), len(y))) for _ in range(5)]
    for a, b in zip(bootstraps(y, 5, 7), plain, strict=True):
        np.testing.assert_array_equal(a, b)
