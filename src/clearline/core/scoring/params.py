"""Checks of the Scorecard's parameters and their per-feature lookup.

``monotonic`` and ``special_codes`` take one value for every feature or a dict
feature -> value; the dict form falls back to the default for features it leaves out.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import DataConversionWarning

from clearline.core.scoring.trends import TRENDS

SELECTIONS = ("iv", "stepwise", "l1")


def trend_of(monotonic: str | dict[str, str], name: str) -> str:
    """The trend setting of feature ``name`` (``auto`` when a dict leaves it out)."""
    if isinstance(monotonic, dict):
        return monotonic.get(name, "auto")
    return monotonic


def specials_of(special_codes: Any, name: str) -> np.ndarray:
    """The special values of feature ``name`` as floats (none when not given)."""
    if special_codes is None:
        return np.empty(0)
    if isinstance(special_codes, dict):
        special_codes = special_codes.get(name, [])
    return np.asarray(list(special_codes), dtype=np.float64)


def _check_trend(v: Any, where: str) -> None:
    if v not in TRENDS:
        raise ValueError(f"{where} must be one of {', '.join(TRENDS)}, got {v!r}")


def _check_codes(v: Any, where: str) -> None:
    if isinstance(v, str | bytes) or not hasattr(v, "__iter__"):
        raise ValueError(f"{where} must be a list of numbers, got {v!r}")
    for c in v:
        if isinstance(c, bool) or not isinstance(c, int | float | np.integer | np.floating):
            raise ValueError(f"{where} must hold numbers only, got {c!r}")
        if not np.isfinite(c):
            raise ValueError(f"{where} must hold finite numbers (NaN is missing), got {c!r}")


def check_params(sc: Any, names: list[str] | None = None) -> None:
    """Raise a ValueError naming the first bad parameter of scorecard ``sc``.

    With ``names`` (the columns of X), dict-valued settings must only name those.
    """
    if not (isinstance(sc.max_bins, int | np.integer) and sc.max_bins >= 1):
        raise ValueError(f"max_bins must be an integer >= 1, got {sc.max_bins!r}")
    if not (isinstance(sc.n_prebins, int | np.integer) and sc.n_prebins >= 1):
        raise ValueError(f"n_prebins must be an integer >= 1, got {sc.n_prebins!r}")
    if not 0.0 <= sc.min_bin_share < 0.5:
        raise ValueError(f"min_bin_share must be in [0, 0.5), got {sc.min_bin_share!r}")
    if isinstance(sc.monotonic, dict):
        for k, v in sc.monotonic.items():
            _check_trend(v, f"monotonic[{k!r}]")
    else:
        _check_trend(sc.monotonic, "monotonic")
    if isinstance(sc.special_codes, dict):
        for k, v in sc.special_codes.items():
            _check_codes(v, f"special_codes[{k!r}]")
    elif sc.special_codes is not None:
        _check_codes(sc.special_codes, "special_codes")
    if sc.selection not in SELECTIONS:
        raise ValueError(f"selection must be one of {', '.join(SELECTIONS)}, got {sc.selection!r}")
    if isinstance(sc.C, str):
        if sc.C != "auto":
            raise ValueError(f"C must be a positive number or 'auto', got {sc.C!r}")
    elif not sc.C > 0:
        raise ValueError(f"C must be positive, got {sc.C!r}")
    if not (sc.pdo > 0 and sc.base_odds > 0):
        raise ValueError("pdo and base_odds must be positive")
    if sc.bagging != "auto" and (
        isinstance(sc.bagging, bool)
        or not isinstance(sc.bagging, int | np.integer)
        or sc.bagging < 1
    ):
        raise ValueError(f"bagging must be an integer >= 1 or 'auto', got {sc.bagging!r}")
    if sc.max_features is not None and sc.max_features < 1:
        raise ValueError(f"max_features must be >= 1 or None, got {sc.max_features!r}")
    if names is not None:
        have = set(names)
        for pname in ("monotonic", "special_codes"):
            value = getattr(sc, pname)
            unknown = sorted(set(value) - have) if isinstance(value, dict) else []
            if unknown:
                raise ValueError(f"{pname} names columns not in X: {unknown}")


def encode_y(sc: Any, y: Any, n_rows: int) -> np.ndarray:
    """Check y, set ``sc.classes_`` and return y as 0/1 floats with ``classes_[1]`` as 1."""
    if y is None:
        raise ValueError(f"{type(sc).__name__} requires y to be passed, but the target y is None")
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected: use shape (n,)",
            DataConversionWarning,
            stacklevel=4,
        )
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {arr.shape}")
    if len(arr) != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {len(arr)}: lengths must match")
    if pd.isna(arr).any():
        raise ValueError("y has missing values; the target must be known for every row")
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise ValueError("y has infinite values")
    classes = np.unique(arr)
    if arr.dtype.kind == "f" and len(classes) > 2 and np.any(classes != np.round(classes)):
        raise ValueError("Unknown label type: continuous. y must be a binary target")
    if len(classes) > 2:
        raise ValueError(
            f"Only binary classification is supported. y has {len(classes)} classes: {classes[:5]}"
        )
    if len(classes) < 2:
        raise ValueError(f"y must be binary but has only 1 class ({classes[0]!r})")
    _warn_if_good_is_the_event(type(sc).__name__, classes)
    sc.classes_ = classes
    return (arr == classes[1]).astype(np.float64)


#: Labels of a good outcome. Text labels are sorted, as scikit-learn sorts them, and the
#: second is the event the model scores as bad; for "bad"/"good" or "Charged Off"/"Fully
#: Paid" that second label is the good one.
_GOOD_OUTCOMES = frozenset(
    {
        "good",
        "paid",
        "repaid",
        "fully paid",
        "paid off",
        "current",
        "performing",
        "non-default",
        "nondefault",
        "no default",
        "not default",
        "creditworthy",
    }
)


def _warn_if_good_is_the_event(model: str, classes: np.ndarray) -> None:
    """Warn when the event (``classes_[1]``) is a label that names a good outcome: the
    fit still works and its AUC is right, but its points would favour the bad outcome
    and each reason would name what makes a borrower look good."""
    if not isinstance(classes[1], str):
        return
    event, other = str(classes[1]), str(classes[0])  # np.str_ would print as np.str_(...)
    if event.strip().lower() not in _GOOD_OUTCOMES:
        return
    warnings.warn(
        f"{model} scores y == {event!r} as the event (the bad outcome): it is classes_[1], "
        f"the second label in scikit-learn's sorted order, and {event!r} looks like a good "
        f"outcome, so the points would favour the bad outcome and each reason would name "
        f"what makes a borrower look good. To score {other!r} as bad, pass y == {other!r} "
        f"(1 = bad, 0 = good).",
        UserWarning,
        stacklevel=4,
    )


def check_weight(sample_weight: Any, n: int, rows_of: str) -> np.ndarray:
    """``sample_weight`` as float64 for ``n`` rows (of ``rows_of``, for the message), or
    a ValueError naming what is wrong: its shape or length, a value that is not a
    number, missing, infinite or negative, or every weight zero."""
    if hasattr(sample_weight, "to_numpy"):
        sample_weight = sample_weight.to_numpy()
    w = np.asarray(sample_weight)
    if w.ndim != 1:
        raise ValueError(f"sample_weight must be 1-D, got shape {w.shape}")
    if len(w) != n:
        raise ValueError(
            f"{rows_of} has {n} rows but sample_weight has {len(w)}: lengths must match"
        )
    try:
        if w.dtype.kind not in "biufO":
            raise TypeError
        w = w.astype(np.float64)  # an object array of numbers converts too
    except (TypeError, ValueError):
        raise ValueError(f"sample_weight must be numbers, got dtype {w.dtype}") from None
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight has missing or infinite values")
    if (w < 0).any():
        raise ValueError(f"sample_weight must be >= 0, got {float(w.min())!r}")
    if not (w > 0).any():
        raise ValueError("sample_weight is zero for every row")
    return w


def encode_weight(
    sample_weight: Any, y: np.ndarray, classes: np.ndarray, rows_of: str = "X"
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Check ``sample_weight`` against 0/1 ``y`` (from :func:`encode_y`, labels
    ``classes``). Returns the rows to fit (None: all), their ``y``, and their weights
    scaled to a mean of 1 (None: all equal, which is the same as no weights).

    Rows of weight 0 are left out of the fit. Scaling keeps the weighted counts on the
    scale of the row counts, so the significance tests of the binning and selection see
    about as many rows as there are, not as many as the weights add up to: weights of
    10 on goods sampled one in ten restore the population's event rate, not ten times
    the evidence.
    """
    if sample_weight is None:
        return None, y, None
    w = check_weight(sample_weight, len(y), rows_of)
    kept = w > 0
    for value, label in ((0.0, classes[0]), (1.0, classes[1])):
        if not kept[y == value].any():
            shown = label.item() if isinstance(label, np.generic) else label  # not np.int64(1)
            raise ValueError(f"sample_weight is zero for every row of class {shown!r}")
    rows = None if kept.all() else kept
    if rows is not None:
        w, y = w[rows], y[rows]
    w = w / w.max()  # first, so that the mean of huge weights cannot overflow
    return rows, y, (None if np.all(w == w[0]) else w / w.mean())
