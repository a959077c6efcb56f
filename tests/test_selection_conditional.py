"""A feature that tells little alone but much given the others enters the model.

Information value is marginal. On AER::SmokeBan (benchmarks/bench_peers_unseen.py)
Hispanic respondents smoke at about the average rate (IV 0.002), yet less than others
with the same schooling: given education, adding the flag is worth a likelihood-ratio
statistic of about 47. The IV filter dropped it and the Scorecard fell behind every
peer there, since they keep all features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clearline import Scorecard
from clearline.core.scoring import selection
from clearline.core.scoring.metrics import auc


def _suppressed(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """``flag`` lowers the risk, but flagged rows carry more of ``risk``, so that
    alone the flag says almost nothing."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    flag = rng.random(n) < 1.0 / (1.0 + np.exp(-(2.0 * risk - 1.5)))
    logit = -1.0 + 0.8 * risk - 1.0 * flag
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    X = pd.DataFrame({"risk": risk, "flag": np.where(flag, "yes", "no")})
    return X, y


def _design(X: pd.DataFrame) -> np.ndarray:
    """A WoE-like matrix of ``_suppressed`` data: standardised risk, flag as +-1."""
    risk = ((X["risk"] - X["risk"].mean()) / X["risk"].std()).to_numpy()
    return np.column_stack([risk, np.where(X["flag"] == "yes", 1.0, -1.0)])


def _noise(n: int, seed: int, columns: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(-1.0 + risk)))).astype(np.int64)
    noise = {f"noise_{k}": rng.integers(0, 3, n).astype(str) for k in range(columns)}
    return pd.DataFrame({"risk": risk, **noise}), y


def test_the_score_statistic_is_close_to_the_likelihood_ratio() -> None:
    X, y = _suppressed(8_000, seed=0)
    woe = _design(X)
    full = selection._fit_lr(woe, y, [0, 1], 1e6, None)
    base = selection._fit_lr(woe, y, [0], 1e6, None)
    p = base.predict_proba(woe[:, [0]])[:, 1]
    score = selection._score_stats(woe, y, [0], [1], p)[0]
    g = 2.0 * (selection._loglik(full, woe, y) - selection._loglik(base, woe[:, [0]], y))
    assert g > 100.0
    assert score == pytest.approx(g, rel=0.15)


def test_a_feature_that_tells_only_given_the_others_enters_the_model() -> None:
    X, y = _suppressed(8_000, seed=0)
    sc = Scorecard(bagging=1).fit(X, y)
    assert sc.iv_["flag"] < 0.1 * sc.iv_min  # the IV filter alone would drop it
    assert sc.features_ == ["risk", "flag"]
    points = dict(zip(sc.binnings_["flag"].labels(), sc.points_["flag"], strict=False))
    # The flag lowers the risk, so it earns points; how many is shrunk by the L2 penalty,
    # which on a column of near-zero WoE needs a large coefficient (2-3 points here,
    # where one-hot regression says 28).
    assert points["yes"] > points["no"] + 1.0


def test_without_the_conditional_test_the_feature_is_dropped_and_the_model_is_worse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, y = _suppressed(8_000, seed=1)
    hold_X, hold_y = _suppressed(8_000, seed=2)
    with_flag = Scorecard(bagging=1).fit(X, y)
    monkeypatch.setattr(selection, "CONDITIONAL_G", np.inf)
    without = Scorecard(bagging=1).fit(X, y)
    assert without.features_ == ["risk"]
    assert without.selection_["flag"].startswith("IV")
    gain = auc(hold_y, with_flag.predict_proba(hold_X)[:, 1]) - auc(
        hold_y, without.predict_proba(hold_X)[:, 1]
    )
    assert gain > 0.01


def test_pure_noise_almost_never_passes_and_would_without_the_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def entered() -> int:  # noise columns let past the IV filter by the test
        total = 0
        for seed in range(10):
            X, y = _noise(3_000, seed, columns=5)
            sc = Scorecard(bagging=1).fit(X, y)
            total += sum(not sc.selection_[c].startswith("IV") for c in X if c != "risk")
        return total

    assert entered() <= 1  # 50 noise columns tested at p = 0.001
    monkeypatch.setattr(selection, "CONDITIONAL_G", 0.0)
    assert entered() >= 25


def test_a_weak_column_that_restates_a_model_column_stays_out() -> None:
    rng = np.random.default_rng(3)
    strong = rng.normal(size=5_000)
    y = (rng.random(5_000) < 1.0 / (1.0 + np.exp(-(-1.0 + strong)))).astype(np.int64)
    echo = 0.01 * strong + 1e-4 * rng.normal(size=5_000)  # |corr| > 0.99 with strong
    woe = -np.column_stack([strong, echo])
    kw = {"C": 1.0, "random_state": None}
    assert selection.conditional_keep(woe, y, [0], [1], max_corr=0.95, **kw)[0] == []
    assert selection.conditional_keep(woe, y, [], [1], max_corr=0.95, **kw)[0] == [1]


def test_the_final_fit_reuses_the_last_regression_of_the_conditional_step() -> None:
    X, y = _suppressed(8_000, seed=0)
    woe = _design(X)
    extra, lr = selection.conditional_keep(
        woe, y, [0], [1], C=1.0, max_corr=0.95, random_state=None
    )
    assert extra == [1] and lr is None  # nothing left to test, so no fit on [0, 1] yet
    extra, lr = selection.conditional_keep(
        woe, y, [0, 1], [], C=1.0, max_corr=0.95, random_state=None
    )
    assert extra == [] and lr is None
    rng = np.random.default_rng(99)  # not seed 0: that would redraw ``risk`` itself
    noisy = np.column_stack([woe, rng.normal(size=len(y))])
    extra, lr = selection.conditional_keep(
        noisy, y, [0], [1, 2], C=1.0, max_corr=0.95, random_state=None
    )
    assert extra == [1] and lr is not None
    ref = selection._fit_lr(noisy, y, [0, 1], 1.0, None)
    np.testing.assert_allclose(lr.coef_, ref.coef_)


def test_max_features_bounds_the_features_let_in() -> None:
    X, y = _suppressed(8_000, seed=0)
    sc = Scorecard(bagging=1, max_features=1).fit(X, y)
    assert sc.features_ == ["risk"]


def test_collinear_model_columns_do_not_stop_the_test() -> None:
    X, y = _suppressed(4_000, seed=4)
    woe = _design(X)[:, [0, 0, 1]]  # a model column twice: singular X'WX
    extra, _ = selection.conditional_keep(
        woe, y, [0, 1], [2], C=1.0, max_corr=1.0, random_state=None
    )
    assert extra == [2]
