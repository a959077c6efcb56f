"""One scorecard fit on a set of rows: bins, WoE, selection, regression.

The columns are pulled out of the input once (:func:`columns_of`); :func:`fit_rows`
then fits on all rows or on a row sample (a bagging member, see ``bagging.py``) without
touching the frame again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clearline.core.scoring.binning import (
    POOLS_P,
    FeatureBinning,
    fit_categorical,
    fit_numeric,
    pools_rare_levels,
)
from clearline.core.scoring.crossfit import fold_ids, oof_woe
from clearline.core.scoring.frame import Table
from clearline.core.scoring.params import specials_of, trend_of
from clearline.core.scoring.selection import fit_model, select_features, significant_bins


@dataclass(frozen=True)
class Column:
    """One input column: floats (NaN = missing) or category codes and their labels."""

    name: str
    values: np.ndarray  # numeric: float64 values; categorical: int64 codes (-1 = missing)
    labels: np.ndarray | None  # categorical only

    @property
    def numeric(self) -> bool:
        return self.labels is None


@dataclass(frozen=True)
class Fit:
    """What one fit chose: every column's bins, the model columns and the regression."""

    binnings: list[FeatureBinning]
    reasons: dict[str, str]  # per column: "kept" or why it was dropped
    cols: list[int]  # model columns (indices into ``binnings``)
    coef: np.ndarray
    intercept: float
    C: float
    pooled: frozenset[str]  # categorical columns whose rare levels were cut into pools

    @property
    def features(self) -> list[str]:
        return [self.binnings[j].name for j in self.cols]


def columns_of(table: Table, forced: set[str]) -> list[Column]:
    """Every column of ``table``; ``forced`` names are categorical even if numeric.
    A date or time column is refused unless forced (``Table.refuse_temporal``)."""
    table.refuse_temporal(forced, "scorecard")
    out = []
    for name in table.names:
        if name in forced or not table.is_numeric(name):
            codes, labels = table.categories(name)
            out.append(Column(name, codes, labels))
        else:
            out.append(Column(name, table.numeric(name), None))
    return out


def fit_rows(
    sc: Any,
    columns: list[Column],
    y: np.ndarray,
    rows: np.ndarray | None = None,
    pooled: frozenset[str] | None = None,
    w: np.ndarray | None = None,
) -> Fit:
    """Fit scorecard ``sc``'s settings on ``rows`` (all rows when None) of ``columns``,
    weighted by the sample weights ``w`` of all rows when given.

    ``pooled``: the columns whose rare levels may be cut into pools, decided by a fit on
    all rows; when None, this fit tests each column (``binning.POOLS_P``). A bootstrap
    sample's repeated rows make rates look more different than they are, so a bagging
    member must not take that decision itself.
    """
    if rows is not None:
        y = y[rows]
        w = None if w is None else w[rows]
    # Column-major: each feature's WoE is written, read and copied as one run of memory.
    woe = np.empty((len(y), len(columns)), order="F")
    # Stepwise and L1 choose on out-of-fold WoE (see crossfit.py); "iv" needs none.
    oof = np.empty_like(woe) if sc.selection != "iv" else None
    folds = fold_ids(y, 0 if sc.random_state is None else int(sc.random_state))
    binnings: list[FeatureBinning] = []
    cut: set[str] = set()
    for j, col in enumerate(columns):
        values = col.values if rows is None else col.values[rows]
        if col.labels is not None:
            p = POOLS_P if pooled is None else float(col.name in pooled)
            if pools_rare_levels(values, y, len(col.labels), sc.min_bin_share, p, w):
                cut.add(col.name)
            b, idx = fit_categorical(
                col.name,
                values,
                col.labels,
                y,
                max_bins=sc.max_bins,
                min_share=sc.min_bin_share,
                pools_p=p,
                w=w,
            )
        else:
            b, idx = fit_numeric(
                col.name,
                values,
                y,
                n_prebins=sc.n_prebins,
                max_bins=sc.max_bins,
                min_share=sc.min_bin_share,
                monotonic=trend_of(sc.monotonic, col.name),
                special_codes=specials_of(sc.special_codes, col.name),
                w=w,
            )
        binnings.append(b)
        woe[:, j] = b.woe[idx]
        if col.name in cut and col.labels is not None:
            woe[:, j] = crossfit_categorical(values, col.labels, y, folds, sc, w)
            if oof is not None:
                oof[:, j] = woe[:, j]
        elif oof is not None:
            oof[:, j] = oof_woe(idx, y, len(b.counts), folds, w)
    names = [b.name for b in binnings]
    ivs = np.array([b.iv for b in binnings])
    kept, reasons, weak = select_features(
        names,
        ivs,
        woe,
        iv_min=sc.iv_min,
        max_corr=sc.max_corr,
        max_features=sc.max_features,
        significant=significant_bins([b.events for b in binnings], [b.counts for b in binnings]),
        w=w,
    )
    cols, coef, intercept, c_used = fit_model(
        woe,
        y,
        kept,
        names,
        reasons,
        selection=sc.selection,
        selection_woe=oof,
        C=sc.C,
        random_state=sc.random_state,
        weak=weak,
        max_corr=sc.max_corr,
        max_features=sc.max_features,
        reversible=frozenset(
            j
            for j, col in enumerate(columns)
            if col.labels is not None or trend_of(sc.monotonic, col.name) == "auto"
        ),
        w=w,
    )
    return Fit(binnings, reasons, cols, coef, intercept, c_used, frozenset(cut))


def points_of(fit: Fit, factor: float, offset: float) -> tuple[dict[str, np.ndarray], float]:
    """Points per bin of each model feature and the intercept's points.

    ``ln(odds of good) = -(intercept + sum coef * woe)``; the intercept's points are
    spread evenly over the model features, so a score is the sum of its bins' points.
    """
    intercept_points = offset - factor * fit.intercept
    share = intercept_points / max(len(fit.cols), 1)
    points = {
        fit.binnings[j].name: share - factor * c * fit.binnings[j].woe
        for j, c in zip(fit.cols, fit.coef, strict=True)
    }
    return points, intercept_points


def crossfit_categorical(
    codes: np.ndarray,
    labels: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    sc: Any,
    w: np.ndarray | None = None,
) -> np.ndarray:
    """Each row's WoE from the column binned without its fold.

    Rare levels are pooled by their own outcomes; in-sample, those pools' WoE
    overstates what they tell about new rows, and the regression would weigh the column
    too much. Fitted on these values instead, its coefficient reflects what the pools
    predict out of sample.
    """
    out = np.empty(len(y))
    for f in range(int(folds.max()) + 1):
        held = folds == f
        b, _ = fit_categorical(
            "",
            codes[~held],
            labels,
            y[~held],
            max_bins=sc.max_bins,
            min_share=sc.min_bin_share,
            pools_p=1.0,  # pooled as the column was, whenever the rates spread at all
            w=None if w is None else w[~held],
        )
        out[held] = b.woe[b.index_codes(codes[held], labels)]
    return out
