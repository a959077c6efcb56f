"""A bagged scorecard: the mean of scorecards fitted on bootstrap samples, still one
points table.

On a small sample the bin edges and the regression move a lot with the rows drawn, and
one fit's steps are partly noise. Averaging the scores of members fitted on bootstrap
samples smooths them out (measured with 25 members: German credit 3 x 5-fold CV AUC
0.7897 -> 0.7914, ``benchmarks/bench_peers_quality.py``; synthetic samples of 1,000 to
10,000 rows scored on 20,000 others: +0.003 to +0.011, ``benchmarks/bench_bagging.py``).

The mean stays a scorecard, because every member's score is a sum of per-feature step
functions and a mean of step functions is a step function on the union of their steps:

- numeric: the refined bins are cut at every edge any member used (so each refined bin
  lies inside exactly one bin of every member);
- categorical: categories that every member put in the same bin form one refined bin;
- missing, special and unseen values keep their own bins;

and a refined bin's points are the mean over members of the points they give it (zero
from a member without the feature). Refined bins below the minimum bin share are then
pooled with their closest neighbour, unless one holds a single value or category whose
event rate plainly differs from it (``merging.keeps_apart``). Where every member found
the same trend (always so for a trend the user set), the points are held to it: a mean
of monotone steps is monotone, but a mean of peaks with different tops is not one peak.
Where members found different trends under "auto", the feature's trend is "mixed" and
its points are their mean. The counts, WoE and IV of the published bins are those of
all training rows; the event rate of a small refined bin need not follow the trend, the
points do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import isotonic_regression

from clearline.core.scoring.binning import FeatureBinning, single_valued, tally
from clearline.core.scoring.fitting import Column, Fit, points_of
from clearline.core.scoring.merging import keeps_apart

#: Members of a bagged scorecard when ``bagging="auto"`` and the sample is small.
AUTO_MEMBERS = 25
#: Largest training sample that ``bagging="auto"`` bags (above it one fit is stable
#: enough, and bagging would multiply the fit time for little gain).
AUTO_MAX_ROWS = 10_000


def n_members(bagging: int | str, n_rows: int) -> int:
    """Members to fit for the ``bagging`` setting (1 means a single, unbagged fit)."""
    if bagging == "auto":
        return AUTO_MEMBERS if n_rows <= AUTO_MAX_ROWS else 1
    return int(bagging)


def bootstraps(y: np.ndarray, members: int, seed: int) -> list[np.ndarray]:
    """Row indices of each member's bootstrap sample (sorted: rows keep their order).

    A draw that holds only one class of 0/1 ``y`` is drawn again: no regression can be
    fitted on it. That happens only with a handful of events (2 in 30 rows: one draw in
    eight), so on any other sample the draws are what they always were.
    """
    rng = np.random.default_rng(seed)
    n_rows = len(y)
    out: list[np.ndarray] = []
    while len(out) < members:
        rows = np.sort(rng.integers(0, n_rows, n_rows))
        if 0 < y[rows].sum() < n_rows:
            out.append(rows)
    return out


@dataclass(frozen=True)
class Bagged:
    """The combined model: refined bins and mean points of the features any member used."""

    features: list[str]
    binnings: dict[str, FeatureBinning]
    points: dict[str, np.ndarray]
    coef: np.ndarray  # per feature, the members' mean coefficient (0 where unused)
    intercept: float  # the members' mean intercept
    used_by: dict[str, int]  # per feature, how many members used it


def combine(
    members: list[Fit],
    columns: list[Column],
    y: np.ndarray,
    order: list[str],
    factor: float,
    offset: float,
    min_count: float,
    w: np.ndarray | None = None,
) -> Bagged:
    """Merge fitted members into one scorecard (see the module docstring).

    ``order`` ranks the columns (strongest first); the model features follow it.
    Refined bins with fewer than ``min_count`` rows are pooled (see :func:`_pool_small`)
    and the points held to the members' common trend (see :func:`_keep_trend`). ``w``:
    the sample weights of all rows (the members drew rows and kept their weights), by
    which the published bins' counts are weighted.
    """
    by_name = {c.name: c for c in columns}
    scored = [points_of(m, factor, offset) for m in members]
    used = {f for m in members for f in m.features}
    features = [f for f in order if f in used]
    # A member without features scores its intercept alone: spread it like the rest.
    empty = sum(ip for m, (_, ip) in zip(members, scored, strict=True) if not m.cols)
    extra = empty / len(members) / max(len(features), 1)
    binnings, points, coef = {}, {}, []
    for f in features:
        users = [(m, pts[f]) for m, (pts, _) in zip(members, scored, strict=True) if f in pts]
        refined, maps = _refine(by_name[f], y, w, [_binning(m, f) for m, _ in users])
        total = sum(p[mp] for (_, p), mp in zip(users, maps, strict=True))
        mean = total / len(members) + extra
        pooled, pts = _pool_small(by_name[f], y, w, refined, mean, min_count)
        coef.append(sum(_coef(m, f) for m, _ in users) / len(members))
        binnings[f], points[f] = pooled, _keep_trend(pooled, pts, reversed_=coef[-1] > 0)
    return Bagged(
        features=features,
        binnings=binnings,
        points=points,
        coef=np.asarray(coef, dtype=np.float64),
        intercept=float(np.mean([m.intercept for m in members])),
        used_by={f: sum(f in m.features for m in members) for f in features},
    )


def _binning(fit: Fit, name: str) -> FeatureBinning:
    return next(b for b in fit.binnings if b.name == name)


def _coef(fit: Fit, name: str) -> float:
    return float(fit.coef[fit.features.index(name)])


def _refine(
    col: Column, y: np.ndarray, w: np.ndarray | None, parts: list[FeatureBinning]
) -> tuple[FeatureBinning, list[np.ndarray]]:
    """The common refinement of the members' binnings ``parts`` of one column, its
    counts on all rows, and per member the member's bin of every refined bin."""
    if col.labels is None:
        return _refine_numeric(col, y, w, parts)
    return _refine_categorical(col, y, w, parts)


def _with_counts(
    shell: FeatureBinning, idx: np.ndarray, y: np.ndarray, w: np.ndarray | None
) -> FeatureBinning:
    """``shell`` with the row and event counts (weighted by ``w``) of the bin indices
    ``idx``."""
    counts, events = tally(idx, len(shell.counts), y, w)
    return FeatureBinning(
        name=shell.name,
        kind=shell.kind,
        edges=shell.edges,
        groups=shell.groups,
        counts=counts,
        events=events,
        trend=shell.trend,
        specials=shell.specials,
    )


def _refine_numeric(
    col: Column, y: np.ndarray, w: np.ndarray | None, parts: list[FeatureBinning]
) -> tuple[FeatureBinning, list[np.ndarray]]:
    edges = np.unique(np.concatenate([p.edges for p in parts]))
    specials = parts[0].specials  # the same setting for every member
    trends = {p.trend for p in parts} - {"none"}
    size = len(edges) + 2 + len(specials)
    shell = FeatureBinning(
        name=col.name,
        kind="numeric",
        edges=edges,
        groups=[],
        counts=np.zeros(size, dtype=np.int64),
        events=np.zeros(size, dtype=np.int64),
        trend=trends.pop() if len(trends) == 1 else "mixed",
        specials=specials,
    )
    refined = _with_counts(shell, shell.index_numeric(col.values.copy()), y, w)
    # One value from every refined bin, in layout order: its lower edge (-inf for the
    # first), NaN for missing, then each special value.
    probes = np.concatenate([[-np.inf], edges, [np.nan], specials])
    return refined, [p.index_numeric(probes.copy()) for p in parts]


def _refine_categorical(
    col: Column, y: np.ndarray, w: np.ndarray | None, parts: list[FeatureBinning]
) -> tuple[FeatureBinning, list[np.ndarray]]:
    labels = col.labels
    assert labels is not None
    codes = np.arange(len(labels))
    # Per category, the bin every member puts it in: equal signatures share a bin.
    signature = np.column_stack([p.index_codes(codes, labels) for p in parts])
    keys, group_of = np.unique(signature, axis=0, return_inverse=True)
    groups = [sorted(str(c) for c in labels[group_of == g]) for g in range(len(keys))]
    size = len(groups) + 2
    shell = FeatureBinning(
        name=col.name,
        kind="categorical",
        edges=np.empty(0),
        groups=groups,
        counts=np.zeros(size, dtype=np.int64),
        events=np.zeros(size, dtype=np.int64),
        trend="by_rate",
    )
    refined = _with_counts(shell, shell.index_codes(col.values, labels), y, w)
    maps = [
        np.concatenate([keys[:, i], [p.n_regular, p.n_regular + 1]]) for i, p in enumerate(parts)
    ]
    return refined, maps


def _pool_small(
    col: Column,
    y: np.ndarray,
    w: np.ndarray | None,
    refined: FeatureBinning,
    points: np.ndarray,
    min_count: float,
) -> tuple[FeatureBinning, np.ndarray]:
    """Pool refined regular bins below ``min_count`` rows, so the published bins keep the
    minimum bin share: the smallest bin joins the neighbour (numeric) or the bin
    (categorical) whose points are closest, at the row-weighted mean of the two. A mean
    of neighbours stays between them, so the points keep their trend. As in the members'
    own binning, a small bin of one value or category whose event rate differs beyond
    chance from the bin it would join stays apart (``merging.keeps_apart``).
    """
    k = refined.n_regular
    n = refined.counts[:k].astype(np.float64).tolist()
    ev = refined.events[:k].astype(np.float64).tolist()
    p = points[:k].tolist()
    parts = [[i] for i in range(k)]
    numeric = refined.kind == "numeric"
    atomic = _atomic(col, refined).tolist()

    def closest(i: int) -> int:
        near = [i - 1, i + 1] if numeric else range(len(parts))
        others = (j for j in near if 0 <= j < len(parts) and j != i)
        return min(others, key=lambda j: abs(p[j] - p[i]))

    def next_merge() -> tuple[int, int] | None:
        for i in sorted(range(len(parts)), key=lambda i: n[i]):  # smallest, then leftmost
            if n[i] >= min_count:
                return None
            j = closest(i)
            if not (atomic[i] and keeps_apart(ev[i], n[i], ev[j], n[j])):
                return i, j
        return None

    while len(parts) > 1 and (pair := next_merge()) is not None:
        i, j = pair
        total = n[i] + n[j]
        p[j] = (p[i] * n[i] + p[j] * n[j]) / total if total else p[j]
        n[j], ev[j] = total, ev[i] + ev[j]
        parts[j] = sorted(parts[j] + parts[i])
        atomic[j] = False
        del n[i], ev[i], p[i], parts[i], atomic[i]
    if len(parts) == k:
        return refined, points
    if numeric:
        edges = refined.edges[[part[0] - 1 for part in parts[1:]]]
        groups: list[list[str]] = []
    else:
        edges = refined.edges
        groups = [sorted(c for i in part for c in refined.groups[i]) for part in parts]
    size = len(parts) + len(refined.counts) - k
    shell = FeatureBinning(
        name=refined.name,
        kind=refined.kind,
        edges=edges,
        groups=groups,
        counts=np.zeros(size, dtype=np.int64),
        events=np.zeros(size, dtype=np.int64),
        trend=refined.trend,
        specials=refined.specials,
    )
    idx = (
        shell.index_numeric(col.values.copy())
        if numeric
        else shell.index_codes(col.values, col.labels)  # type: ignore[arg-type]
    )
    return _with_counts(shell, idx, y, w), np.concatenate([p, points[k:]])


def _atomic(col: Column, b: FeatureBinning) -> np.ndarray:
    """Per regular bin of ``b``, whether it holds one category or one numeric value."""
    if b.kind == "categorical":
        return np.array([len(g) == 1 for g in b.groups], dtype=bool)
    idx = b.index_numeric(col.values.copy())
    regular = idx < b.n_regular
    rows = np.bincount(idx[regular], minlength=b.n_regular)  # rows, not weights
    return single_valued(col.values[regular], b.edges, idx[regular], rows)


#: Direction of the points for an event-rate trend (risk up = points down).
_POINTS_SHAPE = {"ascending": "down", "descending": "up", "valley": "peak", "peak": "valley"}
_TURNED = {"down": "up", "up": "down", "peak": "valley", "valley": "peak"}


def _keep_trend(b: FeatureBinning, points: np.ndarray, *, reversed_: bool = False) -> np.ndarray:
    """The regular bins' points, row-weighted, brought to the shape of ``b.trend``.

    Monotone: isotonic regression. Peak or valley: the best (least weighted squares)
    rise-then-fall (or fall-then-rise) over every split point. Other trends and the
    missing/special/unseen bins are left as they are. ``reversed_`` (the members' mean
    coefficient is positive, see ``selection.fit_signed_lr``): the points follow the
    event rate instead of opposing it, so the shape is turned over.
    """
    shape = _POINTS_SHAPE.get(b.trend)
    if reversed_ and shape is not None:
        shape = _TURNED[shape]
    k = b.n_regular
    out = points.copy()
    if shape is not None and k > 1:
        p, w = points[:k], np.maximum(b.counts[:k], 1).astype(np.float64)
        if shape in ("up", "down"):
            out[:k] = isotonic_regression(p, sample_weight=w, increasing=shape == "up")
        else:
            rise = shape == "peak"
            fits = []
            for m in range(1, k):  # left part [0, m) then right part [m, k)
                left = isotonic_regression(p[:m], sample_weight=w[:m], increasing=rise)
                right = isotonic_regression(p[m:], sample_weight=w[m:], increasing=not rise)
                fit = np.concatenate([left, right])
                fits.append((float(np.sum(w * (fit - p) ** 2)), m, fit))
            out[:k] = min(fits, key=lambda t: (t[0], t[1]))[2]
    return out
