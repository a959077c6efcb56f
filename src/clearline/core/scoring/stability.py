"""Population stability: PSI of the score and CSI of each feature.

Both indices compare two distributions over the same bins::

    index = sum_i (a_i - e_i) * ln(a_i / e_i)

with ``e_i`` the share of the development ("expected") sample in bin ``i`` and ``a_i``
the share of the recent ("actual") sample. A bin empty on either side would make the
logarithm infinite, so empty shares are raised to ``EPS`` (a common convention; the
shares then no longer sum to exactly 1, which is harmless at this size).

Usual reading (``status``): below 0.10 stable, 0.10 to 0.25 watch, 0.25 or more shifted.

Either sample may carry weights (``expected_weight`` / ``dev_weight``, ``actual_weight``
/ ``recent_weight``): a development sample drawn by outcome stands for the population
only with the weights its model was fitted with. Shares are then shares of weight, and
the quantile edges weighted quantiles (each still an observed value).

CSI bins: by default the model's own bins (``model_binner``: every feature is looked up
in the scorecard's fitted ``binnings_``, missing and unseen categories in their own
bins), so CSI speaks about exactly the groups the points are given to. Without a model,
``quantile_binner`` cuts numeric features at quantiles of the development sample and
keeps categorical features by category (plus missing and unseen bins).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from clearline.core.scoring.frame import Table
from clearline.core.scoring.params import check_weight

EPS = 1e-4
STABLE, SHIFTED = 0.10, 0.25

# (frame, feature) -> (bin index of every row, number of bins)
Binner = Callable[[Any, str], tuple[np.ndarray, int]]


def status(index: float | None) -> str:
    """Traffic light of a PSI/CSI value: "stable", "watch", "shifted" (or "n/a")."""
    if index is None or not np.isfinite(index):
        return "n/a"
    return "stable" if index < STABLE else "watch" if index < SHIFTED else "shifted"


def index_from_counts(expected: Any, actual: Any) -> float:
    """Stability index of two count (or share) vectors over the same bins."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape or e.ndim != 1:
        raise ValueError(f"expected and actual need the same 1-D shape, got {e.shape}, {a.shape}")
    if (e < 0).any() or (a < 0).any():
        raise ValueError("bin counts cannot be negative")
    if e.sum() == 0 or a.sum() == 0:
        raise ValueError("both samples need at least one row")
    es = np.maximum(e / e.sum(), EPS)
    as_ = np.maximum(a / a.sum(), EPS)
    return float(np.sum((as_ - es) * np.log(as_ / es)))


def quantile_edges(values: np.ndarray, bins: int, weight: np.ndarray | None = None) -> np.ndarray:
    """Inner edges at the quantiles of ``values`` (ties collapse: fewer bins), of their
    ``weight`` when given."""
    if not (isinstance(bins, int | np.integer) and bins >= 2):
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    ok = np.isfinite(values) if weight is None else np.isfinite(values) & (weight > 0)
    finite = values[ok]
    if finite.size == 0:
        return np.empty(0)
    # "higher" (weighted: "inverted_cdf"): every edge is an observed value, so a discrete
    # score (a scorecard has few distinct totals) is cut between its values, never
    # inside a mass point.
    cuts = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    if weight is None:
        qs = np.quantile(finite, cuts, method="higher")
    else:
        qs = np.quantile(finite, cuts, method="inverted_cdf", weights=weight[ok])
    # An edge at the minimum would only create an empty first bin.
    return np.unique(qs[qs > finite.min()])


def _numeric(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if np.isnan(arr).any():
        raise ValueError(f"{name} has missing values")
    return arr


def _weight(w: Any, n: int, of: str) -> np.ndarray | None:
    return None if w is None else check_weight(w, n, of)


def psi_table(
    expected: Any,
    actual: Any,
    bins: int = 10,
    expected_weight: Any = None,
    actual_weight: Any = None,
) -> dict[str, Any]:
    """PSI with its bins: edges from the quantiles of ``expected``.

    Returns ``{"psi", "status", "edges", "expected_share", "actual_share"}`` (lists).
    """
    e = _numeric(expected, "expected")
    a = _numeric(actual, "actual")
    we = _weight(expected_weight, e.size, "expected")
    wa = _weight(actual_weight, a.size, "actual")
    edges = quantile_edges(e, bins, we)
    k = edges.size + 1
    ce = np.bincount(np.searchsorted(edges, e, side="right"), weights=we, minlength=k)
    ca = np.bincount(np.searchsorted(edges, a, side="right"), weights=wa, minlength=k)
    value = index_from_counts(ce, ca)
    return {
        "psi": value,
        "status": status(value),
        "edges": edges.tolist(),
        "expected_share": (ce / ce.sum()).tolist(),
        "actual_share": (ca / ca.sum()).tolist(),
    }


def psi(
    expected: Any,
    actual: Any,
    bins: int = 10,
    expected_weight: Any = None,
    actual_weight: Any = None,
) -> float:
    """Population stability index of a score between ``expected`` (development) and
    ``actual`` (recent) samples, on ``bins`` quantile bins of ``expected``."""
    return float(psi_table(expected, actual, bins, expected_weight, actual_weight)["psi"])


def model_binner(model: Any) -> Binner:
    """Bins of a fitted Scorecard (its ``binnings_``): the groups that carry points."""
    binnings = getattr(model, "binnings_", None)
    if binnings is None:
        raise ValueError("model_binner needs a fitted Scorecard (no binnings_)")

    def bin_of(frame: Any, feature: str) -> tuple[np.ndarray, int]:
        if feature not in binnings:
            raise ValueError(f"the model has no bins for feature {feature!r}")
        b = binnings[feature]
        table = Table(frame)
        table.require([feature])
        if b.kind == "numeric":
            idx = b.index_numeric(table.numeric(feature))
        else:
            idx = b.index_codes(*table.categories(feature))
        return idx, len(b.counts)

    return bin_of


def quantile_binner(
    dev_frame: Any, features: Sequence[str], bins: int = 10, dev_weight: Any = None
) -> Binner:
    """Bins learnt from the development frame alone: quantiles (of ``dev_weight`` when
    given) for numeric features, one bin per category otherwise; missing and unseen
    values get bins of their own."""
    table = Table(dev_frame)
    table.require(list(features))
    weight = _weight(dev_weight, table.n_rows, "dev_frame")
    numeric: dict[str, np.ndarray] = {}
    cats: dict[str, np.ndarray] = {}
    for f in features:
        if table.is_numeric(f):
            numeric[f] = quantile_edges(table.numeric(f), bins, weight)
        else:
            cats[f] = table.categories(f)[1]

    def bin_of(frame: Any, feature: str) -> tuple[np.ndarray, int]:
        t = Table(frame)
        t.require([feature])
        if feature in numeric:
            edges = numeric[feature]
            x = t.numeric(feature)
            idx = np.searchsorted(edges, x, side="right")
            idx[np.isnan(x)] = edges.size + 1  # missing bin
            return idx, edges.size + 2
        known = cats[feature]
        codes, labels = t.categories(feature)
        pos = np.searchsorted(known, labels)
        if known.size:
            found = (pos < known.size) & (known[np.minimum(pos, known.size - 1)] == labels)
        else:  # every development value was missing: all recent labels are unseen
            found = np.zeros(labels.size, dtype=bool)
        label_bin = np.where(found, pos, known.size + 1)  # unseen after missing
        idx = np.where(codes >= 0, np.append(label_bin, known.size)[codes], known.size)
        return idx, known.size + 2

    return bin_of


def csi(
    dev_frame: Any,
    recent_frame: Any,
    features: Sequence[str],
    binner: Binner | Any | None = None,
    dev_weight: Any = None,
    recent_weight: Any = None,
) -> list[dict[str, Any]]:
    """Characteristic stability index of each feature, development vs recent.

    Parameters
    ----------
    dev_frame, recent_frame : frames (polars, pandas) holding ``features``.
    features : the features to check (usually the model's ``features_``).
    binner : a fitted Scorecard (its own bins, the default in reports), a ``Binner``
        callable, or None for quantile bins of ``dev_frame`` (see the module docstring).
    dev_weight, recent_weight : row weights of either frame (None: each row counts 1).

    Returns
    -------
    list of ``{"feature", "csi", "status", "n_bins"}``, in the order of ``features``.
    """
    wd = _weight(dev_weight, Table(dev_frame).n_rows, "dev_frame")
    wr = _weight(recent_weight, Table(recent_frame).n_rows, "recent_frame")
    if binner is None:
        binner = quantile_binner(dev_frame, features, dev_weight=wd)
    elif hasattr(binner, "binnings_"):
        binner = model_binner(binner)
    elif not callable(binner):
        raise TypeError("binner must be a Scorecard, a callable or None")
    rows = []
    for f in features:
        dev_idx, k = binner(dev_frame, f)
        rec_idx, _ = binner(recent_frame, f)
        value = index_from_counts(
            np.bincount(dev_idx, weights=wd, minlength=k),
            np.bincount(rec_idx, weights=wr, minlength=k),
        )
        rows.append({"feature": f, "csi": value, "status": status(value), "n_bins": int(k)})
    return rows
