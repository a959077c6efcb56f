"""Trend-constrained partitions of pre-bins: monotonic, peak, valley, none, or auto.

A partition is ``starts`` (the first pre-bin of each bin, see ``merging.py``). Every
function here works on per-pre-bin event and row counts (a few dozen numbers), never on
rows. ``peak`` means the event rate rises then falls (one maximum), ``valley`` that it
falls then rises (one minimum).

``auto`` picks the trend with the highest information value, but a peak or valley must
earn its extra turning point: it is kept only when its IV beats the best monotonic IV
by a margin that shrinks with the sample (a chi-square-like gain, see
``PV_MIN_GAIN``) and by ``PV_MIN_REL_GAIN`` relatively, and when at least
``PV_MIN_SIDE_SHARE`` of the rows lie on each side of its extreme bin. Small samples
therefore stay monotonic unless the bend is plain.
"""

from __future__ import annotations

import numpy as np

from clearline.core.scoring.merging import enforce_size, pav, woe_iv

MONOTONIC = ("ascending", "descending")
SHAPED = ("peak", "valley")
TRENDS = ("auto", *MONOTONIC, *SHAPED, "none")

#: IV gain of a peak/valley over the best monotonic fit, times ``goods * bads / rows``
#: (about the chi-square gain of the extra turn), that ``auto`` requires.
PV_MIN_GAIN = 16.0
#: Relative IV gain over the best monotonic fit that ``auto`` requires of a peak/valley.
PV_MIN_REL_GAIN = 0.10
#: Share of the non-missing rows ``auto`` requires on each side of the extreme bin.
PV_MIN_SIDE_SHARE = 0.10


def partition_iv(e: np.ndarray, n: np.ndarray, starts: np.ndarray) -> float:
    """Information value of the bins ``starts`` makes of pre-bins ``e``/``n``."""
    return float(woe_iv(np.add.reduceat(e, starts), np.add.reduceat(n, starts))[1].sum())


def fit_trend(
    e: np.ndarray,
    n: np.ndarray,
    trend: str,
    *,
    min_count: float,
    max_bins: int,
    atomic: np.ndarray | None = None,
) -> np.ndarray:
    """Best partition of the pre-bins under one explicit ``trend`` (not ``auto``).

    Minimum size and maximum count of bins are enforced after the trend, by merging
    neighbours; a merge never adds a turning point, so the shape survives. ``atomic``
    as for :func:`merging.enforce_size`.
    """
    m = len(n)
    tot_e, tot_n = float(e.sum()), float(n.sum())

    def sized(starts: np.ndarray) -> np.ndarray:
        return enforce_size(
            e,
            n,
            starts,
            min_count=min_count,
            max_bins=max_bins,
            total_e=tot_e,
            total_n=tot_n,
            atomic=atomic,
        )

    if trend == "none" or m < 2:
        return sized(np.arange(m))
    if trend in MONOTONIC:
        return sized(pav(e, n, ascending=trend == "ascending"))
    if trend not in SHAPED:
        raise ValueError(f"unknown trend {trend!r}; expected one of {TRENDS}")
    rising_first = trend == "peak"
    # Every turning point: rising (falling) PAV on the left, the opposite on the right.
    # Candidates are ranked by their IV before sizing; only the best few are sized, as
    # sizing is the costly step and rarely reorders far-apart candidates.
    cands = []
    for t in range(1, m):
        left = pav(e[:t], n[:t], ascending=rising_first)
        right = pav(e[t:], n[t:], ascending=not rising_first) + t
        starts = np.concatenate([left, right])
        cands.append((partition_iv(e, n, starts), t, starts))
    cands.sort(key=lambda c: (-c[0], c[1]))
    best: tuple[float, np.ndarray] | None = None
    for _, _, starts in cands[:4]:
        s = sized(starts)
        iv = partition_iv(e, n, s)
        if best is None or iv > best[0] + 1e-12:
            best = (iv, s)
    assert best is not None
    return best[1]


def turning_points(rates: np.ndarray) -> int:
    """Number of changes of direction in a sequence (ties are not a change)."""
    d = np.sign(np.diff(rates))
    d = d[d != 0]
    return int(np.count_nonzero(d[1:] != d[:-1]))


def _sides_ok(e: np.ndarray, n: np.ndarray, starts: np.ndarray, trend: str) -> bool:
    """Whether enough rows lie on each side of the extreme bin of a peak/valley."""
    be, bn = np.add.reduceat(e, starts), np.add.reduceat(n, starts)
    if len(bn) < 3:
        return False
    rate = be / np.maximum(bn, 1)
    k = int(np.argmax(rate) if trend == "peak" else np.argmin(rate))
    total = bn.sum()
    return bool(
        bn[:k].sum() >= PV_MIN_SIDE_SHARE * total and bn[k + 1 :].sum() >= PV_MIN_SIDE_SHARE * total
    )


def auto_trend(
    e: np.ndarray,
    n: np.ndarray,
    *,
    min_count: float,
    max_bins: int,
    shapes: bool = True,
    atomic: np.ndarray | None = None,
) -> tuple[str, np.ndarray]:
    """Choose among ascending, descending (and peak, valley when ``shapes``) by IV.

    Returns the chosen trend and its partition (see the module docstring for the
    guard that keeps a peak or valley from fitting noise).
    """

    def fit(trend: str) -> np.ndarray:
        return fit_trend(e, n, trend, min_count=min_count, max_bins=max_bins, atomic=atomic)

    fits = {t: fit(t) for t in MONOTONIC}
    ivs = {t: partition_iv(e, n, s) for t, s in fits.items()}
    trend = max(MONOTONIC, key=lambda t: (ivs[t], t == "ascending"))
    if not shapes or len(n) < 3:
        return trend, fits[trend]
    base = ivs[trend]
    tot_e, tot_n = float(e.sum()), float(n.sum())
    scale = tot_e * (tot_n - tot_e) / max(tot_n, 1.0)
    best_shape: tuple[float, str, np.ndarray] | None = None
    for shape in SHAPED:
        s = fit(shape)
        iv = partition_iv(e, n, s)
        gain = iv - base
        if (
            gain * scale >= PV_MIN_GAIN
            and gain >= PV_MIN_REL_GAIN * base
            and _sides_ok(e, n, s, shape)
            and (best_shape is None or iv > best_shape[0])
        ):
            best_shape = (iv, shape, s)
    if best_shape is not None:
        return best_shape[1], best_shape[2]
    return trend, fits[trend]
