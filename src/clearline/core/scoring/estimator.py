"""What the Scorecard and the GBM challenger share as scikit-learn classifiers.

Both read pandas, polars or numpy through :class:`~clearline.core.scoring.frame.Table`,
predict the event (``classes_[1]``) from one log-odds (``decision_function``) and name
the features that cost a row most points (``explain_indices``). This base holds the
parts that do not depend on how the log-odds are made, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from clearline.core.scoring.frame import Table


class ReasonedClassifier(ClassifierMixin, BaseEstimator):
    """A binary classifier on mixed frames with per-row reason codes.

    Subclasses set ``features_`` (the model's features), ``column_names_`` and
    ``n_features_in_`` at fit, and define ``decision_function`` and ``explain_indices``.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.classifier_tags.multi_class = False
        return tags

    # ------------------------------------------------------------------- tables
    def _fit_table(self, X: Any) -> Table:
        """``X`` wrapped for fitting; a ValueError when it has no rows or no columns."""
        table = Table(X)
        what = type(self).__name__
        if table.n_rows == 0:
            raise ValueError(f"X has no rows: cannot fit a {what} on empty data")
        if not table.names:
            raise ValueError(
                f"X has 0 feature(s) (shape=({table.n_rows}, 0)) while a minimum of 1 is "
                f"required: cannot fit a {what} without features"
            )
        return table

    def _predict_table(self, X: Any) -> Table:
        """``X`` wrapped for predicting: named as in training (by position when it has
        no names, or the model was fitted without them) and holding every model feature."""
        check_is_fitted(self, "features_")
        table = Table(X)
        if not table.has_names or not hasattr(self, "feature_names_in_"):
            if len(table.names) != self.n_features_in_:
                raise ValueError(
                    f"X has {len(table.names)} features, but {type(self).__name__} is "
                    f"expecting {self.n_features_in_} features as input."
                )
            table.rename(self.column_names_)
        table.require(self.features_)
        return table

    # --------------------------------------------------------------- predicting
    def decision_function(self, X: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, 2) probabilities of ``classes_[0]`` and ``classes_[1]`` (the event)."""
        pd_ = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - pd_, pd_])

    def predict(self, X: Any) -> np.ndarray:
        """The more likely class of each row; a tie (PD = 0.5) goes to ``classes_[0]``,
        as scikit-learn reads a decision function (the event when it is above 0)."""
        event = self.decision_function(X) > 0
        return self.classes_[event.astype(np.int64)]

    # ---------------------------------------------------------------- explaining
    def explain_indices(  # pragma: no cover - abstract
        self, X: Any, top: int = 4
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def explain(self, X: Any, top: int = 4) -> pd.DataFrame:
        """Reason codes: columns ``reason_1..reason_{top}`` of feature names or None."""
        idx, _ = self.explain_indices(X, top)
        names = np.array([*self.features_, None], dtype=object)
        picked = names[np.where(idx >= 0, idx, len(self.features_))]
        # object dtype keeps None as None (a str column would turn it into NaN)
        cols = {f"reason_{i + 1}": pd.Series(picked[:, i], dtype=object) for i in range(top)}
        out = pd.DataFrame(cols)
        if isinstance(X, pd.DataFrame):
            out.index = X.index  # rows line up with the caller's frame
        return out
