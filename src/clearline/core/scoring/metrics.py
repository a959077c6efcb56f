"""Discrimination and calibration metrics in plain numpy.

``y`` is binary (1/True = event, e.g. bad); ``p`` is a score that is higher for events
(a PD). Ties in ``p`` are handled exactly: AUC counts a tied pair half, KS compares
cumulative distributions only at distinct score values.

Every metric takes ``sample_weight``: a development sample drawn by outcome (every bad,
one good in ten) is measured as the population it stands for when each row carries
the weight the fit was given. A row of weight 3 counts as three rows; weight 0 leaves
it out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clearline.core.scoring.params import check_weight


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


def weights_of(sample_weight: Any, yb: np.ndarray, both: bool = True) -> np.ndarray:
    """``sample_weight`` checked against 0/1 ``yb`` (ones when None); with ``both``, each
    class must keep some weight."""
    if sample_weight is None:
        return np.ones(len(yb))
    w = check_weight(sample_weight, len(yb), "y")
    if both and (w @ yb == 0 or w @ (1.0 - yb) == 0):
        kind = "event" if w @ yb == 0 else "non-event"
        raise ValueError(f"sample_weight is zero for every {kind}: both classes are needed")
    return w


def kept_rows(
    sample_weight: Any, yb: np.ndarray, p: np.ndarray, rows_of: str = "y"
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``yb`` and ``p`` without the rows of weight 0, and the weights of the rest (None
    when ``sample_weight`` is None: every row counts 1)."""
    if sample_weight is None:
        return yb, p, None
    w = check_weight(sample_weight, len(yb), rows_of)
    kept = w > 0
    return yb[kept], p[kept], w[kept]


def value_groups(p: np.ndarray) -> tuple[np.ndarray, int]:
    """Each row's group of equal ``p`` (0..k-1, rising with ``p``), and k."""
    _, group = np.unique(p, return_inverse=True)
    return group, int(group.max()) + 1


def grouped_auc(group: np.ndarray, k: int, w1: np.ndarray, w0: np.ndarray) -> float:
    """AUC from each row's group of equal predictions (0..k-1, rising with the
    prediction) and its event and non-event weights: the weighted share of (event,
    non-event) pairs ranked right, a tie counting half."""
    e = np.bincount(group, weights=w1, minlength=k)
    n = np.bincount(group, weights=w0, minlength=k)
    below = np.cumsum(n) - n  # non-event weight strictly lower
    return float(np.sum(e * (below + 0.5 * n)) / (e.sum() * n.sum()))


def auc(y: Any, p: Any, sample_weight: Any = None) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half)."""
    yb, p = _check(y, p)
    w = weights_of(sample_weight, yb)
    return grouped_auc(*value_groups(p), w * yb, w * (1.0 - yb))


def gini(y: Any, p: Any, sample_weight: Any = None) -> float:
    """Gini coefficient (accuracy ratio) = 2 AUC - 1."""
    return 2.0 * auc(y, p, sample_weight) - 1.0


def ks(y: Any, p: Any, sample_weight: Any = None) -> float:
    """Kolmogorov-Smirnov statistic: max gap between the score CDFs of the two classes."""
    yb, p = _check(y, p)
    w = weights_of(sample_weight, yb)
    group, _ = value_groups(p)
    events = np.bincount(group, weights=w * yb)
    non = np.bincount(group, weights=w * (1.0 - yb))
    return float(np.max(np.abs(np.cumsum(events) / events.sum() - np.cumsum(non) / non.sum())))


def brier(y: Any, p: Any, sample_weight: Any = None) -> float:
    """Brier score: mean squared error of the probability ``p`` against ``y``."""
    yb, p = _check(y, p, both=False)  # defined even when every row is one class
    w = weights_of(sample_weight, yb, both=False)
    return float(np.average((p - yb) ** 2, weights=w))
