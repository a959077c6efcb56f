"""Calibration of a score to a probability of default, and reliability reporting.

A :class:`Calibrator` maps one number per row -- the model's points (higher = safer) or a
raw PD -- to a calibrated PD. It must be fitted on scores the model did not train on
(a held-out split, or out-of-fold scores: `calibrated.calibrate_cv`). Methods:

- "platt": ``pd = sigmoid(a + b * z)`` fitted by maximum likelihood with Platt's
  smoothed targets (no infinite slope on separable data);
- "isotonic": the monotone step function of least squares (pool adjacent violators),
  interpolated linearly between its thresholds and clipped at the ends;
- "auto": both are fitted on a stratified part of the calibration data and the one with
  the lower Brier score on the rest is chosen (``chosen_``; ties go to Platt, the
  smoother), then refitted on all of it.

``z`` is ``-points`` for scores and ``logit(pd)`` for PDs, so it always rises with risk
and both methods fit an increasing map. ``fit`` takes ``sample_weight``: a model
developed on a sample drawn by outcome (every bad, one good in ten) is calibrated to the
population's PD only if the calibration rows carry the same weights. As in the models'
``fit``, rows of weight 0 are left out and the rest scaled to a mean of 1.

Everything fitted is plain numbers, so ``to_dict``/``from_dict`` are JSON-safe and
restore an identical transform.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import train_test_split

from clearline.core.scoring.metrics import kept_rows
from clearline.core.scoring.params import encode_weight

FORMAT = "clearline.Calibrator/1"
METHODS = ("auto", "isotonic", "platt")
INPUTS = ("auto", "score", "pd")
_EPS = 1e-6  # calibrated PDs stay in [_EPS, 1 - _EPS]: a PD of exactly 0 or 1 is never
# credible, and it would make the log loss infinite


class Calibrator:
    """Monotone map from a model's score (or raw PD) to a calibrated PD.

    Parameters
    ----------
    method : {"auto", "isotonic", "platt"}
    input : {"auto", "score", "pd"}
        What ``fit``/``transform`` receive: points (higher = safer) or a PD in [0, 1].
        "auto" decides at fit: PD if every value lies in [0, 1], else score.
    validation_share : float
        Share of the calibration rows held out to choose the method when "auto".
    random_state : int
        Seed of that split.
    """

    def __init__(
        self,
        method: str = "auto",
        input: str = "auto",
        validation_share: float = 0.3,
        random_state: int = 0,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if input not in INPUTS:
            raise ValueError(f"input must be one of {INPUTS}, got {input!r}")
        if not 0.0 < validation_share < 1.0:
            raise ValueError(f"validation_share must be in (0, 1), got {validation_share!r}")
        self.method = method
        self.input = input
        self.validation_share = validation_share
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(self, s: Any, y: Any, sample_weight: Any = None) -> Calibrator:
        """Fit on held-out scores ``s`` and their 0/1 (or boolean) outcomes ``y``."""
        s, yb = _check_xy(s, y)
        rows, yb, w = encode_weight(sample_weight, yb, np.array([0, 1]), "scores")
        if rows is not None:
            s = s[rows]
        if len(np.unique(yb)) < 2:
            raise ValueError("calibration needs both outcomes in y (events and non-events)")
        if self.input == "auto":
            self.input_ = "pd" if bool(np.all((s >= 0) & (s <= 1))) else "score"
        else:
            self.input_ = self.input
        z = self._z(s)
        self.validation_: dict[str, dict[str, float]] = {}
        chosen = self.method
        if self.method == "auto":
            chosen = self._choose(z, yb, w)
        self.chosen_ = chosen
        self._fit_method(chosen, z, yb, w)
        return self

    def _choose(self, z: np.ndarray, yb: np.ndarray, w: np.ndarray | None) -> str:
        """Fit both methods on one part, keep the lower Brier score on the other."""
        n_minor = int(min(yb.sum(), len(yb) - yb.sum()))
        if n_minor * self.validation_share < 1 or n_minor * (1 - self.validation_share) < 2:
            raise ValueError(
                f"method='auto' needs more rows of each outcome to hold some out (the rarer "
                f"outcome has {n_minor}); pass method='platt' or more calibration data"
            )
        wf = wv = None
        split = train_test_split(
            z,
            yb,
            *([] if w is None else [w]),
            test_size=self.validation_share,
            stratify=yb,
            random_state=self.random_state,
        )
        zf, zv, yf, yv = split[:4]
        if w is not None:
            wf, wv = split[4:]
        for m in ("platt", "isotonic"):
            self._fit_method(m, zf, yf, wf)
            p = self._apply(m, zv)
            self.validation_[m] = {"brier": _brier(yv, p, wv), "log_loss": _log_loss(yv, p, wv)}
        iso, platt = self.validation_["isotonic"], self.validation_["platt"]
        return "isotonic" if iso["brier"] < platt["brier"] else "platt"

    def _fit_method(self, method: str, z: np.ndarray, yb: np.ndarray, w: np.ndarray | None) -> None:
        if method == "platt":
            self.platt_ = _fit_platt(z, yb, w)
        else:
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
            iso.fit(z, yb, sample_weight=w)
            self.iso_x_ = np.asarray(iso.X_thresholds_, dtype=np.float64)
            self.iso_y_ = np.asarray(iso.y_thresholds_, dtype=np.float64)

    # --------------------------------------------------------------- predicting
    def _z(self, s: np.ndarray) -> np.ndarray:
        if self.input_ == "score":
            return -s
        if np.any((s < 0) | (s > 1)):
            raise ValueError("this calibrator was fitted on PDs: values must lie in [0, 1]")
        p = np.clip(s, 1e-12, 1 - 1e-12)
        return np.log(p) - np.log1p(-p)

    def _apply(self, method: str, z: np.ndarray) -> np.ndarray:
        if method == "platt":
            a, b = self.platt_
            p = 1.0 / (1.0 + np.exp(-(a + b * z)))
        else:
            p = np.interp(z, self.iso_x_, self.iso_y_)  # flat beyond the end thresholds
        return np.clip(p, _EPS, 1.0 - _EPS)

    def transform(self, s: Any) -> np.ndarray:
        """Calibrated PD of each score (or raw PD)."""
        if not hasattr(self, "chosen_"):
            raise ValueError("this Calibrator is not fitted yet: call fit(scores, y) first")
        arr = _as_1d(s, "scores")
        return self._apply(self.chosen_, self._z(arr))

    # ------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state; :meth:`from_dict` restores an identical transform."""
        if not hasattr(self, "chosen_"):
            raise ValueError("this Calibrator is not fitted yet: call fit(scores, y) first")
        d: dict[str, Any] = {
            "format": FORMAT,
            "params": {
                "method": self.method,
                "input": self.input,
                "validation_share": float(self.validation_share),
                "random_state": int(self.random_state),
            },
            "input_": self.input_,
            "chosen": self.chosen_,
            "validation": self.validation_,
        }
        if self.chosen_ == "platt":
            d["platt"] = [float(v) for v in self.platt_]
        else:
            d["isotonic"] = {"x": self.iso_x_.tolist(), "y": self.iso_y_.tolist()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibrator:
        """Rebuild a fitted calibrator from :meth:`to_dict` output."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            got = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"not a serialised Calibrator (format {got!r}, expected {FORMAT!r})")
        try:
            c = cls(**d["params"])
            c.input_ = d["input_"]
            c.chosen_ = d["chosen"]
            c.validation_ = {k: dict(v) for k, v in d["validation"].items()}
            if c.chosen_ == "platt":
                c.platt_ = (float(d["platt"][0]), float(d["platt"][1]))
            else:
                c.iso_x_ = np.asarray(d["isotonic"]["x"], dtype=np.float64)
                c.iso_y_ = np.asarray(d["isotonic"]["y"], dtype=np.float64)
        except KeyError as exc:
            raise ValueError(f"serialised Calibrator is missing the key {exc.args[0]!r}") from exc
        return c


# -------------------------------------------------------------------- reliability
def reliability(
    y: Any, p: Any, bins: int = 10, strategy: str = "quantile", sample_weight: Any = None
) -> pd.DataFrame:
    """Reliability table: per bin of predicted PD, mean predicted, observed rate, count.

    ``strategy="quantile"`` makes bins of (about) equal count -- deciles by default, the
    usual "calibration by decile"; tied PDs stay in one bin, so there can be fewer bins.
    ``"uniform"`` cuts [0, 1] into equal widths. Empty bins are left out. With
    ``sample_weight``: quantiles of the weight, weighted means and rates, rows of weight
    0 left out, and a ``weight`` column.
    """
    p, yb = _check_xy(p, y, what="p")
    if not (isinstance(bins, int | np.integer) and bins >= 1):
        raise ValueError(f"bins must be an integer >= 1, got {bins!r}")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p must be probabilities in [0, 1]")
    yb, p, w = kept_rows(sample_weight, yb, p, "p")
    if strategy == "quantile":
        cuts = np.linspace(0, 1, bins + 1)[1:-1]
        edges = (
            np.quantile(p, cuts)
            if w is None
            else np.quantile(p, cuts, method="inverted_cdf", weights=w)
        )
    elif strategy == "uniform":
        edges = np.linspace(0, 1, bins + 1)[1:-1]
    else:
        raise ValueError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    idx = np.searchsorted(edges, p, side="right")
    count = np.bincount(idx, minlength=bins)
    weight = count if w is None else np.bincount(idx, weights=w, minlength=bins)
    keep = count > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.bincount(idx, weights=p if w is None else w * p, minlength=bins) / weight
        rate = np.bincount(idx, weights=yb if w is None else w * yb, minlength=bins) / weight
    lo = np.full(bins, np.inf)
    hi = np.full(bins, -np.inf)
    np.minimum.at(lo, idx, p)
    np.maximum.at(hi, idx, p)
    table = pd.DataFrame(
        {
            "bin": np.arange(bins)[keep],
            "p_min": lo[keep],
            "p_max": hi[keep],
            "mean_predicted": mean_p[keep],
            "observed_rate": rate[keep],
            "count": count[keep],
        }
    )
    if w is not None:
        table["weight"] = weight[keep]
    return table


def expected_calibration_error(
    y: Any, p: Any, bins: int = 10, strategy: str = "quantile", sample_weight: Any = None
) -> float:
    """ECE: mean of |observed rate - mean predicted| over the bins, weighted by each
    bin's rows (or, with ``sample_weight``, its weight)."""
    t = reliability(y, p, bins, strategy, sample_weight)
    size = t["count"] if sample_weight is None else t["weight"]
    gap = np.abs(t["observed_rate"] - t["mean_predicted"])
    return float((gap * size).sum() / size.sum())


# ---------------------------------------------------------------------- helpers
def _as_1d(v: Any, what: str) -> np.ndarray:
    arr = np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numeric, got dtype {arr.dtype}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} has missing or infinite values")
    return arr


def _check_xy(s: Any, y: Any, what: str = "scores") -> tuple[np.ndarray, np.ndarray]:
    arr = _as_1d(s, what)
    yy = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if yy.ndim != 1 or len(yy) != len(arr):
        raise ValueError(f"y must be 1-D with one value per row ({len(arr)}), got {yy.shape}")
    if len(arr) == 0:
        raise ValueError(f"{what} is empty")
    if pd.isna(yy).any() or not np.all(np.isin(np.unique(yy), [0, 1])):
        raise ValueError(f"y must be 0/1 or boolean, got values {np.unique(yy)[:5]}")
    return arr, yy.astype(np.float64)


def _fit_platt(z: np.ndarray, yb: np.ndarray, w: np.ndarray | None) -> tuple[float, float]:
    """(a, b) of ``sigmoid(a + b z)`` by Newton's method on Platt's smoothed targets,
    each row's terms times its weight ``w`` (None: 1)."""
    r: np.ndarray | float = 1.0 if w is None else w
    n1 = np.sum(r * yb)
    n0 = np.sum(r * (1.0 - yb))
    t = np.where(yb == 1, (n1 + 1) / (n1 + 2), 1 / (n0 + 2))
    mu, sd = z.mean(), z.std()
    sd = sd if sd > 0 else 1.0
    u = np.column_stack([np.ones_like(z), (z - mu) / sd])  # standardised: well conditioned

    def loss(c: np.ndarray) -> float:
        m = u @ c
        return float(np.sum(r * (np.logaddexp(0, m) - t * m)))

    c = np.zeros(2)
    cur = loss(c)
    for _ in range(100):
        q = 1.0 / (1.0 + np.exp(-(u @ c)))
        g = u.T @ (r * (q - t))
        h = (u * (r * q * (1 - q))[:, None]).T @ u + 1e-12 * np.eye(2)
        step = np.linalg.solve(h, g)
        k = 1.0
        while k > 1e-8 and loss(c - k * step) > cur:
            k /= 2  # halve until the loss does not rise (Newton can overshoot)
        c = c - k * step
        new = loss(c)
        if abs(cur - new) < 1e-12 * max(1.0, abs(cur)):
            break
        cur = new
    return float(c[0] - c[1] * mu / sd), float(c[1] / sd)


def _brier(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    return float(np.average((p - y) ** 2, weights=w))


def _log_loss(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    return float(-np.average(y * np.log(p) + (1 - y) * np.log1p(-p), weights=w))
