"""The pure-numpy twin of the scoring kernel, for machines without numba.

Whole-column operations (``searchsorted`` for the bins, ``np.sum`` for the total,
``points.rank_lost`` for the reasons): the same results as the compiled kernel, which is
also what the tests check it against, at numpy speed.
"""

from __future__ import annotations

import numpy as np

from clearline.core.scoring.points import rank_lost


def bin_index_numpy(
    x: np.ndarray,
    edges: np.ndarray,
    spec_vals: np.ndarray,
    spec_bins: np.ndarray,
    miss_bin: int,
) -> np.ndarray:
    """Vectorised bin index of a numeric column (the fallback and reference path)."""
    out = np.searchsorted(edges, x, side="right")
    for v, b in zip(spec_vals.tolist(), spec_bins.tolist(), strict=True):
        out[x == v] = b
    out[np.isnan(x)] = miss_bin
    return out


def run_numpy(
    cols: list[np.ndarray],
    n: int,
    arrays: dict[str, np.ndarray],
    empty_score: float,
    top: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole-column numpy version of the kernel (used where numba is missing)."""
    a = arrays
    p = len(cols)
    pts = np.empty((n, p))
    for j, col in enumerate(cols):
        if a["is_num"][j]:
            e = a["edges"][a["edge_ptr"][j] : a["edge_ptr"][j + 1]]
            s = slice(a["spec_ptr"][j], a["spec_ptr"][j + 1])
            b = bin_index_numpy(col, e, a["spec_vals"][s], a["spec_bins"][s], a["miss_bin"][j])
        else:
            b = col.astype(np.int64)
        pts[:, j] = a["points"][a["pts_ptr"][j] + b]
    score = pts.sum(axis=1) if p else np.full(n, empty_score)
    idx, lost = rank_lost(pts, a["best"], top)
    return score, idx.astype(np.int32), lost
