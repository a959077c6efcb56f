"""Metrics against scikit-learn's reference implementations, ties included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

from clearline.core.scoring.metrics import auc, brier, gini, ks


@pytest.mark.parametrize("seed", range(5))
def test_auc_matches_sklearn_on_random_scores_with_many_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.random(2000) < 0.3
    p = np.round(rng.random(2000) + 0.3 * y, 1)  # rounding creates heavy ties
    assert auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert gini(y, p) == pytest.approx(2 * roc_auc_score(y, p) - 1, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_ks_is_the_largest_gap_between_true_and_false_positive_rates(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(1500) < 0.2).astype(int)
    p = np.round(rng.normal(size=1500) + y, 2)
    fpr, tpr, _ = roc_curve(y, p)
    assert ks(y, p) == pytest.approx(np.max(tpr - fpr), abs=1e-12)


def test_perfect_and_reversed_scores_give_the_extreme_values() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.8, 0.9])
    assert auc(y, p) == 1.0 and ks(y, p) == 1.0 and gini(y, p) == 1.0
    assert auc(y, -p) == 0.0
    assert auc(y, np.full(4, 0.5)) == 0.5 and ks(y, np.full(4, 0.5)) == 0.0


def test_brier_matches_sklearn() -> None:
    rng = np.random.default_rng(7)
    y = rng.random(500) < 0.4
    p = rng.random(500)
    assert brier(y, p) == pytest.approx(brier_score_loss(y, p))


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        ([0, 1, 1], [0.1, 0.2], "y has 3 values but p has 2"),
        ([1, 1, 1], [0.1, 0.2, 0.3], "both classes"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "0/1"),
        ([0, 1], [0.1, np.nan], "missing"),
    ],
)
def test_bad_metric_input_gives_a_clear_error(y: list, p: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        auc(y, p)
