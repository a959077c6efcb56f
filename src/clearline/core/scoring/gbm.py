"""The gradient-boosted challenger: LightGBM with monotone constraints and exact reasons.

Same interface as :class:`~clearline.core.scoring.scorecard.Scorecard`: ``fit``,
``predict_proba``, ``score_points`` (same points scale: ``score = offset + factor *
ln(odds of good)``), ``explain`` / ``explain_indices``, ``features_``, ``to_dict`` /
``from_dict`` (the booster as LightGBM's own text model, never pickle).

Trend settings (``monotonic``) use the Scorecard's vocabulary and become LightGBM
``monotone_constraints`` on the log-odds of the event: "ascending" -> +1, "descending" ->
-1, "none" -> 0, and "auto" takes the sign of the Spearman correlation of the feature
with the target *on the rows passed to fit* (so cross-validation never leaks). "peak" and
"valley" have no LightGBM equivalent and give 0 (unconstrained); categorical features are
always 0 (their categories have no order).

Categorical columns (strings, booleans, or names listed in ``categorical``) are coded
against the categories seen in training, fixed at fit; missing and unseen categories go
in as NaN, LightGBM's missing value, so new categories never crash scoring.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.utils.validation import check_is_fitted

from clearline.core.scoring.estimator import ReasonedClassifier
from clearline.core.scoring.frame import Table
from clearline.core.scoring.params import encode_weight, encode_y
from clearline.core.scoring.points import rank_lost

FORMAT = "clearline.GBMChallenger/1"
TRENDS = ("auto", "ascending", "descending", "none", "peak", "valley")
_SIGN = {"ascending": 1, "descending": -1, "none": 0, "peak": 0, "valley": 0}


class GBMChallenger(ReasonedClassifier):
    """LightGBM challenger scored on the scorecard's points scale (``classes_[1]`` = bad).

    Parameters
    ----------
    n_estimators, num_leaves, learning_rate, min_child_samples : LightGBM tree settings.
    subsample : float
        Row share per tree (bagging every iteration when below 1).
    colsample : float
        Column share per tree.
    reg_lambda : float
        L2 penalty on leaf values.
    monotonic : str or dict
        "auto", "ascending", "descending", "none", "peak" or "valley" for every numeric
        feature, or a dict ``{feature: trend}`` (unlisted features use "auto").
    auto_z : float
        "auto" leaves a feature unconstrained when its Spearman correlation with the
        target is within ``auto_z`` standard errors (``1 / sqrt(n - 1)``) of zero: the
        direction is then not known, and forcing one cost AUC on German credit.
    categorical : list of str, optional
        Columns to treat as categorical even if numeric (bool/string ones always are).
    base_score, base_odds, pdo : points scaling, as in the Scorecard.
    random_state : int, optional
        LightGBM seed (the fit is deterministic for a given seed and ``n_jobs``).
    n_jobs : int
        LightGBM threads.
    """

    def __init__(
        self,
        n_estimators: int = 300,
        num_leaves: int = 8,
        learning_rate: float = 0.02,
        min_child_samples: int = 20,
        subsample: float = 1.0,
        colsample: float = 0.5,
        reg_lambda: float = 0.0,
        monotonic: str | dict[str, str] = "auto",
        auto_z: float = 2.0,
        categorical: list[str] | None = None,
        base_score: float = 600.0,
        base_odds: float = 50.0,
        pdo: float = 20.0,
        random_state: int | None = None,
        n_jobs: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample = colsample
        self.reg_lambda = reg_lambda
        self.monotonic = monotonic
        self.auto_z = auto_z
        self.categorical = categorical
        self.base_score = base_score
        self.base_odds = base_odds
        self.pdo = pdo
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> GBMChallenger:
        """Code the columns, derive the monotone constraints and boost the trees.

        ``sample_weight``: as in :meth:`Scorecard.fit` (rows of weight 0 are left out;
        the rest go to LightGBM as its row weights, scaled to a mean of 1).
        """
        self._check_params()
        table = self._fit_table(X)
        yb = encode_y(self, y, table.n_rows)
        rows, yb, w = encode_weight(sample_weight, yb, self.classes_)
        forced = set(self.categorical or ())
        trends = self.monotonic if isinstance(self.monotonic, dict) else {}
        for what, names in (("categorical", forced), ("monotonic", set(trends))):
            unknown = sorted(set(names) - set(table.names))
            if unknown:
                raise ValueError(f"{what} names columns not in X: {unknown}")
        table.refuse_temporal(forced, "GBMChallenger")
        self.column_names_ = list(table.names)
        self.categories_ = {
            n: np.unique(table.categories(n)[1]).tolist()
            for n in table.names
            if n in forced or not table.is_numeric(n)
        }
        M = self._matrix(table)
        if rows is not None:
            M = M[rows]
        self.trends_ = self._trends(M, yb, w)
        self.monotone_constraints_ = [_SIGN[self.trends_[n]] for n in self.column_names_]
        cat_idx = [j for j, n in enumerate(self.column_names_) if n in self.categories_]
        data = lgb.Dataset(
            M,
            label=yb,
            weight=w,
            feature_name=[f"f{j}" for j in range(M.shape[1])],  # names may hold any char
            categorical_feature=cat_idx,
            params={"verbose": -1},
            free_raw_data=True,
        )
        self.booster_ = lgb.train(self._lgb_params(), data, num_boost_round=self.n_estimators)
        used = self.booster_.feature_importance(importance_type="split") > 0
        self.n_features_in_ = len(self.column_names_)
        if table.has_names:
            self.feature_names_in_ = np.asarray(self.column_names_, dtype=object)
        self._set_scale(used)
        return self

    def _set_scale(self, used: np.ndarray) -> None:
        """Points scaling and the model features (columns used by at least one split)."""
        self.factor_ = float(self.pdo / np.log(2.0))
        self.offset_ = float(self.base_score - self.factor_ * np.log(self.base_odds))
        self._used_cols = np.flatnonzero(used)
        self.features_ = [self.column_names_[j] for j in self._used_cols]

    def _lgb_params(self) -> dict[str, Any]:
        seed = 0 if self.random_state is None else int(self.random_state)
        return {
            "objective": "binary",
            "num_leaves": int(self.num_leaves),
            "learning_rate": float(self.learning_rate),
            "min_child_samples": int(self.min_child_samples),
            "bagging_fraction": float(self.subsample),
            "bagging_freq": 1 if self.subsample < 1.0 else 0,
            "feature_fraction": float(self.colsample),
            "lambda_l2": float(self.reg_lambda),
            "monotone_constraints": self.monotone_constraints_,
            # "advanced" broke the constraint in our grid test (LightGBM 4.7); "intermediate"
            # holds it and constrains less than "basic"
            "monotone_constraints_method": "intermediate",
            "seed": seed,
            "num_threads": int(self.n_jobs),
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }

    def _trends(self, M: np.ndarray, yb: np.ndarray, w: np.ndarray | None) -> dict[str, str]:
        """Resolved trend of every column: categorical -> none, auto -> Spearman sign."""
        given = self.monotonic if isinstance(self.monotonic, dict) else {}
        default = "auto" if isinstance(self.monotonic, dict) else self.monotonic
        out: dict[str, str] = {}
        for j, n in enumerate(self.column_names_):
            trend = "none" if n in self.categories_ else given.get(n, default)
            if trend == "auto":
                rho, n_ok = _spearman(M[:, j], yb, w)
                if abs(rho) * np.sqrt(max(n_ok - 1, 0)) <= self.auto_z:
                    rho = 0.0
                trend = "ascending" if rho > 0 else "descending" if rho < 0 else "none"
            out[n] = trend
        return out

    def _check_params(self) -> None:
        for name in ("n_estimators", "min_child_samples", "n_jobs"):
            v = getattr(self, name)
            if not (isinstance(v, int | np.integer) and v >= 1):
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if not (isinstance(self.num_leaves, int | np.integer) and self.num_leaves >= 2):
            raise ValueError(f"num_leaves must be an integer >= 2, got {self.num_leaves!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        for name in ("subsample", "colsample"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)!r}")
        if not self.auto_z >= 0:
            raise ValueError(f"auto_z must be >= 0, got {self.auto_z!r}")
        if not self.reg_lambda >= 0:
            raise ValueError(f"reg_lambda must be >= 0, got {self.reg_lambda!r}")
        if not (self.pdo > 0 and self.base_odds > 0):
            raise ValueError("pdo and base_odds must be positive")
        given = self.monotonic.values() if isinstance(self.monotonic, dict) else [self.monotonic]
        bad = [t for t in given if t not in TRENDS]
        if bad:
            raise ValueError(f"monotonic trends must be one of {TRENDS}, got {bad!r}")

    # --------------------------------------------------------------- predicting
    def _matrix(self, table: Table, need: list[str] | None = None) -> np.ndarray:
        """(n, p) float matrix in training column order; categories as training codes.

        Columns in ``column_names_`` but not in ``need`` and absent from X are NaN: the
        trees never split on them, so they cannot change a prediction.
        """
        have = set(table.names)
        out = np.full((table.n_rows, len(self.column_names_)), np.nan)
        for j, n in enumerate(self.column_names_):
            if n not in have:
                continue
            if n in self.categories_:
                codes, labels = table.categories(n)
                pos = pd.Index(self.categories_[n], dtype=object).get_indexer(labels)
                mapped = np.append(pos, -1)[codes]  # code -1 (missing) picks the -1
                out[:, j] = np.where(mapped >= 0, mapped, np.nan)
            else:
                out[:, j] = table.numeric(n)
        return out

    def _prepared(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "booster_")
        return self._matrix(self._predict_table(X))

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw log-odds of the event (``classes_[1]``), the sum of the tree outputs."""
        M = self._prepared(X)  # checks the fit first
        return np.asarray(self.booster_.predict(M, raw_score=True), dtype=np.float64)

    def score_points(self, X: Any) -> np.ndarray:
        """Points of each row (higher = safer): ``offset - factor * log-odds of event``."""
        raw = self.decision_function(X)  # checks the fit first
        return self.offset_ - self.factor_ * raw

    # ---------------------------------------------------------------- explaining
    def contributions(self, X: Any) -> pd.DataFrame:
        """LightGBM's exact per-feature contributions to the event log-odds (TreeSHAP).

        One column per training column plus ``bias``; each row sums to the raw log-odds.
        """
        M = self._prepared(X)
        c = self.booster_.predict(M, pred_contrib=True)
        out = pd.DataFrame(np.asarray(c), columns=[*self.column_names_, "bias"])
        if isinstance(X, pd.DataFrame):
            out.index = X.index
        return out

    def explain_indices(self, X: Any, top: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the model features that pushed the event log-odds up the most.

        Returns ``idx`` (n, top) indices into ``features_`` (-1 = none) and ``lost``
        (n, top) the points each took off the score (``factor * contribution``, > 0),
        most first; ties keep model order.
        """
        if top < 1:
            raise ValueError(f"top must be >= 1, got {top}")
        M = self._prepared(X)
        c = np.asarray(self.booster_.predict(M, pred_contrib=True))
        pts_lost = self.factor_ * c[:, self._used_cols]
        # rank_lost ranks best - pts; with best = 0 and pts = -lost that is the loss itself
        return rank_lost(-pts_lost, np.zeros(len(self._used_cols)), top)

    # ------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state (LightGBM's text model + categories); never pickle."""
        check_is_fitted(self, "booster_")
        return {
            "format": FORMAT,
            "params": {k: _plain(v) for k, v in self.get_params().items()},
            "classes": self.classes_.tolist(),
            "has_feature_names": hasattr(self, "feature_names_in_"),
            "columns": list(self.column_names_),
            "categories": {k: list(v) for k, v in self.categories_.items()},
            "trends": dict(self.trends_),
            "features": list(self.features_),
            "booster": self.booster_.model_to_string(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GBMChallenger:
        """Rebuild a fitted challenger from :meth:`to_dict` output."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            got = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise ValueError(
                f"not a serialised GBMChallenger (format {got!r}, expected {FORMAT!r})"
            )
        try:
            m = cls(**d["params"])
            m.classes_ = np.asarray(d["classes"])
            m.column_names_ = list(d["columns"])
            m.n_features_in_ = len(m.column_names_)
            if d["has_feature_names"]:
                m.feature_names_in_ = np.asarray(m.column_names_, dtype=object)
            m.categories_ = {k: list(v) for k, v in d["categories"].items()}
            m.trends_ = dict(d["trends"])
            m.monotone_constraints_ = [_SIGN[m.trends_[n]] for n in m.column_names_]
            m.booster_ = lgb.Booster(model_str=d["booster"])
        except KeyError as exc:
            raise ValueError(
                f"serialised GBMChallenger is missing the key {exc.args[0]!r}"
            ) from exc
        used = np.isin(m.column_names_, d["features"])
        m._set_scale(used)
        return m


def _spearman(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float]:
    """Spearman correlation of a column with 0/1 ``y`` over its non-missing rows, and
    the number of those rows. With weights ``w``: the weighted correlation of the ranks,
    and Kish's effective number of rows, ``sum(w)^2 / sum(w^2)``."""
    ok = ~np.isnan(x)
    if w is None:
        n = float(ok.sum())
        if n < 3:
            return 0.0, n
        rx, yy = rankdata(x[ok]), y[ok]
        sx, sy = rx.std(), yy.std()
        if sx == 0 or sy == 0:
            return 0.0, n
        return float(np.mean((rx - rx.mean()) * (yy - yy.mean())) / (sx * sy)), n
    wk = w[ok]
    n = float(wk.sum() ** 2 / (wk @ wk)) if wk.size else 0.0
    if n < 3:
        return 0.0, n
    cov = np.cov(rankdata(x[ok]), y[ok], aweights=wk)
    if cov[0, 0] <= 0 or cov[1, 1] <= 0:
        return 0.0, n
    return float(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])), n


def _plain(v: Any) -> Any:
    """Parameter value as a plain JSON type."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, bool | int | float | str):
        return v
    raise TypeError(f"parameter value {v!r} is not JSON-safe (use int/float/str/None)")
