"""A compiled scoring plan: score, PD and ranked reasons of a fitted Scorecard, fast.

``compile_plan(scorecard)`` flattens the fitted bins and points of the model features
into a few contiguous arrays; ``plan.encode(X)`` turns a frame into a float64 matrix of
shape (n_features, n_rows) (numeric values as they are, categorical values already as
bin codes) and ``plan.columns(X)`` into the same as a list of 1-D columns without copying
numeric ones; ``plan.run(M, top)`` walks every row once in a numba kernel (see
``kernel_loops.py``; a pure numpy twin in ``kernel_numpy.py`` runs where numba is not
installed). Results are bit-identical to ``Scorecard.score_points``, ``predict_proba``
and ``explain_indices`` (reason indices as int32 rather than int64).

Typical use::

    plan = compile_plan(scorecard)  # once per fitted model
    score, pd_, reason_idx, lost = plan.score(frame, top=4)  # = plan.run(plan.columns(frame))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from clearline.core.scoring import kernel_loops, kernel_numpy
from clearline.core.scoring.kernel_encode import encode_columns, encode_frame

if TYPE_CHECKING:
    from clearline.core.scoring.scorecard import Scorecard

_ARRAYS = (
    "is_num", "edge_ptr", "edges", "spec_ptr", "spec_vals", "spec_bins",
    "miss_bin", "pts_ptr", "points", "best",
)  # fmt: skip


@dataclass(frozen=True)
class ScoringPlan:
    """Flat arrays of a fitted scorecard, ready for the row kernel.

    Attributes
    ----------
    features : model features in model order (``reason_idx`` indexes this list).
    is_num : (p,) bool, True for numeric features (binned by edges in the kernel).
    edge_ptr, edges : feature ``j``'s inner edges are ``edges[edge_ptr[j]:edge_ptr[j+1]]``.
    spec_ptr, spec_vals, spec_bins : special values of numeric features and their bins.
    miss_bin : (p,) bin index of a missing (NaN) value.
    pts_ptr, points : feature ``j``'s points per bin are ``points[pts_ptr[j]:pts_ptr[j+1]]``.
    best : (p,) most points each feature gives among bins seen in training.
    offset, factor : ``pd = 1 / (1 + exp((score - offset) / factor))``.
    empty_score : the score of every row when the model has no features.
    binnings : the fitted ``FeatureBinning`` of each model feature (for encoding).
    column_names, has_names : the fitted column names and whether they were named.
    """

    features: list[str]
    is_num: np.ndarray
    edge_ptr: np.ndarray
    edges: np.ndarray
    spec_ptr: np.ndarray
    spec_vals: np.ndarray
    spec_bins: np.ndarray
    miss_bin: np.ndarray
    pts_ptr: np.ndarray
    points: np.ndarray
    best: np.ndarray
    offset: float
    factor: float
    empty_score: float
    binnings: list[Any] = field(repr=False)
    column_names: list[str] = field(repr=False)
    has_names: bool = True
    #: a categorical feature's encoding tables by its index, built on first use
    maps: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def encode(self, X: Any) -> np.ndarray:
        """(n_features, n_rows) float64 matrix of ``X`` for :meth:`run`.

        Numeric features keep their values (NaN = missing); categorical features become
        bin codes (missing and unseen categories get their own bins), so the kernel
        never sees a string. ``X`` is a pandas or polars frame, or a 2-D array laid out
        like the training data.
        """
        return encode_frame(self, X)

    def columns(self, X: Any) -> list[np.ndarray]:
        """Like :meth:`encode` but one 1-D array per feature, without copying numeric
        columns that are already contiguous float64 (the fast way from a frame)."""
        return encode_columns(self, X)

    def score(
        self, X: Any, top: int = 4, *, parallel: bool = False, with_lost: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`run` on the columns of the frame ``X``: score, pd, reason_idx, lost
        (``with_lost=False``: lost may come back empty, for callers that only rank)."""
        _check_top(top)
        cols = self.columns(X)
        # Our own encoding: the bin codes are in range by construction, no second pass.
        n = len(cols[0]) if cols else len(X)
        return self._run(cols, n, int(top), parallel, with_lost)

    def run(
        self, M: np.ndarray | list[np.ndarray], top: int = 4, *, parallel: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Score, PD and ranked reasons of every row of the encoded ``M``.

        Parameters
        ----------
        M : (n_features, n_rows) float64 from :meth:`encode`, or the list of
            :meth:`columns`.
        top : number of reasons per row.
        parallel : spread row chunks over numba's threads (default: the calling thread
            only, which is the per-core figure).

        Returns
        -------
        score : (n,) float64 total points (equals ``Scorecard.score_points``).
        pd : (n,) float64 event probability (equals ``predict_proba(X)[:, 1]``).
        reason_idx : (n, top) int32 indices into ``features``, most points lost first,
            -1 where no further feature lost points.
        lost : (n, top) float64 points lost, 0 where ``reason_idx`` is -1.
        """
        _check_top(top)
        cols, n = self._check_columns(M)
        return self._run(cols, n, int(top), parallel)

    def _run(
        self, cols: list[np.ndarray], n: int, top: int, parallel: bool, with_lost: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        arrays = {k: getattr(self, k) for k in _ARRAYS}
        if kernel_loops.HAVE_NUMBA:
            score, idx, lost = kernel_loops.run_compiled(
                cols, n, tuple(arrays.values()), self.empty_score, top, parallel, with_lost
            )
        else:  # pragma: no cover - only without numba
            score, idx, lost = kernel_numpy.run_numpy(cols, n, arrays, self.empty_score, top)
        return score, self.pd_of(score), idx, lost

    def pd_of(self, score: np.ndarray) -> np.ndarray:
        """PD of scores, with the very operations of ``Scorecard.predict_proba``.

        Done by numpy after the kernel (not inside it) so the ``exp`` is numpy's own and
        the PD matches ``predict_proba`` to the last bit.
        """
        t = np.subtract(score, self.offset)
        t /= self.factor
        np.exp(t, out=t)
        t += 1.0
        return np.divide(1.0, t, out=t)

    def _check_columns(self, M: Any) -> tuple[list[np.ndarray], int]:
        """Contiguous float64 columns of ``M`` and the row count; bad shapes refused."""
        p = len(self.features)
        if isinstance(M, list | tuple):
            cols = [np.ascontiguousarray(c, dtype=np.float64) for c in M]
            if len(cols) != p or any(c.ndim != 1 for c in cols):
                raise ValueError(f"M must be a list of {p} 1-D columns; use plan.columns(X)")
            n = len(cols[0]) if cols else 0
            if any(len(c) != n for c in cols):
                raise ValueError("the columns of M have different lengths")
        else:
            arr = np.asarray(M)
            if arr.ndim != 2 or arr.shape[0] != p:
                raise ValueError(
                    f"M must have shape (n_features={p}, n_rows), got {arr.shape}; "
                    "use plan.encode(X)"
                )
            arr = np.ascontiguousarray(arr, dtype=np.float64)
            cols, n = list(arr), arr.shape[1]
        n_bins = np.diff(self.pts_ptr)
        for j in np.flatnonzero(~self.is_num):
            # the kernel indexes the points by these codes: never let one fall outside
            c = cols[j]
            if n and not (c.min() >= 0 and c.max() < n_bins[j]):
                raise ValueError(
                    f"M has bin codes out of range for {self.features[j]!r}; use plan.encode(X)"
                )
        return cols, n


def compile_plan(scorecard: Scorecard) -> ScoringPlan:
    """Flatten a fitted ``Scorecard`` into a :class:`ScoringPlan`.

    Raises a ValueError (scikit-learn's NotFittedError) if the scorecard is not fitted.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(scorecard, "features_")
    feats = list(scorecard.features_)
    bins = [scorecard.binnings_[f] for f in feats]
    pts = [np.asarray(scorecard.points_[f], dtype=np.float64) for f in feats]
    is_num = np.array([b.kind == "numeric" for b in bins], dtype=np.bool_)
    edges = [np.asarray(b.edges, dtype=np.float64) if n else np.empty(0) for b, n in
             zip(bins, is_num, strict=True)]  # fmt: skip
    specs = [_specials(b) if n else (np.empty(0), np.empty(0, np.int64)) for b, n in
             zip(bins, is_num, strict=True)]  # fmt: skip
    return ScoringPlan(
        features=feats,
        is_num=is_num,
        edge_ptr=_ptr([len(e) for e in edges]),
        edges=_cat([*edges], np.float64),
        spec_ptr=_ptr([len(s[0]) for s in specs]),
        spec_vals=_cat([s[0] for s in specs], np.float64),
        spec_bins=_cat([s[1] for s in specs], np.int64),
        miss_bin=np.array([_missing_bin(b) for b in bins], dtype=np.int64),
        pts_ptr=_ptr([len(p) for p in pts]),
        points=_cat(pts, np.float64),
        best=np.array([scorecard._best_points(f) for f in feats], dtype=np.float64),
        offset=float(scorecard.offset_),
        factor=float(scorecard.factor_),
        empty_score=float(scorecard.intercept_points_),
        binnings=bins,
        column_names=list(scorecard.column_names_),
        has_names=hasattr(scorecard, "feature_names_in_"),
    )


def _check_top(top: Any) -> None:
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise ValueError(f"top must be an integer >= 1, got {top!r}")


def _missing_bin(b: Any) -> int:
    """Bin of a missing value, as the binning itself assigns it."""
    if b.kind == "numeric":
        return int(b.index_numeric(np.array([np.nan]))[0])
    return int(b.index_codes(np.array([-1]), np.array([], dtype=object))[0])


def _specials(b: Any) -> tuple[np.ndarray, np.ndarray]:
    """Special values of a numeric binning and the bin of each (none if it has none)."""
    v = np.asarray(getattr(b, "specials", np.empty(0)), dtype=np.float64).ravel()
    if v.size == 0:
        return np.empty(0), np.empty(0, np.int64)
    # The binning decides where each special goes; ask it rather than assume a layout.
    return v, np.asarray(b.index_numeric(v.copy()), dtype=np.int64)


def _ptr(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)


def _cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    if not parts:
        return np.empty(0, dtype=dtype)
    return np.ascontiguousarray(np.concatenate(parts).astype(dtype))
