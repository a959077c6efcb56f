"""Discrimination and calibration metrics in plain numpy.

``y`` is binary (1/True = event, e.g. bad); ``p`` is a score that is higher for events
(a PD). Ties in ``p`` are handled exactly: AUC uses mid-ranks, KS compares cumulative
distributions only at distinct score values.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _check(y: Any, p: Any, both: bool = True) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    p = np.asarray(p, dtype=np.float64)
    if y.ndim != 1 or p.ndim != 1:
        raise ValueError("y and p must be 1-D")
    if len(y) != len(p):
        raise ValueError(f"y has {len(y)} values but p has {len(p)}")
    if np.isnan(p).any():
        raise ValueError("p has missing values")
    values = np.unique(y)
    if not np.all(np.isin(values, [0, 1])):
        raise ValueError(f"y must be 0/1 or boolean, got values {values[:5]}")
    yb = y.astype(np.float64)
    if both and (yb.sum() == 0 or yb.sum() == len(yb)):
        raise ValueError("y needs both classes (at least one event and one non-event)")
    return yb, p


def auc(y: Any, p: Any) -> float:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks for ties)."""
    yb, p = _check(y, p)
    _, inv, counts = np.unique(p, return_inverse=True, return_counts=True)
    # Mid-rank of each distinct value: ranks 1..n, ties share their average.
    mid = np.cumsum(counts) - (counts - 1) / 2.0
    ranks = mid[inv]
    n1 = yb.sum()
    n0 = len(yb) - n1
    return float((ranks[yb == 1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def gini(y: Any, p: Any) -> float:
    """Gini coefficient (accuracy ratio) = 2 AUC - 1."""
    return 2.0 * auc(y, p) - 1.0


def ks(y: Any, p: Any) -> float:
    """Kolmogorov-Smirnov statistic: max gap between the score CDFs of the two classes."""
    yb, p = _check(y, p)
    _, inv = np.unique(p, return_inverse=True)
    events = np.bincount(inv, weights=yb)
    totals = np.bincount(inv)
    cdf_events = np.cumsum(events) / yb.sum()
    cdf_non = np.cumsum(totals - events) / (len(yb) - yb.sum())
    return float(np.max(np.abs(cdf_events - cdf_non)))


def brier(y: Any, p: Any) -> float:
    """Brier score: mean squared error of the probability ``p`` against ``y``."""
    yb, p = _check(y, p, both=False)  # defined even when every row is one class
    return float(np.mean((p - yb) ** 2))
