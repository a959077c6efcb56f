"""The Scorecard: points, PD, reason codes, feature selection, frames and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest

from clearline import Scorecard

EMPLOYMENT_RISK = {"salaried": -0.6, "self_employed": 0.2, "student": 0.6, "retired": -0.2}


def make_data(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Mixed credit-like data: risk rises with utilisation, falls with income."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(8.5, 0.5, n)
    util = rng.uniform(0, 1, n)
    employment = rng.choice(list(EMPLOYMENT_RISK) + ["unemployed"], n, p=[0.5, 0.2, 0.1, 0.1, 0.1])
    emp = np.array([EMPLOYMENT_RISK.get(e, 1.0) for e in employment])
    logit = -1.2 + 2.5 * (util - 0.5) - 0.9 * (np.log(income) - 8.5) + emp
    no_util = rng.random(n) < 0.08
    logit[no_util] += 0.8  # missing utilisation is itself a risk signal
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    util[no_util] = np.nan
    employment = employment.astype(object)
    employment[rng.random(n) < 0.05] = None
    X = pd.DataFrame(
        {
            "income": income,
            "utilisation": util,
            "employment": employment,
            "noise": rng.normal(size=n),
            "verified": rng.random(n) < 0.5,
        }
    )
    return X, y


@pytest.fixture(scope="module")
def fitted() -> tuple[Scorecard, pd.DataFrame, np.ndarray]:
    X, y = make_data()
    return Scorecard().fit(X, y), X, y


def _points_by_hand(table: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
    """Each row's score summed from the points table by matching bounds / categories."""
    total = np.zeros(len(X))
    for feature, rows in table.groupby("feature", sort=False):
        col = X[feature]
        got = np.full(len(X), np.nan)
        for r in rows.itertuples():
            if r.label == "(missing)":
                hit = col.isna().to_numpy()
            elif r.label == "(unseen)":
                continue
            elif r.categories is not None:
                hit = col.isin(r.categories).to_numpy()
            else:
                v = col.to_numpy(dtype=float)
                hit = (v >= r.lower) & (v < r.upper)
            assert np.all(np.isnan(got[hit])), "bins overlap"
            got[hit] = r.points
        assert not np.isnan(got).any(), f"some rows of {feature} fall in no bin"
        total += got
    return total


def test_a_rows_score_is_the_sum_of_its_bins_points_in_the_points_table(fitted) -> None:
    sc, X, _ = fitted
    by_hand = _points_by_hand(sc.points_table(), X.iloc[:500])
    assert np.allclose(sc.score_points(X.iloc[:500]), by_hand, rtol=0, atol=1e-9)


def test_more_points_means_a_lower_predicted_pd(fitted) -> None:
    sc, X, _ = fitted
    score = sc.score_points(X)
    pd_ = sc.predict_proba(X)[:, 1]
    order = np.argsort(score)
    assert np.all(np.diff(pd_[order]) <= 1e-15)
    assert np.ptp(score) > 50  # the test is not vacuous


def test_the_score_follows_the_base_odds_and_points_to_double_the_odds(fitted) -> None:
    sc, X, _ = fitted
    score = sc.score_points(X)
    pd_ = sc.predict_proba(X)[:, 1]
    odds_good = (1 - pd_) / pd_
    # base_score points at odds base_odds, +pdo points per doubling of the odds.
    expected = sc.base_score + sc.pdo * np.log2(odds_good / sc.base_odds)
    assert np.allclose(score, expected, atol=1e-6)


def test_the_scorecard_separates_goods_from_bads(fitted) -> None:
    from sklearn.metrics import roc_auc_score

    sc, X, y = fitted
    assert roc_auc_score(y, sc.predict_proba(X)[:, 1]) > 0.7
    assert set(sc.predict(X)) <= {0, 1}


def test_uninformative_features_are_dropped_and_coefficients_have_the_right_sign(fitted) -> None:
    sc, _, _ = fitted
    assert "noise" not in sc.features_ and "verified" not in sc.features_
    assert sc.selection_["noise"].startswith("IV")
    assert {"income", "utilisation", "employment"} <= set(sc.features_)
    assert np.all(sc.coef_ < 0)  # higher WoE (more goods) must lower the PD


def test_a_duplicate_feature_is_dropped_for_correlation_and_max_features_caps() -> None:
    X, y = make_data(n=2000, seed=1)
    X["income_copy"] = X["income"] * 2.0
    sc = Scorecard().fit(X, y)
    assert ("income" in sc.features_) != ("income_copy" in sc.features_)
    assert any("corr" in r for r in sc.selection_.values())
    top1 = Scorecard(max_features=1).fit(X, y)
    assert top1.features_ == [max(top1.iv_, key=top1.iv_.get)]


def test_an_unseen_category_scores_neutral_zero_woe_points(fitted) -> None:
    sc, X, _ = fitted
    row = X.iloc[[0]].copy()
    row["employment"] = "astronaut"
    j = sc.features_.index("employment")
    pts = sc._points_matrix(row)[0]
    neutral = sc.intercept_points_ / len(sc.features_)  # share of the intercept, woe 0
    assert pts[j] == pytest.approx(neutral)
    table = sc.points_table()
    unseen = table[(table.feature == "employment") & (table.label == "(unseen)")]
    assert unseen.woe.item() == 0.0 and unseen.points.item() == pytest.approx(neutral)


def test_missing_values_score_through_the_missing_bin(fitted) -> None:
    sc, X, _ = fitted
    table = sc.points_table()
    miss = table[(table.feature == "utilisation") & (table.label == "(missing)")]
    assert miss["count"].item() == X.utilisation.isna().sum()
    assert miss.event_rate.item() > table[table.feature == "utilisation"].event_rate.min()


def test_explain_ranks_model_features_by_points_lost_against_their_best_bin(fitted) -> None:
    sc, X, _ = fitted
    table = sc.points_table()
    best = table[table["count"] > 0].groupby("feature").points.max()
    sample = X.iloc[:200]
    reasons = sc.explain(sample, top=4)
    assert list(reasons.columns) == [f"reason_{i}" for i in range(1, 5)]
    for i, (_, row) in enumerate(sample.iterrows()):
        # Points of this row per feature, read off the table by hand.
        one = _points_by_feature(table, row)
        lost = {f: best[f] - p for f, p in one.items() if best[f] - p > 1e-9}
        expected = sorted(lost, key=lambda f: -lost[f])[:4]
        got = [r for r in reasons.iloc[i] if r is not None]
        assert got == expected
        assert reasons.iloc[i, len(got) :].isna().all()  # None after the last reason


def _points_by_feature(table: pd.DataFrame, row: pd.Series) -> dict[str, float]:
    out = {}
    for feature, rows in table.groupby("feature", sort=False):
        v = row[feature]
        for r in rows.itertuples():
            if r.label == "(unseen)":
                continue
            if pd.isna(v) or r.label == "(missing)":
                hit = pd.isna(v) and r.label == "(missing)"
            elif r.categories is not None:
                hit = v in r.categories
            else:
                hit = r.lower <= v < r.upper
            if hit:
                out[feature] = r.points
    return out


def test_explain_indices_pads_with_minus_one_and_zero_lost(fitted) -> None:
    sc, X, _ = fitted
    top = len(sc.features_) + 2
    idx, lost = sc.explain_indices(X.iloc[:50], top=top)
    assert idx.shape == lost.shape == (50, top)
    assert np.all(idx[:, -2:] == -1) and np.all(lost[:, -2:] == 0)
    assert np.all(np.diff(lost, axis=1) <= 1e-12)  # most points lost first
    assert np.all((idx >= 0) == (lost > 0))


def test_polars_pandas_and_numpy_inputs_give_the_same_scores() -> None:
    X, y = make_data(n=1500, seed=3)
    X = X.drop(columns=["employment"])  # numpy arrays are numeric-only here
    from_pd = Scorecard().fit(X, y)
    from_pl = Scorecard().fit(pl.from_pandas(X), y)
    from_np = Scorecard().fit(X.to_numpy(dtype=float), y)
    s = from_pd.score_points(X)
    assert np.allclose(from_pl.score_points(pl.from_pandas(X)), s)
    assert np.allclose(from_pd.score_points(pl.from_pandas(X)), s)
    assert np.allclose(from_np.score_points(X.to_numpy(dtype=float)), s)


def test_string_labels_make_the_second_sorted_class_the_event() -> None:
    X, y = make_data(n=1500, seed=4)
    labels = np.where(y == 1, "yes", "no")  # sorted: "no", "yes" -> "yes" is the event
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "yes" is no good outcome: nothing to warn about
        sc = Scorecard().fit(X, labels)
    assert list(sc.classes_) == ["no", "yes"]
    assert np.allclose(sc.predict_proba(X), Scorecard().fit(X, y).predict_proba(X))


@pytest.mark.parametrize(("bad", "good"), [("bad", "good"), ("Charged Off", "Fully Paid")])
def test_a_good_outcome_sorted_second_is_named_in_a_warning(bad: str, good: str) -> None:
    # German credit's own target reads "good"/"bad": sorted, "good" becomes the event.
    X, y = make_data(n=1500, seed=4)
    labels = np.where(y == 1, bad, good)
    with pytest.warns(UserWarning, match=f"y == '{good}' as the event.*pass y == '{bad}'"):
        sc = Scorecard().fit(X, labels)
    assert list(sc.classes_) == [bad, good]  # scikit-learn's order is kept: AUC stays right


def test_columns_are_found_by_name_and_extra_columns_are_ignored(fitted) -> None:
    sc, X, _ = fitted
    shuffled = X[list(reversed(X.columns))].assign(extra=1.0)
    assert np.array_equal(sc.score_points(shuffled), sc.score_points(X))


def test_with_no_informative_feature_the_model_predicts_the_base_rate() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=500)})
    y = (rng.random(500) < 0.2).astype(int)
    sc = Scorecard(iv_min=10.0).fit(X, y)
    assert sc.features_ == []
    p = sc.predict_proba(X)[:, 1]
    assert np.ptp(p) == 0 and p[0] == pytest.approx(y.mean(), abs=0.01)
    assert np.all(sc.explain_indices(X, 2)[0] == -1)
