"""Scorecard options: per-feature trends, special codes, selection modes, C="auto"."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_score

from clearline import Scorecard
from clearline.core.scoring.trends import turning_points


def make_data(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Two real signals, a bowl-shaped age, a coded bureau score, and two noise columns."""
    rng = np.random.default_rng(seed)
    util = rng.uniform(0, 1, n)
    age = rng.uniform(18, 80, n)
    bureau = rng.normal(600, 50, n)
    grade = rng.choice(list("ABCD"), n)
    logit = -1.5 + 2.0 * (util - 0.5) + 0.002 * (age - 45) ** 2 - 0.01 * (bureau - 600)
    logit += np.select([grade == "D", grade == "A"], [1.0, -0.7], 0.0)
    no_file = rng.random(n) < 0.08
    logit[no_file] = 0.8  # applicants with no bureau file are risky whatever else
    bureau[no_file] = -999.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame(
        {
            "util": util,
            "age": age,
            "bureau": bureau,
            "grade": grade,
            "noise_a": rng.normal(size=n),
            "noise_b": rng.choice(list("xyz"), n),
        }
    )
    return X, y


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    return make_data()


def test_a_dict_of_trends_forces_the_named_feature_and_leaves_the_rest_on_auto(data) -> None:
    X, y = data
    # util raises risk; forcing it descending must pool it into a flat or falling trend.
    # One fit (bagging=1): these are the bins the binning itself cut.
    sc = Scorecard(monotonic={"util": "descending", "age": "valley"}, bagging=1).fit(X, y)
    util = sc.binnings_["util"]
    k = util.n_regular
    assert util.trend in ("descending", "none")
    assert np.all(np.diff(util.events[:k] / util.counts[:k]) < 0)
    age = sc.binnings_["age"]
    assert age.trend == "valley"
    assert turning_points(age.events[: age.n_regular] / age.counts[: age.n_regular]) == 1
    assert sc.binnings_["bureau"].trend in ("ascending", "descending")  # auto


def test_a_bagged_scorecard_keeps_each_trend_in_its_points_and_the_minimum_bin_share(data) -> None:
    X, y = data
    sc = Scorecard(monotonic={"age": "valley", "util": "ascending"}).fit(X, y)
    assert sc.n_members_ == 25  # 3,000 rows: "auto" bags
    age = sc.points_["age"][: sc.binnings_["age"].n_regular]
    # A valley of the event rate is a peak of the points, inside the range.
    assert turning_points(age) == 1 and 0 < np.argmax(age) < len(age) - 1
    util = sc.points_["util"][: sc.binnings_["util"].n_regular]
    assert np.all(np.diff(util) <= 1e-9)  # risk rises with util: points fall
    for f in sc.features_:
        b = sc.binnings_[f]
        assert b.counts[: b.n_regular].min() >= 0.03 * len(y)


def test_special_codes_per_feature_put_the_coded_rows_in_their_own_bin(data) -> None:
    X, y = data
    sc = Scorecard(special_codes={"bureau": [-999]}).fit(X, y)
    b = sc.binnings_["bureau"]
    k = b.n_regular
    assert b.counts[k + 1] == np.sum(X["bureau"] == -999)
    assert b.edges.min() > 0  # -999 takes no part in the regular bins
    table = sc.points_table()
    rows = table[(table.feature == "bureau") & (table.label == "(special -999)")]
    assert len(rows) == 1 and rows["count"].iloc[0] == b.counts[k + 1]
    # The risky code earns fewer points than the feature's best bin: it is a reason.
    coded = X[X["bureau"] == -999].head(50)
    assert "bureau" in set(sc.explain(coded, top=6).to_numpy().ravel())


def test_special_codes_given_as_one_list_apply_to_every_numeric_feature(data) -> None:
    X, y = data
    sc = Scorecard(special_codes=[-999]).fit(X, y)
    assert sc.binnings_["bureau"].specials.tolist() == [-999.0]
    assert sc.binnings_["util"].specials.tolist() == [-999.0]  # present, just empty
    assert sc.binnings_["util"].counts[sc.binnings_["util"].n_regular + 1] == 0


@pytest.mark.parametrize("selection", ["iv", "stepwise", "l1"])
def test_every_selection_mode_keeps_only_filtered_features_with_negative_coefficients(
    data, selection: str
) -> None:
    X, y = data
    sc = Scorecard(selection=selection, iv_min=0.02).fit(X, y)
    assert sc.features_, "the real signals must survive"
    assert np.all(sc.coef_ < 0)  # higher WoE (safer bin) must lower the event odds
    for f in sc.features_:
        assert sc.iv_[f] >= 0.02 and sc.selection_[f] == "kept"
    for f, why in sc.selection_.items():
        if sc.iv_[f] < 0.02:
            assert f not in sc.features_ and why.startswith("IV")
    assert {"util", "grade"} <= set(sc.features_)


@pytest.mark.parametrize("selection", ["stepwise", "l1"])
def test_stepwise_and_l1_drop_pure_noise_that_slips_past_a_zero_iv_filter(
    data, selection: str
) -> None:
    X, y = data
    sc = Scorecard(selection=selection, iv_min=0.0).fit(X, y)
    assert "noise_a" not in sc.features_ and "noise_b" not in sc.features_


def test_stepwise_respects_the_correlation_filter() -> None:
    X, y = make_data(2000, 1)
    X = X.assign(util_copy=X["util"] * 2.0 + 1.0)  # same bins, same WoE: |corr| = 1
    sc = Scorecard(selection="stepwise").fit(X, y)
    assert not {"util", "util_copy"} <= set(sc.features_)
    dropped = "util_copy" if "util" in sc.features_ else "util"
    assert sc.selection_[dropped].startswith("|corr|")


def test_C_auto_picks_one_value_of_the_grid_and_is_deterministic(data) -> None:
    from clearline.core.scoring.selection import C_GRID

    X, y = data
    a = Scorecard(C="auto").fit(X, y)
    b = Scorecard(C="auto").fit(X, y)
    assert np.isclose(C_GRID, a.C_).any()
    assert a.C_ == b.C_ and np.array_equal(a.coef_, b.coef_)


def test_a_round_trip_keeps_the_new_settings_and_scores_identically(data) -> None:
    X, y = data
    sc = Scorecard(
        monotonic={"age": "valley", "util": "ascending"},
        special_codes={"bureau": [-999.0]},
        selection="l1",
        C="auto",
    ).fit(X, y)
    d = json.loads(json.dumps(sc.to_dict()))
    twin = Scorecard.from_dict(d)
    assert twin.get_params() == sc.get_params()
    assert twin.C_ == sc.C_
    assert twin.binnings_["bureau"].specials.tolist() == [-999.0]
    assert twin.binnings_["age"].trend == "valley"
    probe = pd.concat([X.head(300), X.head(3).assign(bureau=-999.0)])
    assert np.array_equal(twin.score_points(probe), sc.score_points(probe))
    assert twin.explain(probe).equals(sc.explain(probe))


def test_clone_and_cross_val_score_work_with_dict_settings_and_selection_modes(data) -> None:
    X, y = data
    sc = Scorecard(monotonic={"age": "valley"}, special_codes={"bureau": [-999]}, selection="l1")
    twin = clone(sc)
    assert twin.get_params() == sc.get_params()
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(twin, X, y, cv=cv, scoring="roc_auc")
    assert scores.shape == (3,) and np.all(scores > 0.65)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"monotonic": {"util": "zigzag"}}, r"monotonic\['util'\]"),
        ({"monotonic": {"nope": "ascending"}}, "not in X"),
        ({"special_codes": ["-999"]}, "numbers only"),
        ({"special_codes": [float("nan")]}, "finite"),
        ({"special_codes": {"nope": [1]}}, "not in X"),
        ({"special_codes": -999}, "list of numbers"),
        ({"selection": "forward"}, "selection"),
        ({"C": "best"}, "'auto'"),
    ],
)
def test_bad_new_settings_are_reported_at_fit(data, params: dict, message: str) -> None:
    X, y = data
    with pytest.raises(ValueError, match=message):
        Scorecard(**params).fit(X.head(300), y[:300])
