"""Merging of adjacent bins: monotonic trend, minimum share, maximum number of bins.

All functions work on per-bin event and row counts (a few dozen numbers at most), never
on rows, so the Python loops here cost microseconds whatever the data size. A bin
partition is described by ``starts``: the index of the first pre-bin of each bin.
"""

from __future__ import annotations

import numpy as np

#: Pseudo-count added to goods and bads of every populated bin, so that a bin with no
#: bads (or no goods) gets a large but finite weight of evidence.
WOE_ALPHA = 0.5


#: Size-proportional pseudo-count used only to rank merges (see ``_bin_iv``).
_MERGE_SMOOTHING = 0.01


def woe_iv(events: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weight of evidence and information value per bin.

    ``woe = ln(share of goods / share of bads)`` with ``WOE_ALPHA`` smoothing over the
    populated bins; empty bins get ``woe = 0`` (neutral) and ``iv = 0``.
    """
    events = np.asarray(events, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    goods = counts - events
    full = counts > 0
    k = max(int(full.sum()), 1)
    pg = (goods + WOE_ALPHA) / (goods[full].sum() + WOE_ALPHA * k)
    pb = (events + WOE_ALPHA) / (events[full].sum() + WOE_ALPHA * k)
    woe = np.where(full, np.log(pg / pb), 0.0)
    iv = np.where(full, (pg - pb) * woe, 0.0)
    return woe, iv


def _bin_iv(e: np.ndarray, n: np.ndarray, total_e: float, total_n: float) -> np.ndarray:
    """IV contribution of bins against fixed totals (used to rank candidate merges).

    The pseudo-counts are proportional to the bin size, so they add up under a merge
    and the IV stays jointly convex: merging two bins can never gain IV.
    """
    c = _MERGE_SMOOTHING
    pg = (n - e + c * n) / (total_n - total_e + c * total_n)
    pb = (e + c * n) / (total_e + c * total_n)
    with np.errstate(divide="ignore", invalid="ignore"):
        iv = (pg - pb) * np.log(pg / pb)
    return np.where(n > 0, iv, 0.0)  # an empty bin carries no information


def merge_costs(e: np.ndarray, n: np.ndarray, total_e: float, total_n: float) -> np.ndarray:
    """IV lost by merging each adjacent pair ``(i, i + 1)``; never negative by convexity."""
    iv = _bin_iv(e, n, total_e, total_n)
    merged = _bin_iv(e[:-1] + e[1:], n[:-1] + n[1:], total_e, total_n)
    return iv[:-1] + iv[1:] - merged


def pav(e: np.ndarray, n: np.ndarray, ascending: bool) -> np.ndarray:
    """Pool adjacent violators: the finest partition with a monotonic event rate.

    Ties are pooled too, so the result is strictly monotonic. Returns ``starts``.
    """
    blocks: list[list[float]] = []  # [events, rows, first pre-bin]
    for i in range(len(n)):
        blocks.append([float(e[i]), float(n[i]), i])
        while len(blocks) > 1:
            e1, n1, _ = blocks[-2]
            e2, n2, _ = blocks[-1]
            # Rates compared by cross-multiplication: no division by empty bins.
            violates = e1 * n2 >= e2 * n1 if ascending else e1 * n2 <= e2 * n1
            if not violates and n1 > 0 and n2 > 0:
                break
            blocks[-2][0] += e2
            blocks[-2][1] += n2
            blocks.pop()
    return np.array([int(b[2]) for b in blocks], dtype=np.int64)


def enforce_size(
    e: np.ndarray,
    n: np.ndarray,
    starts: np.ndarray,
    *,
    min_count: float,
    max_bins: int,
    total_e: float,
    total_n: float,
) -> np.ndarray:
    """Merge neighbours until every bin has ``min_count`` rows and there are at most
    ``max_bins`` bins, each time losing the least information value.

    ``e`` and ``n`` are per pre-bin; ``starts`` the current partition. Merging adjacent
    bins of a monotonic sequence keeps it monotonic, so this never breaks the trend.
    """
    be = np.add.reduceat(e.astype(np.float64), starts)
    bn = np.add.reduceat(n.astype(np.float64), starts)
    starts = starts.copy()
    while len(bn) > 1:
        costs = merge_costs(be, bn, total_e, total_n)
        small = np.flatnonzero(bn < min_count)
        if small.size:
            i = int(small[np.argmin(bn[small])])
            # Merge the smallest bin with whichever neighbour loses less IV.
            left = costs[i - 1] if i > 0 else np.inf
            right = costs[i] if i < len(bn) - 1 else np.inf
            j = i - 1 if left <= right else i
        elif len(bn) > max_bins:
            j = int(np.argmin(costs))
        else:
            break
        be[j] += be[j + 1]
        bn[j] += bn[j + 1]
        be = np.delete(be, j + 1)
        bn = np.delete(bn, j + 1)
        starts = np.delete(starts, j + 1)
    return starts
