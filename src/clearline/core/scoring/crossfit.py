"""Cross-fitted (out-of-fold) weight of evidence, for choosing features honestly.

In-sample WoE leaks the target: the WoE of a bin is computed from the very rows it is
then used on, so even a pure-noise feature looks predictive on the training data and a
stepwise or L1 search happily keeps it. Out of fold, each row's WoE comes from the bin
counts of the *other* folds (same bins), so a noise feature carries no signal and is
left out. Only the selection uses this; the final regression is fitted on the usual
in-sample WoE so that points stay ``coef * WoE`` of the published bins.

One exception: a categorical column whose rare levels were cut into several pools by
their own outcomes (``binning.rare_pools``) has its bins, not only their WoE, chosen by
the target. Selection and regression both see it cross-fitted, binned anew without
each fold (``fitting.crossfit_categorical``), so its coefficient is what the pools
predict out of sample; its points are still ``coef * WoE`` of the published bins.
"""

from __future__ import annotations

import numpy as np

from clearline.core.scoring.merging import woe_iv

N_FOLDS = 5


def fold_ids(y: np.ndarray, seed: int, n_folds: int = N_FOLDS) -> np.ndarray:
    """A stratified fold number per row (events and non-events dealt out separately)."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(y), dtype=np.int64)
    for cls in (0.0, 1.0):
        rows = np.flatnonzero(y == cls)
        folds[rows[rng.permutation(len(rows))]] = np.arange(len(rows)) % n_folds
    return folds


def oof_woe(
    idx: np.ndarray, y: np.ndarray, n_bins: int, folds: np.ndarray, w: np.ndarray | None = None
) -> np.ndarray:
    """Out-of-fold WoE of one feature from its bin index per row (vectorised).

    Counts per (fold, bin) come from one ``bincount`` (weighted by ``w`` when given);
    each fold's WoE uses the totals minus that fold's own counts.
    """
    n_folds = int(folds.max()) + 1
    key = folds * n_bins + idx
    n = np.bincount(key, weights=w, minlength=n_folds * n_bins).reshape(n_folds, n_bins)
    yw = y if w is None else y * w
    e = np.bincount(key, weights=yw, minlength=n_folds * n_bins).reshape(n_folds, n_bins)
    table = np.empty((n_folds, n_bins))
    for f in range(n_folds):  # a handful of folds, each a few dozen numbers
        table[f] = woe_iv(e.sum(0) - e[f], n.sum(0) - n[f])[0]
    return table[folds, idx]
