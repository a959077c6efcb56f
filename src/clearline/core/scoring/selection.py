"""Feature selection on weight-of-evidence columns and the sign-constrained regression.

Selection order: information value below ``iv_min`` out; then, strongest first, any
feature whose WoE correlates beyond ``max_corr`` with one already kept out; then at most
``max_features`` by IV. The logistic regression is refitted without the worst
wrong-signed feature until every coefficient has the expected sign.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression


def select_features(
    names: list[str],
    ivs: np.ndarray,
    woe: np.ndarray,
    *,
    iv_min: float,
    max_corr: float,
    max_features: int | None,
) -> tuple[list[int], dict[str, str]]:
    """Choose features by IV and WoE correlation.

    Parameters
    ----------
    names, ivs : feature names and their information values.
    woe : (n, p) WoE matrix of the same features.

    Returns
    -------
    kept : column indices, strongest IV first.
    reasons : for every feature, ``"kept"`` or why it was dropped.
    """
    reasons: dict[str, str] = {}
    order = sorted(range(len(names)), key=lambda j: (-ivs[j], j))
    candidates = []
    for j in order:
        if woe.shape[0] == 0 or np.ptp(woe[:, j]) == 0.0:
            reasons[names[j]] = "constant WoE"
        elif ivs[j] < iv_min:
            reasons[names[j]] = f"IV {ivs[j]:.4f} < iv_min {iv_min}"
        else:
            candidates.append(j)
    kept: list[int] = []
    if candidates:
        corr = np.corrcoef(woe[:, candidates], rowvar=False).reshape(
            len(candidates), len(candidates)
        )
        for a, j in enumerate(candidates):
            clash = [b for b, k in enumerate(candidates[:a]) if k in kept]
            hit = [b for b in clash if abs(corr[a, b]) > max_corr]
            if hit:
                other = names[candidates[hit[0]]]
                reasons[names[j]] = f"|corr| {abs(corr[a, hit[0]]):.2f} with {other}"
            elif max_features is not None and len(kept) >= max_features:
                reasons[names[j]] = f"beyond max_features {max_features}"
            else:
                kept.append(j)
                reasons[names[j]] = "kept"
    return kept, reasons


def fit_signed_lr(
    woe: np.ndarray,
    y: np.ndarray,
    cols: list[int],
    names: list[str],
    reasons: dict[str, str],
    *,
    C: float,
    random_state: int | None,
) -> tuple[list[int], np.ndarray, float]:
    """Logistic regression of ``y`` (1 = event) on WoE columns ``cols``.

    WoE is ln(goods / bads), so a higher WoE must lower the event odds: every
    coefficient must be negative. A positive one (collinearity turning a feature
    around) is dropped, the largest first, and the model refitted.

    Returns the kept columns, their coefficients and the intercept. With no columns
    left the model is intercept-only (the log odds of the event rate).
    """
    cols = list(cols)
    while cols:
        lr = LogisticRegression(C=C, max_iter=1000, random_state=random_state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            lr.fit(woe[:, cols], y)
        coef = lr.coef_[0]
        if np.all(coef < 0):
            return cols, coef.astype(np.float64), float(lr.intercept_[0])
        worst = int(np.argmax(coef))
        reasons[names[cols[worst]]] = f"wrong-sign coefficient {coef[worst]:+.4f}"
        del cols[worst]
    rate = (y.sum() + 0.5) / (len(y) + 1.0)
    return [], np.zeros(0), float(np.log(rate / (1.0 - rate)))
