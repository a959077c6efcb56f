"""Model validation: discrimination, calibration, KS/ROC curves, champion vs challenger.

Every result is plain JSON (dicts, lists, floats, ints, strings, None) so it can be kept
in the model artefact as it is. ``y`` is 0/1 (1 = default); ``p`` is a predicted
probability of default (higher = riskier). Stability (PSI of the score, CSI per
feature) lives in ``stability.py`` and is re-exported here.

Each function takes ``sample_weight`` (see ``metrics.py``): a sample drawn by outcome is
measured as the population it stands for. Counts (``n``, ``events``, ``count``) stay
counts of rows; rates, means and metrics are weighted, and ``weight`` says the total.

Sample names used by the train service: ``"train"`` (development), ``"test"``
(out-of-sample: borrowers the model never saw) and ``"oot"`` (out-of-time: a later
observation date).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from clearline.core.scoring.metrics import (
    _check,
    auc,
    brier,
    gini,
    grouped_auc,
    kept_rows,
    ks,
    value_groups,
    weights_of,
)
from clearline.core.scoring.stability import csi, psi, psi_table, status

__all__ = [
    "calibration_table",
    "compare_models",
    "compare_predictions",
    "csi",
    "discrimination",
    "ks_curve",
    "predict_pd",
    "psi",
    "psi_table",
    "roc_points",
    "stability_summary",
    "status",
    "validate_model",
    "validate_predictions",
]


def predict_pd(model: Any, X: Any) -> np.ndarray:
    """Probability of the event (``classes_[1]``) for each row of ``X``."""
    return np.asarray(model.predict_proba(X), dtype=np.float64)[:, 1]


def discrimination(y: Any, p: Any, sample_weight: Any = None) -> dict[str, Any]:
    """AUC, KS, Gini and Brier of ``p`` against ``y``, with the sample size.

    AUC, KS and Gini need both outcomes (with weight); on a one-class sample they are
    None (the Brier score is still defined). With ``sample_weight`` the event rate is
    weighted and ``weight`` is their total.
    """
    yb, pf = _check(y, p, both=False)
    if yb.size == 0:
        raise ValueError("cannot validate on an empty sample")
    yb, pf, w = kept_rows(sample_weight, yb, pf)
    n, events = int(yb.size), int(yb.sum())
    rate = events / n if w is None else float(w @ yb / w.sum())
    both = 0.0 < rate < 1.0
    out = {
        "n": n,
        "events": events,
        "event_rate": rate,
        "auc": auc(yb, pf, w) if both else None,
        "ks": ks(yb, pf, w) if both else None,
        "gini": gini(yb, pf, w) if both else None,
        "brier": brier(yb, pf, w),
    }
    if w is not None:
        out["weight"] = float(w.sum())
    return out


def calibration_table(y: Any, p: Any, bins: int = 10, sample_weight: Any = None) -> dict[str, Any]:
    """Predicted against observed default rate by group of predicted PD.

    Rows are sorted by ``p`` (stable, so ties keep input order) and cut into ``bins``
    groups of (nearly) equal size: deciles by default. With ``sample_weight`` the groups
    are of (nearly) equal weight, a row never split (so a heavy row can leave fewer
    groups), and means and rates are weighted; rows of weight 0 are left out.

    Returns ``{"rows": [{"bin", "count", "events", "mean_predicted", "observed_rate",
    "p_min", "p_max"} (and "weight" when weighted)], "ece"}`` where ``ece`` (expected
    calibration error) is the mean of ``|mean_predicted - observed_rate|`` weighted by
    each group's rows (or weight).
    """
    if not (isinstance(bins, int | np.integer) and bins >= 1):
        raise ValueError(f"bins must be an integer >= 1, got {bins!r}")
    yb, pf = _check(y, p, both=False)
    if yb.size == 0:
        raise ValueError("cannot build a calibration table on an empty sample")
    yb, pf, given = kept_rows(sample_weight, yb, pf)
    w = np.ones(yb.size) if given is None else given
    order = np.argsort(pf, kind="stable")
    k = min(bins, yb.size)
    # group id of each sorted row: equal-size groups, like np.array_split; weighted,
    # the group of the weight before the row
    group = np.empty(yb.size, dtype=np.int64)
    if given is None:
        group[order] = (np.arange(yb.size) * k) // yb.size
    else:
        ws = w[order]
        before = np.cumsum(ws) - ws
        group[order] = np.minimum((before * k / ws.sum()).astype(np.int64), k - 1)
        _, group = np.unique(group, return_inverse=True)  # no empty groups
        k = int(group.max()) + 1
    count = np.bincount(group, minlength=k)
    events = np.bincount(group, weights=yb, minlength=k)
    weight = np.bincount(group, weights=w, minlength=k)
    mean_p = np.bincount(group, weights=w * pf, minlength=k) / weight
    observed = np.bincount(group, weights=w * yb, minlength=k) / weight
    p_min = np.full(k, np.inf)
    p_max = np.full(k, -np.inf)
    np.minimum.at(p_min, group, pf)
    np.maximum.at(p_max, group, pf)
    ece = float(np.sum(weight * np.abs(mean_p - observed)) / weight.sum())
    rows = [
        {
            "bin": i + 1,
            "count": int(count[i]),
            "events": int(round(events[i])),
            "mean_predicted": float(mean_p[i]),
            "observed_rate": float(observed[i]),
            "p_min": float(p_min[i]),
            "p_max": float(p_max[i]),
        }
        for i in range(k)
    ]
    if given is not None:
        for row, total in zip(rows, weight.tolist(), strict=True):
            row["weight"] = total
    return {"rows": rows, "ece": ece}


def _thin(n: int, keep: int, max_points: int | None) -> np.ndarray:
    """Indices of at most ``max_points`` evenly spread points, always with ``keep``."""
    if max_points is None or n <= max_points:
        return np.arange(n)
    if max_points < 3:
        raise ValueError(f"max_points must be >= 3, got {max_points}")
    picked = np.unique(np.linspace(0, n - 1, max_points - 1).round().astype(np.int64))
    return np.union1d(picked, [keep])


def ks_curve(y: Any, p: Any, max_points: int | None = 500) -> dict[str, Any]:
    """Cumulative share of defaults and non-defaults at or below each distinct ``p``.

    The largest gap is the KS statistic (equal to ``metrics.ks``); ``threshold_at_ks``
    is the PD where it is reached. At most ``max_points`` points are returned (the
    maximum always kept), so the curve stays small enough for an artefact.
    """
    yb, pf = _check(y, p)
    values, inv = np.unique(pf, return_inverse=True)
    events = np.bincount(inv, weights=yb)
    totals = np.bincount(inv)
    cdf_e = np.cumsum(events) / yb.sum()
    cdf_n = np.cumsum(totals - events) / (yb.size - yb.sum())
    gap = np.abs(cdf_e - cdf_n)
    at = int(np.argmax(gap))
    keep = _thin(values.size, at, max_points)
    return {
        "threshold": values[keep].tolist(),
        "cdf_events": cdf_e[keep].tolist(),
        "cdf_non_events": cdf_n[keep].tolist(),
        "ks": float(gap[at]),
        "threshold_at_ks": float(values[at]),
    }


def roc_points(y: Any, p: Any) -> dict[str, list[float]]:
    """ROC curve at every distinct ``p`` (highest first), starting at (0, 0).

    Tied predictions move along a diagonal segment, so the trapezoid area under these
    points equals ``metrics.auc`` (mid-ranks) exactly.
    """
    yb, pf = _check(y, p)
    _, inv = np.unique(-pf, return_inverse=True)  # group 0 = highest PD
    events = np.bincount(inv, weights=yb)
    totals = np.bincount(inv)
    tpr = np.concatenate([[0.0], np.cumsum(events) / yb.sum()])
    fpr = np.concatenate([[0.0], np.cumsum(totals - events) / (yb.size - yb.sum())])
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist()}


def validate_predictions(
    y: Any, p: Any, bins: int = 10, sample_weight: Any = None
) -> dict[str, Any]:
    """Discrimination plus calibration table and ECE of one sample's predictions."""
    out = discrimination(y, p, sample_weight)
    cal = calibration_table(y, p, bins, sample_weight)
    out["ece"] = cal["ece"]
    out["calibration"] = cal["rows"]
    return out


def validate_model(
    model: Any, samples: Mapping[str, tuple[Any, ...]], *, bins: int = 10
) -> dict[str, dict[str, Any]]:
    """Metrics of ``model`` on each named sample ``{name: (X, y)}``, or ``(X, y,
    sample_weight)`` for a weighted one.

    Returns ``{name: {n, events, event_rate, auc, ks, gini, brier, ece, calibration}}``
    (JSON-safe; see :func:`validate_predictions`).
    """
    if not samples:
        raise ValueError("validate_model needs at least one named sample")
    out = {}
    for name, sample in samples.items():
        if len(sample) not in (2, 3):
            raise ValueError(f"sample {name!r} must be (X, y) or (X, y, sample_weight)")
        X, y, *weight = sample
        given = weight[0] if weight else None
        out[name] = validate_predictions(np.asarray(y), predict_pd(model, X), bins, given)
    return out


def compare_predictions(
    y: Any,
    p_champion: Any,
    p_challenger: Any,
    *,
    n_boot: int = 200,
    seed: int = 0,
    names: tuple[str, str] = ("champion", "challenger"),
    sample_weight: Any = None,
) -> dict[str, Any]:
    """Side-by-side metrics of two models' PDs on the same rows, and a paired bootstrap
    of the AUC difference (challenger minus champion).

    Each resample draws the rows with replacement once and scores both models on it,
    so the interval reflects the pairing (no DeLong variance formula needed). Resamples
    that miss one outcome are dropped. Deterministic for a given ``seed``. With
    ``sample_weight``, a drawn row counts its weight as many times as it was drawn.

    Returns ``{names[0]: metrics, names[1]: metrics, "auc_diff", "ci95": [lo, hi],
    "p_challenger_better", "n_boot", "n_used", "seed"}``.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if names[0] == names[1]:
        raise ValueError("the two models need different names")
    yb, pa = _check(y, p_champion)
    _, pb = _check(y, p_challenger)
    sw = weights_of(sample_weight, yb)
    ga, ka = value_groups(pa)
    gb, kb = value_groups(pb)
    rng = np.random.default_rng(seed)
    n = yb.size
    diffs = np.empty(n_boot)
    for i in range(n_boot):  # one O(n) pass per resample; rows are never looped over
        w = np.bincount(rng.integers(0, n, n), minlength=n) * sw
        w1, w0 = w * yb, w * (1.0 - yb)
        if w1.sum() == 0 or w0.sum() == 0:
            diffs[i] = np.nan
            continue
        diffs[i] = grouped_auc(gb, kb, w1, w0) - grouped_auc(ga, ka, w1, w0)
    used = diffs[np.isfinite(diffs)]
    point = auc(yb, pb, sample_weight) - auc(yb, pa, sample_weight)
    lo, hi = np.quantile(used, [0.025, 0.975]) if used.size else (np.nan, np.nan)
    return {
        names[0]: discrimination(yb, pa, sample_weight),
        names[1]: discrimination(yb, pb, sample_weight),
        "auc_diff": float(point),
        "ci95": [float(lo), float(hi)],
        "p_challenger_better": float(np.mean(used > 0)) if used.size else None,
        "n_boot": int(n_boot),
        "n_used": int(used.size),
        "seed": int(seed),
    }


def compare_models(
    champion: Any,
    challenger: Any,
    X_test: Any,
    y_test: Any,
    *,
    n_boot: int = 200,
    seed: int = 0,
    names: tuple[str, str] = ("champion", "challenger"),
    sample_weight: Any = None,
) -> dict[str, Any]:
    """:func:`compare_predictions` of two fitted models on the same holdout."""
    return compare_predictions(
        np.asarray(y_test),
        predict_pd(champion, X_test),
        predict_pd(challenger, X_test),
        n_boot=n_boot,
        seed=seed,
        names=names,
        sample_weight=sample_weight,
    )


def stability_summary(
    model: Any,
    dev_X: Any,
    recent_X: Any,
    bins: int = 10,
    dev_weight: Any = None,
    recent_weight: Any = None,
) -> dict[str, Any]:
    """Score PSI (on ``score_points`` if the model has it, else the PD) and CSI of every
    model feature on the model's own bins, development vs recent, each sample weighted
    when its weights are given; JSON-safe.

    Returns ``{"score_psi", "score_status", "score_bins": psi_table(...), "csi": [...]}``.
    """
    score = getattr(model, "score_points", None)
    dev = score(dev_X) if score is not None else predict_pd(model, dev_X)
    rec = score(recent_X) if score is not None else predict_pd(model, recent_X)
    table = psi_table(dev, rec, bins, dev_weight, recent_weight)
    features = list(getattr(model, "features_", []))
    binner = model if hasattr(model, "binnings_") else None
    return {
        "score_psi": table["psi"],
        "score_status": table["status"],
        "score_bins": table,
        "csi": csi(dev_X, recent_X, features, binner, dev_weight, recent_weight)
        if features
        else [],
    }
