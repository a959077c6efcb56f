"""A small but real effect on a large sample passes the IV filter.

``iv_min = 0.02`` is a rule of thumb for samples of a few thousand rows. On 30,000
Taiwanese card holders (benchmarks/bench_peers_unseen.py, credit_cards) age has IV
0.013 yet a G statistic of about 50: the filter dropped it and the Scorecard fell
behind optbinning, which keeps every feature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from clearline import Scorecard
from clearline.core.scoring import selection
from clearline.core.scoring.merging import g_of_bins


def _weak_and_noise(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    strong, weak, noise = rng.normal(size=(3, n))
    logit = -1.2 + 1.2 * strong + 0.12 * weak
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame({"strong": strong, "weak": weak, "noise": noise}), y


def test_g_of_bins_is_the_log_likelihood_chi_square_of_the_bin_table() -> None:
    events = np.array([30, 50, 0, 20])
    counts = np.array([100, 300, 0, 50])  # an empty bin does not count
    g, dof = g_of_bins(events, counts)
    table = np.column_stack([events, counts - events])[counts > 0]
    ref = chi2_contingency(table, correction=False, lambda_="log-likelihood")
    assert dof == 2 and g == pytest.approx(ref.statistic)


def test_a_weak_real_feature_on_a_large_sample_is_kept_and_noise_is_not() -> None:
    X, y = _weak_and_noise(30_000)
    sc = Scorecard(bagging=1).fit(X, y)
    assert sc.iv_["weak"] < sc.iv_min  # the IV rule alone would drop it
    assert "weak" in sc.features_
    assert "noise" not in sc.features_ and sc.selection_["noise"].startswith("IV")


def test_without_the_significance_test_the_weak_feature_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(selection, "SIGNIFICANT_P", 1e-300)
    # The conditional test (test_selection_conditional.py) would let it in too.
    monkeypatch.setattr(selection, "CONDITIONAL_G", np.inf)
    X, y = _weak_and_noise(30_000)
    sc = Scorecard(bagging=1).fit(X, y)
    assert "weak" not in sc.features_ and sc.selection_["weak"].startswith("IV")


def test_on_a_small_sample_the_same_weak_feature_stays_under_the_filter() -> None:
    X, y = _weak_and_noise(1_000, seed=1)
    sc = Scorecard(bagging=1).fit(X, y)
    assert "weak" not in sc.features_
