"""JSON-safe state of a fitted Scorecard (never pickle: a model file is data, not code).

The stored points are used as they are on load, so a restored scorecard scores exactly
like the original; WoE and IV of the bins are recomputed from the stored counts by the
same code, hence identically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from clearline.core.scoring.binning import FeatureBinning

if TYPE_CHECKING:
    from clearline.core.scoring.scorecard import Scorecard

FORMAT = "clearline.Scorecard/1"


def _plain(v: Any) -> Any:
    """Parameter value as a plain JSON type (numpy scalars, tuples and dicts unwrapped)."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, list | tuple | np.ndarray):
        return [_plain(x) for x in v]
    if isinstance(v, dict):  # per-feature settings (monotonic, special_codes)
        return {str(k): _plain(x) for k, x in v.items()}
    if v is None or isinstance(v, bool | int | float | str):
        return v
    raise TypeError(f"parameter value {v!r} is not JSON-safe (use int/float/str/None)")


def to_dict(sc: Scorecard) -> dict[str, Any]:
    """Everything a fitted scorecard needs to predict, explain and report."""
    return {
        "format": FORMAT,
        "params": {k: _plain(v) for k, v in sc.get_params().items()},
        "classes": sc.classes_.tolist(),
        "has_feature_names": hasattr(sc, "feature_names_in_"),
        "columns": list(sc.column_names_),
        "binnings": [b.to_dict() for b in sc.binnings_.values()],
        "iv": dict(sc.iv_),
        "selection": dict(sc.selection_),
        "features": list(sc.features_),
        "coef": sc.coef_.tolist(),
        "intercept": sc.intercept_,
        "C": sc.C_,
        "factor": sc.factor_,
        "offset": sc.offset_,
        "intercept_points": sc.intercept_points_,
        "points": {f: p.tolist() for f, p in sc.points_.items()},
        "members": sc.n_members_,
        "used_by": dict(getattr(sc, "used_by_", {})),
    }


def params_of(d: dict[str, Any]) -> dict[str, Any]:
    """Constructor parameters of a serialised scorecard (checks the format first)."""
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        got = d.get("format") if isinstance(d, dict) else type(d).__name__
        raise ValueError(f"not a serialised Scorecard (format {got!r}, expected {FORMAT!r})")
    return dict(d["params"])


def restore(sc: Scorecard, d: dict[str, Any]) -> None:
    """Set the fitted attributes of ``sc`` from :func:`to_dict` output."""
    try:
        sc.classes_ = np.asarray(d["classes"])
        sc.column_names_ = list(d["columns"])
        sc.n_features_in_ = len(sc.column_names_)
        if d["has_feature_names"]:
            sc.feature_names_in_ = np.asarray(sc.column_names_, dtype=object)
        sc.binnings_ = {b["name"]: FeatureBinning.from_dict(b) for b in d["binnings"]}
        sc.iv_ = {k: float(v) for k, v in d["iv"].items()}
        sc.selection_ = dict(d["selection"])
        sc.features_ = list(d["features"])
        sc.coef_ = np.asarray(d["coef"], dtype=np.float64)
        sc.intercept_ = float(d["intercept"])
        sc.C_ = float(d.get("C", sc.C if not isinstance(sc.C, str) else np.nan))
        sc.factor_ = float(d["factor"])
        sc.offset_ = float(d["offset"])
        sc.intercept_points_ = float(d["intercept_points"])
        sc.points_ = {f: np.asarray(p, dtype=np.float64) for f, p in d["points"].items()}
        sc.n_members_ = int(d.get("members", 1))  # models saved before bagging: one fit
        if d.get("used_by"):
            sc.used_by_ = {f: int(k) for f, k in d["used_by"].items()}
    except KeyError as exc:
        raise ValueError(f"serialised Scorecard is missing the key {exc.args[0]!r}") from exc
    missing = [f for f in sc.features_ if f not in sc.binnings_ or f not in sc.points_]
    if missing or len(sc.coef_) != len(sc.features_):
        raise ValueError(f"serialised Scorecard is inconsistent (features {missing})")
