"""A fitted model with a calibrated PD, and the ways to calibrate one without leakage.

The base model keeps its points and reasons (``score_points``, ``explain``): calibration
changes only the probability, never why a row scored as it did.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from clearline.core.scoring.calibration import Calibrator, _as_1d, _check_xy  # noqa: F401


def cross_fitted_scores(
    estimator: Any, X: Any, y: Any, cv: int = 5, seed: int = 0, sample_weight: Any = None
) -> np.ndarray:
    """Out-of-fold ``score_points`` of clones of ``estimator`` (stratified ``cv`` folds),
    each clone fitted with its rows' ``sample_weight`` when given."""
    yy = np.asarray(y)
    w = None if sample_weight is None else np.asarray(sample_weight)
    out = np.empty(len(yy))
    for tr, te in StratifiedKFold(cv, shuffle=True, random_state=seed).split(np.zeros(len(yy)), yy):
        given = {} if w is None else {"sample_weight": w[tr]}
        m = clone(estimator).fit(_rows(X, tr), yy[tr], **given)
        out[te] = m.score_points(_rows(X, te))
    return out


def _rows(X: Any, idx: np.ndarray) -> Any:
    if isinstance(X, pd.DataFrame):
        return X.iloc[idx]
    if hasattr(X, "__dataframe__") and hasattr(X, "columns") and hasattr(X, "height"):
        return X[idx]  # polars
    return np.asarray(X)[idx]


# --------------------------------------------------------------- calibrated model
_MODELS = ("Scorecard", "GBMChallenger")  # the only classes from_dict will rebuild


class CalibratedModel:
    """A fitted model whose ``predict_proba`` goes through a :class:`Calibrator`.

    ``score_points``, ``explain`` and ``explain_indices`` (the reasons) and ``features_``
    are the base model's own: calibration changes the PD attached to a score, not the
    ranking nor why a row scored as it did.
    """

    def __init__(self, model: Any, calibrator: Calibrator) -> None:
        if not hasattr(model, "classes_"):
            raise ValueError("the model must be fitted before it is calibrated")
        self.model = model
        self.calibrator = calibrator

    @property
    def classes_(self) -> np.ndarray:
        return self.model.classes_

    @property
    def features_(self) -> list[str]:
        return self.model.features_

    def _raw(self, X: Any) -> np.ndarray:
        return _model_input(self.model, X, self.calibrator.input_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, 2) calibrated probabilities of ``classes_[0]`` and ``classes_[1]``."""
        p = self.calibrator.transform(self._raw(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)]

    def score_points(self, X: Any) -> np.ndarray:
        return self.model.score_points(X)

    def explain(self, X: Any, top: int = 4) -> pd.DataFrame:
        return self.model.explain(X, top)

    def explain_indices(self, X: Any, top: int = 4) -> tuple[np.ndarray, np.ndarray]:
        return self.model.explain_indices(X, top)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the base model's own dict, its class name and the calibrator."""
        return {
            "format": "clearline.CalibratedModel/1",
            "model_class": type(self.model).__name__,
            "model": self.model.to_dict(),
            "calibrator": self.calibrator.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CalibratedModel:
        if not isinstance(d, dict) or d.get("format") != "clearline.CalibratedModel/1":
            raise ValueError("not a serialised CalibratedModel")
        name = d.get("model_class")
        if name not in _MODELS:  # never import a class named by a file
            raise ValueError(f"model_class must be one of {_MODELS}, got {name!r}")
        if name == "Scorecard":
            from clearline.core.scoring.scorecard import Scorecard as klass
        else:
            from clearline.core.scoring.gbm import GBMChallenger as klass  # type: ignore[assignment]
        return cls(klass.from_dict(d["model"]), Calibrator.from_dict(d["calibrator"]))


def _model_input(model: Any, X: Any, kind: str) -> np.ndarray:
    """The number the calibrator reads: the model's points, or its raw event PD."""
    if kind == "score":
        return np.asarray(model.score_points(X), dtype=np.float64)
    return np.asarray(model.predict_proba(X), dtype=np.float64)[:, 1]


def _event(model: Any, y: Any) -> np.ndarray:
    """y as 0/1 with the model's ``classes_[1]`` (the event) as 1."""
    yy = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    unknown = np.setdiff1d(np.unique(yy[~pd.isna(yy)]), model.classes_)
    if len(unknown) or pd.isna(yy).any():
        raise ValueError(f"y holds values that are not the model's classes {model.classes_}")
    return (yy == model.classes_[1]).astype(np.int64)


def calibrate(
    model: Any,
    X_cal: Any,
    y_cal: Any,
    method: str = "auto",
    random_state: int = 0,
    sample_weight: Any = None,
) -> CalibratedModel:
    """Calibrate a fitted model on held-out rows (never the rows it was trained on),
    weighted by ``sample_weight`` when given."""
    if not hasattr(model, "classes_"):
        raise ValueError("the model must be fitted before it is calibrated")
    kind = "score" if hasattr(model, "score_points") else "pd"
    s = _model_input(model, X_cal, kind)
    cal = Calibrator(method=method, input=kind, random_state=random_state)
    return CalibratedModel(model, cal.fit(s, _event(model, y_cal), sample_weight))


def calibrate_cv(
    estimator: Any,
    X: Any,
    y: Any,
    cv: int = 5,
    method: str = "auto",
    random_state: int = 0,
    sample_weight: Any = None,
) -> CalibratedModel:
    """Cross-fitted calibration: the calibrator learns from out-of-fold points of clones,
    the returned model is ``estimator`` refitted on all rows; ``sample_weight``, when
    given, weighs every fit and the calibration."""
    given = {} if sample_weight is None else {"sample_weight": sample_weight}
    model = clone(estimator).fit(X, y, **given)
    s = cross_fitted_scores(estimator, X, y, cv=cv, seed=random_state, sample_weight=sample_weight)
    cal = Calibrator(method=method, input="score", random_state=random_state)
    return CalibratedModel(model, cal.fit(s, _event(model, y), sample_weight))
