"""The compiled row loop of the scoring kernel (numba), and its pure-numpy twin.

One pass per row over the model features: find the bin of the value, add its points, and
keep the ``top`` features that lost most points against their best bin by insertion into
a tiny array. Both paths give bit-identical results to ``Scorecard.score_points`` and
``Scorecard.explain_indices``:

- the total is summed in numpy's own order (``np.sum`` over a C-contiguous row is a
  pairwise sum with eight accumulators, starting from 0.0), so the float rounding is the
  same, not merely close;
- a numeric value goes to bin ``searchsorted(edges, x, side="right")`` (bin ``i`` is
  ``[edges[i-1], edges[i])``), NaN to the missing bin, a special value to its own bin;
- ties in points lost keep feature order (the stable argsort of ``rank_lost``), and only
  losses above ``points._EPS`` count.

The plan arrays are flat (CSR-style ``*_ptr`` offsets per feature) so one compiled
function serves any model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clearline.core.scoring.points import _EPS

try:
    from numba import njit, prange, types
    from numba.typed import List as NumbaList

    HAVE_NUMBA = True
    # element type of the column list: contiguous float64, read-only (pandas hands out
    # read-only views; writable arrays go in as they are)
    _COLUMN = types.Array(types.float64, 1, "C", readonly=True)
except ImportError:  # pragma: no cover - exercised only where numba is absent
    HAVE_NUMBA = False

_LINEAR_MAX = 16  # up to this many edges a linear scan beats a binary search
_PW_BLOCK = 128  # numpy's PW_BLOCKSIZE for pairwise summation
_BLOCK = 256  # rows per block: the block's points stay in L1 cache
# Up to this many rows the columns go in as one stacked matrix: building numba's typed
# list costs ~30 us a column, more than copying a household's few rows.
_STACK_MAX = 4096


def _block_sum(a: np.ndarray, lo: int, n: int) -> float:
    """numpy's ``pairwise_sum`` of ``a[lo:lo+n]`` for ``n <= 128`` (no recursion)."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    stop = n - (n % 8)
    while i < stop:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


def _pairwise_sum(a: np.ndarray, n: int) -> float:
    """Sum ``a[:n]`` exactly as numpy's ``pairwise_sum`` does (see the module docstring).

    Above 128 terms numpy splits in halves (rounded to a multiple of 8) and recurses; the
    same tree is walked here with explicit stacks, because numba's on-disk cache cannot
    reload a self-recursive function.
    """
    if n <= _PW_BLOCK:
        return _block_sum(a, 0, n)
    seg_lo = np.empty(256, dtype=np.int64)
    seg_n = np.empty(256, dtype=np.int64)
    seg_join = np.empty(256, dtype=np.bool_)  # True: add the two values on top
    vals = np.empty(256)
    top, nv = 0, 0
    seg_lo[0], seg_n[0], seg_join[0] = 0, n, False
    top = 1
    while top > 0:
        top -= 1
        lo, m, join = seg_lo[top], seg_n[top], seg_join[top]
        if join:
            right = vals[nv - 1]
            left = vals[nv - 2]
            nv -= 1
            vals[nv - 1] = left + right
        elif m <= _PW_BLOCK:
            vals[nv] = _block_sum(a, lo, m)
            nv += 1
        else:
            m2 = m // 2
            m2 -= m2 % 8
            # pushed in reverse: left half runs first, then right, then the join
            seg_lo[top], seg_n[top], seg_join[top] = 0, 0, True
            seg_lo[top + 1], seg_n[top + 1], seg_join[top + 1] = lo + m2, m - m2, False
            seg_lo[top + 2], seg_n[top + 2], seg_join[top + 2] = lo, m2, False
            top += 3
    return vals[0]


def _points_block(
    cols: list[np.ndarray],
    start: int,
    m: int,
    plan: tuple[np.ndarray, ...],
    P: np.ndarray,
    B: np.ndarray,
) -> None:
    """Points of rows ``start:start+m`` into ``P[j, :m]``, one feature at a time.

    Feature-major so every inner loop runs over one contiguous slice with a fixed trip
    count and no data-dependent branch, which the compiler turns into SIMD: the bin of a
    numeric value is the number of edges <= it (``searchsorted(side="right")``), counted
    edge by edge over the whole block; NaN compares false everywhere and is then sent to
    the missing bin, special values to their own bins.
    """
    is_num, edge_ptr, edges, spec_ptr, spec_vals, spec_bins, miss_bin, pts_ptr, points = plan[:9]
    for j in range(len(cols)):
        x = cols[j][start : start + m]
        base = pts_ptr[j]
        if not is_num[j]:
            for r in range(m):
                P[j, r] = points[base + np.int64(x[r])]
            continue
        e0 = edge_ptr[j]
        ne = edge_ptr[j + 1] - e0
        if ne <= _LINEAR_MAX:
            for r in range(m):
                B[r] = 0
            for t in range(ne):
                e = edges[e0 + t]
                for r in range(m):
                    B[r] += x[r] >= e
        else:  # many edges: binary search for the first edge > v
            for r in range(m):
                v = x[r]
                lo, hi = 0, ne
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if edges[e0 + mid] <= v:
                        lo = mid + 1
                    else:
                        hi = mid
                B[r] = lo
        for s in range(spec_ptr[j], spec_ptr[j + 1]):
            sv, sb = spec_vals[s], spec_bins[s]
            for r in range(m):
                B[r] = sb if x[r] == sv else B[r]
        mb = miss_bin[j]
        for r in range(m):
            b = mb if np.isnan(x[r]) else B[r]
            P[j, r] = points[base + b]


def _sum_rows(P: np.ndarray, p: int, m: int, R: np.ndarray, out: np.ndarray) -> None:
    """``out[r] = np.sum(P[:p, r])`` in numpy's pairwise order, for all ``m`` rows at once.

    The same additions in the same order as ``_block_sum`` on each row, only done across
    the rows of the block (SIMD); more than 128 features go row by row.
    """
    if p > _PW_BLOCK:
        buf = np.empty(p)
        for r in range(m):
            for j in range(p):
                buf[j] = P[j, r]
            out[r] = _pairwise_sum(buf, p)
        return
    if p < 8:
        for r in range(m):
            out[r] = 0.0
        for j in range(p):
            for r in range(m):
                out[r] += P[j, r]
        return
    for k in range(8):
        for r in range(m):
            R[k, r] = P[k, r]
    i = 8
    stop = p - (p % 8)
    while i < stop:
        for k in range(8):
            for r in range(m):
                R[k, r] += P[i + k, r]
        i += 8
    for r in range(m):
        out[r] = ((R[0, r] + R[1, r]) + (R[2, r] + R[3, r])) + (
            (R[4, r] + R[5, r]) + (R[6, r] + R[7, r])
        )
    while i < p:
        for r in range(m):
            out[r] += P[i, r]
        i += 1


def _rank_rows(
    P: np.ndarray, p: int, m: int, best: np.ndarray, TL: np.ndarray, TI: np.ndarray
) -> None:
    """Top ``TL.shape[0]`` points lost per row of the block, by branch-free insertion.

    ``TL[k, r]`` / ``TI[k, r]`` hold the k-th largest loss of row ``r`` and its feature.
    Slots start at ``_EPS``, so only a loss above it ever enters (as in ``rank_lost``);
    a loss enters slot ``k`` only if strictly greater than what is there, so on a tie the
    earlier feature stays ahead: the stable order of ``rank_lost``.
    """
    top = TL.shape[0]
    for k in range(top):
        for r in range(m):
            TL[k, r] = _EPS
            TI[k, r] = -1
    for j in range(p):
        bj = best[j]
        for k in range(top - 1, 0, -1):
            for r in range(m):
                d = bj - P[j, r]
                above = TL[k - 1, r]
                if d > above:  # shifts down from slot k-1
                    TL[k, r] = above
                    TI[k, r] = TI[k - 1, r]
                elif d > TL[k, r]:
                    TL[k, r] = d
                    TI[k, r] = j
        for r in range(m):
            d = bj - P[j, r]
            if d > TL[0, r]:
                TL[0, r] = d
                TI[0, r] = j


def _score_rows(
    cols: list[np.ndarray],
    start: int,
    stop: int,
    plan: tuple[np.ndarray, ...],
    empty_score: float,
    score: np.ndarray,
    idx: np.ndarray,
    lost: np.ndarray,
) -> None:
    """Score rows ``start:stop`` (one entry of ``cols`` per model feature) in place.

    Blocks of ``_BLOCK`` rows: points of every feature, then their sum, then the ranking,
    each as loops across the rows of the block (contiguous, so vectorised).
    """
    p = len(cols)
    top = idx.shape[1]
    keep_lost = lost.shape[0] > 0  # a (0, top) array: the caller does not want them
    best = plan[9]
    P = np.empty((max(p, 1), _BLOCK))
    B = np.empty(_BLOCK, dtype=np.int64)
    R = np.empty((8, _BLOCK))
    S = np.empty(_BLOCK)
    TL = np.empty((top, _BLOCK))
    TI = np.empty((top, _BLOCK), dtype=np.int64)
    for b0 in range(start, stop, _BLOCK):
        m = min(_BLOCK, stop - b0)
        _points_block(cols, b0, m, plan, P, B)
        if p > 0:
            _sum_rows(P, p, m, R, S)
        else:
            S[:m] = empty_score
        _rank_rows(P, p, m, best, TL, TI)
        for r in range(m):
            score[b0 + r] = S[r]
            for k in range(top):
                t = TI[k, r]
                idx[b0 + r, k] = t
                if keep_lost:
                    lost[b0 + r, k] = TL[k, r] if t >= 0 else 0.0


def _score_chunks(
    cols: list[np.ndarray],
    n: int,
    plan: tuple[np.ndarray, ...],
    empty_score: float,
    score: np.ndarray,
    idx: np.ndarray,
    lost: np.ndarray,
) -> None:
    """Multi-threaded driver: independent row chunks through ``_score_rows``."""
    chunk = 65536
    n_chunks = (n + chunk - 1) // chunk
    for c in prange(n_chunks):
        a = c * chunk
        b = min(n, a + chunk)
        _score_rows(cols, a, b, plan, empty_score, score, idx, lost)


if HAVE_NUMBA:
    _block_sum = njit(cache=True, nogil=True)(_block_sum)  # type: ignore[assignment]
    _pairwise_sum = njit(cache=True, nogil=True)(_pairwise_sum)  # type: ignore[assignment]
    _points_block = njit(cache=True, nogil=True)(_points_block)  # type: ignore[assignment]
    _sum_rows = njit(cache=True, nogil=True)(_sum_rows)  # type: ignore[assignment]
    _rank_rows = njit(cache=True, nogil=True)(_rank_rows)  # type: ignore[assignment]
    _score_rows = njit(cache=True, nogil=True)(_score_rows)  # type: ignore[assignment]
    _score_chunks = njit(cache=True, nogil=True, parallel=True)(_score_chunks)  # type: ignore[assignment]


def run_compiled(
    cols: list[np.ndarray],
    n: int,
    arrays: tuple[np.ndarray, ...],
    empty_score: float,
    top: int,
    parallel: bool = False,
    with_lost: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The numba kernel over ``n`` rows of the feature columns ``cols`` (each contiguous
    float64; one thread unless ``parallel``). ``arrays`` are the plan's arrays in the
    order ``is_num, edge_ptr, edges, spec_ptr, spec_vals, spec_bins, miss_bin, pts_ptr,
    points, best``. ``with_lost=False`` returns an empty ``(0, top)`` lost array and
    saves writing ``n x top`` floats nobody reads."""
    typed: Any
    if 0 < n <= _STACK_MAX and cols:
        typed = np.stack(cols)
        typed.flags.writeable = False  # one compiled version, read-only like the list's
    else:
        typed = NumbaList.empty_list(_COLUMN)
        for c in cols:
            typed.append(c)
    score = np.empty(n)
    idx = np.empty((n, top), dtype=np.int32)
    lost = np.empty((n if with_lost else 0, top))
    if parallel:
        _score_chunks(typed, n, arrays, float(empty_score), score, idx, lost)
    else:
        _score_rows(typed, 0, n, arrays, float(empty_score), score, idx, lost)
    return score, idx, lost
