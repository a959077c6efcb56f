"""The points scorecard: monotonic WoE binning + logistic regression + points scaling.

``score = offset + factor * ln(odds of good)`` with ``factor = pdo / ln 2`` and
``offset = base_score - factor * ln(base_odds)``. Every (feature, bin) carries points so
that a row's score is the sum of the points of its bins; the intercept is spread evenly
over the features. The predicted event probability (PD) is a function of the score
alone, so more points always means a lower PD.

On small samples the points are the mean of bootstrap fits (``bagging``, see
``bagging.py``): still one points table, on bins refined to every member's cuts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from clearline.core.scoring import serialise
from clearline.core.scoring.bagging import bootstraps, combine, n_members
from clearline.core.scoring.binning import FeatureBinning, row_weight
from clearline.core.scoring.estimator import ReasonedClassifier
from clearline.core.scoring.fitting import Column, columns_of, fit_rows, points_of
from clearline.core.scoring.frame import Table
from clearline.core.scoring.params import check_params, encode_weight, encode_y
from clearline.core.scoring.points import points_table, rank_lost


class Scorecard(ReasonedClassifier):
    """Explainable credit scorecard (scikit-learn classifier; ``classes_[1]`` = event/bad).

    Parameters
    ----------
    max_bins : int
        Maximum regular bins per feature (the missing bin comes on top).
    min_bin_share : float
        Minimum share of the training rows in every regular bin, except a bin of one
        category or one numeric value whose event rate differs beyond chance
        (likelihood-ratio test, p < 0.001) from its neighbours': a rare but telling
        category or flag keeps a bin of its own (see ``merging.py``). Categories each
        under the share are pooled: into one bin, or into several by shrunk event rate
        when their rates differ beyond chance (chi-square, p < 0.05), and the regression
        then sees that column cross-fitted (see ``binning.rare_pools``).
    n_prebins : int
        Quantile pre-bins of numeric features before merging.
    monotonic : {"auto", "ascending", "descending", "peak", "valley", "none"} or dict
        Trend of the event rate over a numeric feature, or a dict feature -> trend
        ("auto" for features it leaves out). "auto" picks by information value; a peak
        or valley must clearly beat the best monotonic fit (see ``trends.py``).
    special_codes : list of numbers or dict feature -> list, optional
        Numeric values that mean something else than their size (e.g. -999 "no file");
        each gets a bin of its own, like missing values.
    selection : {"iv", "stepwise", "l1"}
        After the IV and correlation filters: "iv" keeps them all, "stepwise" adds
        features forward while the BIC of the WoE regression falls, "l1" keeps the
        non-zero coefficients of an L1 regression with C chosen by inner CV. The final
        regression then drops a feature with a wrong-signed coefficient, unless its trend
        was not set by the user and a likelihood-ratio test (p < 0.05) shows a real
        effect against its own trend (see ``selection.fit_signed_lr``).
    iv_min, max_corr, max_features : feature filters (see ``selection.py``). A feature
        under ``iv_min`` still enters when, given the chosen features, a score test
        shows it adds beyond chance (p < 0.001).
    C : float or "auto"
        Inverse L2 strength of the logistic regression on WoE; "auto" chooses it by
        cross-validation inside the training data.
    base_score, base_odds, pdo : points scaling: ``base_score`` points at good:bad odds
        ``base_odds``, and the odds double every ``pdo`` points.
    categorical : list of str, optional
        Columns to treat as categorical even if numeric (bool/string ones always are).
    bagging : int or "auto"
        Number of bootstrap fits whose mean gives the points (see ``bagging.py``); the
        result is still one points table, on bins refined to every member's cuts. 1 is
        a single fit; "auto" bags 25 fits on samples of up to 10,000 rows, where one
        fit's bins are noisy, and fits once above that.
    random_state : int, optional
        Passed to the regression and seeds the bootstrap samples (the fit is otherwise
        deterministic).
    """

    def __init__(
        self,
        max_bins: int = 10,
        min_bin_share: float = 0.03,
        n_prebins: int = 20,
        monotonic: str | dict[str, str] = "auto",
        special_codes: list[float] | dict[str, list[float]] | None = None,
        selection: str = "iv",
        iv_min: float = 0.02,
        max_corr: float = 0.95,
        C: float = 1.0,
        base_score: float = 600.0,
        base_odds: float = 50.0,
        pdo: float = 20.0,
        max_features: int | None = None,
        categorical: list[str] | None = None,
        bagging: int | str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.max_bins = max_bins
        self.min_bin_share = min_bin_share
        self.n_prebins = n_prebins
        self.monotonic = monotonic
        self.special_codes = special_codes
        self.selection = selection
        self.iv_min = iv_min
        self.max_corr = max_corr
        self.C = C
        self.base_score = base_score
        self.base_odds = base_odds
        self.pdo = pdo
        self.max_features = max_features
        self.categorical = categorical
        self.bagging = bagging
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Scorecard:
        """Bin every column, select features, fit the regression and the points.

        ``sample_weight`` (optional, >= 0 per row) weighs every count, rate, test and
        regression of the fit, e.g. to restore the population from a development sample
        drawn by outcome (goods one in ten: weight 10). Rows of weight 0 are left out.
        The weights are scaled to a mean of 1 (see ``params.encode_weight``), so only
        their ratios matter.
        """
        check_params(self)
        table = self._fit_table(X)
        check_params(self, table.names)
        yb = encode_y(self, y, table.n_rows)
        rows, yb, w = encode_weight(sample_weight, yb, self.classes_)
        forced = set(self.categorical or ())
        unknown = sorted(forced - set(table.names))
        if unknown:
            raise ValueError(f"categorical names columns not in X: {unknown}")
        columns = columns_of(table, forced)
        if rows is not None:
            columns = [Column(c.name, c.values[rows], c.labels) for c in columns]
        fit = fit_rows(self, columns, yb, w=w)
        names = [c.name for c in columns]
        self.n_features_in_ = len(names)
        if table.has_names:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self.column_names_ = names
        self.binnings_ = {b.name: b for b in fit.binnings}
        self.iv_ = {b.name: b.iv for b in fit.binnings}
        self.selection_ = fit.reasons
        self.C_ = fit.C
        self.factor_ = float(self.pdo / np.log(2.0))
        self.offset_ = float(self.base_score - self.factor_ * np.log(self.base_odds))
        members = n_members(self.bagging, len(yb))
        if members > 1:
            chosen = set(fit.features)
            self._bag([c for c in columns if c.name in chosen], yb, w, members, fit.pooled)
        else:
            self.features_ = fit.features
            self.coef_ = fit.coef
            self.intercept_ = fit.intercept
            self.points_, self.intercept_points_ = points_of(fit, self.factor_, self.offset_)
        self.n_members_ = members
        return self

    def _bag(
        self,
        columns: list[Column],
        y: np.ndarray,
        w: np.ndarray | None,
        members: int,
        pooled: frozenset[str],
    ) -> None:
        """Replace the single fit's points by the mean of ``members`` bootstrap fits.

        The members refit bins and regression on the features the fit on all rows chose
        (``columns``): choosing features again on a bootstrap sample, whose repeated rows
        make noise look informative, would let noise into the model. For the same
        reason they cut rare levels into pools only in the columns where it did. A
        member draws rows and keeps their weights ``w``.
        """
        seed = 0 if self.random_state is None else int(self.random_state)
        fits = [
            fit_rows(self, columns, y, rows, pooled, w) for rows in bootstraps(y, members, seed)
        ]
        order = sorted(self.iv_, key=lambda f: -self.iv_[f])  # strongest first, stable
        min_count = self.min_bin_share * row_weight(len(y), w)
        bag = combine(fits, columns, y, order, self.factor_, self.offset_, min_count, w)
        for f in self.selection_:
            if f in bag.used_by:
                self.selection_[f] = "kept"
            elif self.selection_[f] == "kept":
                self.selection_[f] = f"used by none of the {members} bagged fits"
        self.used_by_ = bag.used_by
        self.binnings_.update(bag.binnings)
        self.features_ = bag.features
        self.coef_ = bag.coef
        self.intercept_ = bag.intercept
        self.intercept_points_ = self.offset_ - self.factor_ * bag.intercept
        self.points_ = bag.points

    # --------------------------------------------------------------- predicting
    def _points_matrix(self, X: Any) -> np.ndarray:
        """(n, p) points of each row's bin for each model feature: one lookup each."""
        table = self._predict_table(X)
        out = np.empty((table.n_rows, len(self.features_)))
        for j, f in enumerate(self.features_):
            out[:, j] = self.points_[f][_index(self.binnings_[f], table)]
        return out

    def score_points(self, X: Any) -> np.ndarray:
        """Total points of each row (higher = safer)."""
        pts = self._points_matrix(X)
        if not self.features_:
            return np.full(pts.shape[0], self.intercept_points_)
        return pts.sum(axis=1)

    def decision_function(self, X: Any) -> np.ndarray:
        """Log odds of the event (``classes_[1]``); monotone in ``predict_proba``."""
        return -(self.score_points(X) - self.offset_) / self.factor_

    # ---------------------------------------------------------------- explaining
    def explain_indices(self, X: Any, top: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the model features that lost most points against their best bin.

        Returns ``idx`` (n, top) indices into ``features_`` (-1 = none) and ``lost``
        (n, top) points lost (0 where none), most lost first; ties keep model order.
        """
        if top < 1:
            raise ValueError(f"top must be >= 1, got {top}")
        pts = self._points_matrix(X)
        best = np.array([self._best_points(f) for f in self.features_], dtype=np.float64)
        return rank_lost(pts, best, top)

    def _best_points(self, feature: str) -> float:
        """Most points the feature gives among bins seen in training."""
        seen = self.binnings_[feature].counts > 0
        return float(self.points_[feature][seen].max())

    def points_table(self) -> pd.DataFrame:
        """One row per (model feature, bin): bounds or categories, counts, WoE, points."""
        check_is_fitted(self, "features_")
        return points_table(self.features_, self.coef_, self.binnings_, self.points_)

    # ------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Complete JSON-safe state: a :meth:`from_dict` model predicts identically."""
        check_is_fitted(self, "features_")
        return serialise.to_dict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scorecard:
        """Rebuild a fitted scorecard from :meth:`to_dict` output."""
        sc = cls(**serialise.params_of(d))
        serialise.restore(sc, d)
        return sc


def _index(b: FeatureBinning, table: Table) -> np.ndarray:
    """Bin index of every row of ``table`` for binning ``b`` (vectorised)."""
    if b.kind == "numeric":
        return b.index_numeric(table.numeric(b.name))
    return b.index_codes(*table.categories(b.name))
