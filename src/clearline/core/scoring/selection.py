"""Feature selection on weight-of-evidence columns and the sign-constrained regression.

Filters first, in every mode: information value below ``iv_min`` out; then, strongest
first, any feature whose WoE correlates beyond ``max_corr`` with one already kept out;
then at most ``max_features`` by IV. Then the mode (``fit_model``): ``iv`` keeps every
filtered feature, ``stepwise`` adds them forward while the BIC falls, ``l1`` keeps the
non-zero coefficients of an L1 regression. A feature under ``iv_min`` still enters when
it adds to the chosen ones beyond chance (:func:`conditional_keep`). The final logistic
regression is refitted without the worst wrong-signed feature until every coefficient has
the expected sign, or, for a feature whose trend the user did not set, until the wrong
sign is one the data plainly supports (see :func:`fit_signed_lr`).

Every step takes the sample weights ``w`` (scaled to a mean of 1, see
``params.encode_weight``; None: unweighted): correlations, regressions, likelihoods and
score tests are then those of the weighted sample.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy.stats import chi2
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold

from clearline.core.scoring.binning import event_weight, row_weight
from clearline.core.scoring.merging import g_of_bins

#: Grid of C tried by ``C="auto"`` and by the L1 path (inverse regularisation strength).
C_GRID = np.logspace(-3, 1, 9)
#: Inner folds used to choose C.
INNER_FOLDS = 4
#: Significance level at which a feature's bins pass the IV filter whatever their IV.
SIGNIFICANT_P = 0.001
#: Likelihood-ratio statistic (chi-square, 1 degree of freedom, p = 0.05) above which a
#: feature keeps a coefficient of the unexpected sign (see :func:`fit_signed_lr`).
REVERSAL_G = 3.84
#: Chi-square quantile (1 degree of freedom, p = ``SIGNIFICANT_P``) that the score
#: statistic of a feature under ``iv_min``, given the model's features, must exceed for
#: it to enter anyway (see :func:`conditional_keep`).
CONDITIONAL_G = float(chi2.ppf(1.0 - SIGNIFICANT_P, 1))


def select_features(
    names: list[str],
    ivs: np.ndarray,
    woe: np.ndarray,
    *,
    iv_min: float,
    max_corr: float,
    max_features: int | None,
    significant: np.ndarray | None = None,
    w: np.ndarray | None = None,
) -> tuple[list[int], dict[str, str], list[int]]:
    """Choose features by IV and WoE correlation.

    ``iv_min`` is a rule of thumb for samples of a few thousand rows; on larger ones a
    real but small effect falls under it (age in 24,000 card holders: IV 0.013, G 53).
    A feature flagged ``significant`` (its bins' G statistic beyond chance at
    p < ``SIGNIFICANT_P``, see :func:`significant_bins`) passes the IV filter anyway.

    Parameters
    ----------
    names, ivs : feature names and their information values.
    woe : (n, p) WoE matrix of the same features.
    significant : (p,) bool, optional; features exempt from ``iv_min``.

    Returns
    -------
    kept : column indices, strongest IV first.
    reasons : for every feature, ``"kept"`` or why it was dropped.
    weak : indices dropped by ``iv_min`` alone, strongest IV first; they may still
        enter the model conditionally (:func:`conditional_keep`).
    """
    reasons: dict[str, str] = {}
    weak: list[int] = []
    order = sorted(range(len(names)), key=lambda j: (-ivs[j], j))
    candidates = []
    for j in order:
        if woe.shape[0] == 0 or np.ptp(woe[:, j]) == 0.0:
            reasons[names[j]] = "constant WoE"
        elif ivs[j] < iv_min and not (significant is not None and significant[j]):
            reasons[names[j]] = f"IV {ivs[j]:.4f} < iv_min {iv_min}"
            weak.append(j)
        else:
            candidates.append(j)
    kept: list[int] = []
    if candidates:
        corr = _corr(woe[:, candidates], w)
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
    return kept, reasons, weak


def _corr(X: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """(p, p) correlations of the columns of ``X``, rows weighted by ``w``; NaN for a
    constant column.

    The centred matrix's product with itself, summed over parts of ``_ROWS_PER_PART``
    rows: on 800,000 rows x 30 columns 0.09 s against 0.61 s for ``np.corrcoef``, whose
    centred copy of the whole matrix costs most of its time in the page faults of fresh
    memory (the same figures to 2e-16; ad hoc, inside a fit)."""
    mean = np.average(X, axis=0, weights=w)
    gram = np.zeros((X.shape[1], X.shape[1]))
    for start in range(0, X.shape[0], _ROWS_PER_PART):
        part = X[start : start + _ROWS_PER_PART] - mean
        weighted = part if w is None else part * w[start : start + _ROWS_PER_PART, None]
        gram += weighted.T @ part
    sd = np.sqrt(np.diag(gram))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(gram / np.outer(sd, sd), -1.0, 1.0)


#: Rows per part of :func:`_corr`'s sums: a part's copy stays in memory already mapped.
_ROWS_PER_PART = 1 << 16


def _lr(C: float, random_state: int | None, **kw: object) -> LogisticRegression:
    # Newton steps with a Cholesky solve: the same L2 objective as lbfgs, but a few
    # iterations of n x p^2 where p (the model's features) is small. On 1M rows x 30
    # features the regressions took 1.9-2.1 s against 2.5-3.0 s, holdout AUC 0.809283
    # against 0.809273 (ad hoc, bench_fit_speed.make_data).
    kw.setdefault("solver", "newton-cholesky")
    return LogisticRegression(C=C, max_iter=1000, random_state=random_state, **kw)


def significant_bins(events: list[np.ndarray], counts: list[np.ndarray]) -> np.ndarray:
    """Per feature, whether its bins separate events beyond chance: the G statistic of
    the bin table above the chi-square quantile at 1 - ``SIGNIFICANT_P`` for its degrees
    of freedom. In-sample bins flatter a feature (they were cut to separate), and the
    strict level allows for that."""
    out = np.zeros(len(events), dtype=bool)
    for j, (e, n) in enumerate(zip(events, counts, strict=True)):
        g, dof = g_of_bins(e, n)
        out[j] = dof > 0 and g > chi2.ppf(1.0 - SIGNIFICANT_P, dof)
    return out


def _fit_lr(
    woe: np.ndarray,
    y: np.ndarray,
    cols: list[int],
    C: float,
    random_state: int | None,
    w: np.ndarray | None = None,
) -> LogisticRegression:
    lr = _lr(C, random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        return lr.fit(woe[:, cols], y, sample_weight=w)


def _inner_cv(y: np.ndarray, random_state: int | None) -> StratifiedKFold:
    folds = int(min(INNER_FOLDS, max(2, min(y.sum(), len(y) - y.sum()))))
    seed = 0 if random_state is None else random_state  # deterministic by default
    return StratifiedKFold(folds, shuffle=True, random_state=seed)


def choose_C(
    woe: np.ndarray,
    y: np.ndarray,
    cols: list[int],
    random_state: int | None,
    w: np.ndarray | None = None,
) -> float:
    """C of the L2 regression with the best inner-CV log loss (training rows only)."""
    if not cols:
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = LogisticRegressionCV(
            Cs=C_GRID,
            l1_ratios=(0.0,),
            cv=_inner_cv(y, random_state),
            scoring="neg_log_loss",
            max_iter=1000,
            use_legacy_attributes=False,
        ).fit(woe[:, cols], y, sample_weight=w)
    return float(np.ravel(m.C_)[0])


def l1_keep(
    woe: np.ndarray,
    y: np.ndarray,
    cols: list[int],
    random_state: int | None,
    w: np.ndarray | None = None,
) -> list[int]:
    """Columns with a non-zero (and rightly signed) L1 coefficient.

    C comes from the L1 path by inner CV with the one-standard-error rule: the
    strongest penalty whose log loss is within one standard error of the best. The
    CV-best C alone is known to keep too many weak columns.
    """
    if not cols:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = LogisticRegressionCV(
            Cs=C_GRID,
            l1_ratios=(1.0,),
            solver="liblinear",
            cv=_inner_cv(y, random_state),
            scoring="neg_log_loss",
            max_iter=1000,
            random_state=random_state,
            use_legacy_attributes=False,
        ).fit(woe[:, cols], y, sample_weight=w)
        scores = np.asarray(m.scores_).reshape(-1, len(C_GRID))  # (folds, Cs)
        mean = scores.mean(axis=0)
        se = scores.std(axis=0, ddof=1) / np.sqrt(scores.shape[0])
        best = int(np.argmax(mean))
        c = float(C_GRID[int(np.flatnonzero(mean >= mean[best] - se[best])[0])])
        lr = _lr(c, random_state, l1_ratio=1.0, solver="liblinear")
        lr.fit(woe[:, cols], y, sample_weight=w)
    coef = np.ravel(lr.coef_)
    return [c for c, b in zip(cols, coef, strict=True) if b < 0]


def _loglik(
    lr: LogisticRegression, X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None
) -> float:
    p = np.clip(lr.predict_proba(X)[:, 1], 1e-15, 1 - 1e-15)
    ll = y * np.log(p) + (1 - y) * np.log1p(-p)
    return float(np.sum(ll if w is None else ll * w))


def stepwise_keep(
    woe: np.ndarray,
    y: np.ndarray,
    cols: list[int],
    C: float,
    random_state: int | None,
    w: np.ndarray | None = None,
) -> list[int]:
    """Forward selection by BIC: add the column that lowers it most while all
    coefficients stay negative; stop when no column lowers it."""
    events, n = event_weight(y, w), row_weight(len(y), w)
    rate = (events + 0.5) / (n + 1.0)
    best_bic = -2.0 * (events * np.log(rate) + (n - events) * np.log1p(-rate)) + np.log(n)
    chosen: list[int] = []
    left = list(cols)
    while left:
        step: tuple[float, int] | None = None
        for c in left:
            trial = [*chosen, c]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lr = _lr(C, random_state).fit(woe[:, trial], y, sample_weight=w)
            if not np.all(lr.coef_[0] < 0):
                continue
            bic = -2.0 * _loglik(lr, woe[:, trial], y, w) + (len(trial) + 1) * np.log(n)
            if bic < best_bic - 1e-9 and (step is None or bic < step[0]):
                step = (bic, c)
        if step is None:
            break
        best_bic = step[0]
        chosen.append(step[1])
        left.remove(step[1])
    return chosen


def conditional_keep(
    woe: np.ndarray,
    y: np.ndarray,
    cols: list[int],
    weak: list[int],
    *,
    C: float,
    max_corr: float,
    random_state: int | None,
    w: np.ndarray | None = None,
) -> tuple[list[int], LogisticRegression | None]:
    """Columns of ``weak`` (under ``iv_min``) that add to the model on ``cols`` beyond
    chance: added forward, the largest score statistic first, while it exceeds
    ``CONDITIONAL_G``.

    IV is a marginal measure: a feature can tell little alone yet much given the
    others. Hispanic smokers are few and smoke at about the average rate (IV 0.002),
    but less than others with the same schooling (score 47 given education).
    A column whose WoE correlates beyond ``max_corr`` with a model column stays out.
    Rao's score test needs one fit of the model per step, not one per candidate.

    Returns the columns added and, when there is one, the regression on ``cols`` plus
    them (the caller's final fit, which on a million rows is worth not repeating).
    """
    chosen = list(cols)
    left = [j for j in weak if np.ptp(woe[:, j]) > 0.0]
    lr: LogisticRegression | None = None
    while left:
        if chosen:
            corr = _corr(woe[:, left + chosen], w)[: len(left), len(left) :]
            left = [j for j, r in zip(left, np.abs(corr).max(axis=1), strict=True) if r <= max_corr]
            if not left:
                break
            lr = _fit_lr(woe, y, chosen, C, random_state, w)
            p = lr.predict_proba(woe[:, chosen])[:, 1]
        else:
            p = np.full(len(y), np.average(y, weights=w))
        stats = _score_stats(woe, y, chosen, left, p, w)
        best = int(np.argmax(stats))
        if not stats[best] > CONDITIONAL_G:
            break
        chosen.append(left.pop(best))
        lr = None
    return chosen[len(cols) :], lr


def _score_stats(
    woe: np.ndarray,
    y: np.ndarray,
    cols: list[int],
    candidates: list[int],
    p: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Rao's score statistic (chi-square, 1 degree of freedom) of adding each candidate
    column, alone, to the logistic regression on ``cols`` whose fitted PD is ``p``
    (rows weighted by ``weights``)."""
    n = len(y)
    w = p * (1.0 - p) if weights is None else p * (1.0 - p) * weights
    base = np.column_stack([np.ones(n), woe[:, cols]])
    z = woe[:, candidates]
    u = z.T @ (y - p if weights is None else (y - p) * weights)
    bwb = base.T @ (base * w[:, None])
    bwz = base.T @ (z * w[:, None])
    # Least squares, not solve: model columns may be collinear (two features binned
    # alike in a bootstrap sample); the projection is the same either way.
    proj = np.linalg.lstsq(bwb, bwz, rcond=None)[0]
    info = np.einsum("ij,ij,i->j", z, z, w) - np.sum(bwz * proj, axis=0)
    return np.where(info > 1e-12, u**2 / np.maximum(info, 1e-12), 0.0)


def fit_model(
    woe: np.ndarray,
    y: np.ndarray,
    cols: list[int],
    names: list[str],
    reasons: dict[str, str],
    *,
    selection: str,
    C: float | str,
    random_state: int | None,
    selection_woe: np.ndarray | None = None,
    reversible: frozenset[int] = frozenset(),
    weak: Sequence[int] = (),
    max_corr: float = 1.0,
    max_features: int | None = None,
    w: np.ndarray | None = None,
) -> tuple[list[int], np.ndarray, float, float]:
    """Apply the selection mode to the filtered ``cols``, let ``weak`` columns in by
    :func:`conditional_keep`, then :func:`fit_signed_lr`.

    ``C="auto"`` is chosen by inner cross-validation on these rows (after the mode's
    selection), so a model inside an outer CV never sees its test fold.
    ``selection_woe`` (same shape as ``woe``, e.g. out-of-fold WoE) is the design the
    stepwise and L1 searches run on; the final regression always uses ``woe``.
    ``reversible``: see :func:`fit_signed_lr`.
    Returns the kept columns, coefficients, intercept and the C used.
    """
    c_value = 1.0 if C == "auto" else float(C)
    design = woe if selection_woe is None else selection_woe
    if selection == "stepwise":
        keep = stepwise_keep(design, y, cols, c_value, random_state, w)
        why = "not chosen by stepwise BIC"
    elif selection == "l1":
        keep = l1_keep(design, y, cols, random_state, w)
        why = "zero or wrong-sign L1 coefficient"
    else:
        keep = list(cols)
        why = ""
    for c in cols:
        if c not in keep:
            reasons[names[c]] = why
    first = None  # the regression on ``keep``, when the conditional step fitted it
    if weak and (max_features is None or len(keep) < max_features):
        extra, first = conditional_keep(
            design,
            y,
            keep,
            list(weak),
            C=c_value,
            max_corr=max_corr,
            random_state=random_state,
            w=w,
        )
        if max_features is not None and len(keep) + len(extra) > max_features:
            extra, first = extra[: max_features - len(keep)], None
        for c in extra:
            reasons[names[c]] = "kept"
        keep = keep + extra
    if C == "auto":
        c_value, first = choose_C(woe, y, keep, random_state, w), None
    if design is not woe:
        first = None
    cols, coef, intercept = fit_signed_lr(
        woe,
        y,
        keep,
        names,
        reasons,
        C=c_value,
        random_state=random_state,
        reversible=reversible,
        first=first,
        w=w,
    )
    return cols, coef, intercept, c_value


def fit_signed_lr(
    woe: np.ndarray,
    y: np.ndarray,
    cols: list[int],
    names: list[str],
    reasons: dict[str, str],
    *,
    C: float,
    random_state: int | None,
    reversible: frozenset[int] = frozenset(),
    first: LogisticRegression | None = None,
    w: np.ndarray | None = None,
) -> tuple[list[int], np.ndarray, float]:
    """Logistic regression of ``y`` (1 = event) on WoE columns ``cols``.

    WoE is ln(goods / bads), so a higher WoE should lower the event odds: a negative
    coefficient. A positive one usually means collinearity turned a feature around; it
    is dropped, the largest first, and the model refitted.

    A column in ``reversible`` (no trend set by the user) keeps a positive coefficient
    when dropping it costs more likelihood than chance explains (G > ``REVERSAL_G``):
    the data then shows a real effect that, given the other features, runs against the
    feature's own trend (students carry higher card balances, yet at the same balance
    default less). Its points then fall where its event rate falls; reasons stay
    points lost against its best bin.

    ``first``, when given, is the regression on ``cols`` already fitted with ``C``.
    Returns the kept columns, their coefficients and the intercept. With no columns
    left the model is intercept-only (the log odds of the event rate).
    """
    cols = list(cols)
    tested: set[int] = set()  # reversible columns whose wrong sign passed the test
    lr = (first or _fit_lr(woe, y, cols, C, random_state, w)) if cols else None
    while lr is not None:
        coef = lr.coef_[0]
        wrong = [k for k in range(len(cols)) if coef[k] >= 0 and cols[k] not in tested]
        if not wrong:
            return cols, coef.astype(np.float64), float(lr.intercept_[0])
        worst = max(wrong, key=lambda k: (coef[k], -k))
        rest = cols[:worst] + cols[worst + 1 :]
        lr_rest = _fit_lr(woe, y, rest, C, random_state, w) if rest else None
        if cols[worst] in reversible and lr_rest is not None:
            g = 2.0 * (_loglik(lr, woe[:, cols], y, w) - _loglik(lr_rest, woe[:, rest], y, w))
            if g > REVERSAL_G:
                tested.add(cols[worst])
                continue
        reasons[names[cols[worst]]] = f"wrong-sign coefficient {coef[worst]:+.4f}"
        cols, lr = rest, lr_rest
    events, n = event_weight(y, w), row_weight(len(y), w)
    rate = (events + 0.5) / (n + 1.0)
    return [], np.zeros(0), float(np.log(rate / (1.0 - rate)))
