"""The points table and the ranking of points lost (the reason codes)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clearline.core.scoring.binning import FeatureBinning

_EPS = 1e-9  # differences below this are rounding noise, not a lost point


def points_table(
    features: list[str],
    coef: np.ndarray,
    binnings: dict[str, FeatureBinning],
    points: dict[str, np.ndarray],
) -> pd.DataFrame:
    """One row per (model feature, bin), bins in layout order (regular, missing, unseen).

    Columns: feature, bin (index), label, lower/upper (numeric; bin is [lower, upper)),
    categories (categorical), count, event_rate, woe, iv, coef, points. For a bagged
    scorecard ``coef`` is the members' mean coefficient and ``points`` their mean points,
    so points are no longer ``coef * woe`` of the published bins.
    """
    rows = []
    for f, c in zip(features, coef, strict=True):
        b = binnings[f]
        bounds = [-np.inf, *b.edges.tolist(), np.inf]
        numeric = b.kind == "numeric"
        for i, label in enumerate(b.labels()):
            regular = i < b.n_regular
            n = b.counts[i].item()  # an int, or a float: a total of sample weights
            rows.append(
                {
                    "feature": f,
                    "bin": i,
                    "label": label,
                    "lower": bounds[i] if regular and numeric else np.nan,
                    "upper": bounds[i + 1] if regular and numeric else np.nan,
                    "categories": list(b.groups[i]) if regular and not numeric else None,
                    "count": n,
                    "event_rate": b.events[i] / n if n else np.nan,
                    "woe": float(b.woe[i]),
                    "iv": float(b.iv_bins[i]),
                    "coef": float(c),
                    "points": float(points[f][i]),
                }
            )
    columns = ["feature", "bin", "label", "lower", "upper", "categories", "count"]
    columns += ["event_rate", "woe", "iv", "coef", "points"]
    return pd.DataFrame(rows, columns=columns)


def rank_lost(pts: np.ndarray, best: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
    """Rank, per row, the features by points lost against their best bin.

    Parameters
    ----------
    pts : (n, p) points of each row's bin per feature.
    best : (p,) most points each feature can give.
    top : number of ranks to return.

    Returns
    -------
    idx : (n, top) feature indices, most points lost first, -1 where no more feature
        lost points; ties keep feature order.
    lost : (n, top) the points lost, 0 where ``idx`` is -1.
    """
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top}")
    lost = best[None, :] - pts
    order = np.argsort(-lost, axis=1, kind="stable")[:, :top]
    taken = np.take_along_axis(lost, order, axis=1)
    keep = taken > _EPS
    idx = np.where(keep, order, -1)
    taken = np.where(keep, taken, 0.0)
    pad = top - idx.shape[1]
    if pad > 0:
        idx = np.pad(idx, ((0, 0), (0, pad)), constant_values=-1)
        taken = np.pad(taken, ((0, 0), (0, pad)), constant_values=0.0)
    return idx, taken
