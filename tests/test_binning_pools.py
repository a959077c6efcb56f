"""A column whose every level is rare (postcodes, employers) keeps its signal.

Levels under the minimum share used to go into one pool, so such a column said nothing
(200 equally common codes with real effects: AUC 0.50 against optbinning's 0.67, see
benchmarks/README.md). They are now cut into several pools by shrunk event rate, and the
regression sees those pools' weights of evidence cross-fitted, so that pools cut from
noise cannot buy the column a place it does not earn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from clearline import Scorecard
from clearline.core.scoring import fitting
from clearline.core.scoring.bagging import bootstraps
from clearline.core.scoring.binning import (
    POOLS_P,
    fit_categorical,
    pools_rare_levels,
    rare_pools,
)
from clearline.core.scoring.frame import Table


def _codes(seed: int, effect: float, n: int = 20_000) -> tuple[pd.DataFrame, np.ndarray]:
    """200 equally common codes (0.5 % each) whose log-odds effects have spread
    ``effect``, plus one continuous feature."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 200, n)
    effects = rng.normal(0, effect, 200)
    x1 = rng.normal(size=n)
    logit = -1.5 + effects[codes] + 0.7 * x1
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame({"code": [f"c{c}" for c in codes], "x1": x1}), y


def _holdout_auc(X: pd.DataFrame, y: np.ndarray, columns: list[str]) -> float:
    train, test = slice(0, 14_000), slice(14_000, None)
    model = Scorecard().fit(X[columns][train], y[train])
    return float(roc_auc_score(y[test], model.predict_proba(X[columns][test])[:, 1]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rare_pools_hold_every_level_once_and_each_the_minimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = rng.integers(0, 40, 300)
    e = rng.binomial(n, rng.uniform(0.05, 0.5, 300))
    min_count = 0.03 * n.sum()
    pools = rare_pools(n, e, min_count, POOLS_P)
    assert len(pools) > 1
    assert sorted(np.concatenate(pools).tolist()) == list(range(300))
    assert all(n[p].sum() >= min_count for p in pools)


@pytest.mark.parametrize("p", [POOLS_P, 1.0])
def test_rare_levels_that_differ_only_by_chance_stay_one_pool(p: float) -> None:
    n = np.full(100, 30)
    e = np.tile([6, 6, 5, 7], 25)  # rates 0.17 to 0.23: less spread than chance gives
    assert len(rare_pools(n, e, 0.03 * n.sum(), p)) == 1


def test_a_spread_short_of_significance_is_one_pool_unless_any_spread_will_do() -> None:
    rng = np.random.default_rng(3)
    n = np.full(100, 30)
    e = rng.binomial(n, np.repeat([0.15, 0.25], 50))  # real, but faint in 30 rows each
    assert len(rare_pools(n, e, 0.03 * n.sum(), 1.0)) > 1
    assert len(rare_pools(n, e, 0.03 * n.sum(), 1e-12)) == 1
    assert len(rare_pools(n, e, 0.03 * n.sum(), 0.0)) == 1


def test_pools_are_ordered_so_a_bin_holds_levels_of_like_rates() -> None:
    X, y = _codes(0, 0.8)
    codes, labels = pd.factorize(X["code"])
    labels = np.asarray(labels, dtype=object)
    b, _ = fit_categorical("code", codes, labels, y, max_bins=10, min_share=0.03, pools_p=POOLS_P)
    rates = b.events[: b.n_regular] / b.counts[: b.n_regular]
    assert b.n_regular >= 4
    assert np.all(np.diff(rates) > 0)
    assert rates[-1] > 2 * rates[0]


def test_a_column_whose_every_level_is_rare_keeps_its_signal() -> None:
    X, y = _codes(0, 0.8)
    assert _holdout_auc(X, y, ["code", "x1"]) > _holdout_auc(X, y, ["x1"]) + 0.04


def _in_sample(codes, labels, y, folds, sc, w):  # noqa: ANN001, ANN202 - crossfit's signature
    b, idx = fit_categorical(
        "", codes, labels, y, max_bins=sc.max_bins, min_share=sc.min_bin_share, pools_p=1.0, w=w
    )
    return b.woe[idx]


@pytest.mark.parametrize("cross_fitted", [True, False])
def test_pools_cut_from_noise_cost_holdout_auc_only_without_cross_fitting(
    monkeypatch: pytest.MonkeyPatch, cross_fitted: bool
) -> None:
    """With pools cut whenever the rates spread more than chance would (seed 1 is such a
    draw of pure noise), the in-sample WoE of the pools cost 0.012 of holdout AUC."""
    monkeypatch.setattr(fitting, "POOLS_P", 1.0)
    if not cross_fitted:
        monkeypatch.setattr(fitting, "crossfit_categorical", _in_sample)
    X, y = _codes(1, 0.0)
    loss = _holdout_auc(X, y, ["x1"]) - _holdout_auc(X, y, ["code", "x1"])
    assert (loss < 0.005) == cross_fitted


def test_a_pool_of_many_levels_is_labelled_by_its_first_few_and_listed_in_full() -> None:
    X, y = _codes(0, 0.8)
    model = Scorecard().fit(X, y)
    table = model.points_table()
    code = table[(table["feature"] == "code") & (table["bin"] < model.binnings_["code"].n_regular)]
    assert code["categories"].map(len).sum() == 200
    assert code["categories"].map(len).max() > 6
    for label, cats in zip(code["label"], code["categories"], strict=True):
        short = f"{', '.join(cats[:5])} and {len(cats) - 5} more"
        assert label == (", ".join(cats) if len(cats) <= 6 else short)


def test_bagging_members_pool_only_where_the_fit_on_all_rows_did() -> None:
    """A bootstrap sample's repeated rows exaggerate how much the levels' rates differ:
    on pure noise every member's own test would cut pools, the fit on all rows does not."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"code": [f"c{c}" for c in rng.integers(0, 100, 3000)]})
    y = (rng.random(3000) < 0.2).astype(np.int64)
    column = fitting.columns_of(Table(X), set())[0]
    codes, labels = column.values, column.labels
    assert labels is not None
    assert not pools_rare_levels(codes, y, len(labels), 0.03)
    members = list(bootstraps(y, 25, 0))
    assert all(pools_rare_levels(codes[r], y[r], len(labels), 0.03) for r in members)
    sc = Scorecard()
    for rows in members[:3]:
        fit = fitting.fit_rows(sc, [column], y, rows, pooled=frozenset())
        assert fit.pooled == frozenset() and len(fit.binnings[0].groups) == 1
        assert fitting.fit_rows(sc, [column], y, rows, pooled=frozenset({"code"})).pooled
