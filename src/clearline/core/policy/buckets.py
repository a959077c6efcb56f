"""Hash-table passes of decide: households that could be over the cap, distinct ids.

**Household cap.** Which rows could belong to a household over the cap: one pass over
hash buckets.

Rows are summed per bucket of their household key's 64-bit hash (a bucket total is an
upper bound of every household total in it, limits being non-negative); only rows of a
bucket over the cap need the exact per-household sums. One bucket per two rows keeps the
table (4 MB for a million rows) in cache, which makes the pass three times faster than
with two buckets per row; the price is more rows for the exact step (on the benchmark
book 5 % instead of 0.7 %, a few milliseconds). The compiled loop and the numpy twin
give the same rows (``tests/test_decide_fused.py``).

**Distinct ids.** Whether 64-bit id hashes are all distinct, by inserting them into an
open-addressing table (one pass, about 4x faster than polars' ``n_unique`` here).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from clearline.core.policy.compiled import DEC


def read_only(a: np.ndarray) -> np.ndarray:
    """A read-only view: numba compiles one version per mix of writable and read-only
    arguments (polars hands out either), so inputs always go in read-only (and the
    cached machine code is found for every caller)."""
    if not a.flags.writeable:
        return a
    view = a.view()
    view.flags.writeable = False
    return view


try:
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is absent
    HAVE_NUMBA = False


def _n_buckets(n: int) -> int:
    return 1 << max(10, int(n // 2 - 1).bit_length())


def suspects_numpy(
    hashes: np.ndarray, limit: np.ndarray, action: np.ndarray, closed: np.ndarray, cap: float
) -> np.ndarray:
    """Rows whose bucket's drawable limits sum above ``cap``."""
    buckets = _n_buckets(hashes.shape[0])
    slot = (hashes & np.uint64(buckets - 1)).astype(np.intp)
    total = np.where(~closed & (action <= DEC), limit, 0.0)
    # Compare per bucket, then gather one byte per row (not a float64: cache-friendlier).
    return (np.bincount(slot, weights=total, minlength=buckets) > cap)[slot]


def _suspect_rows(hashes, limit, action, closed, cap, mask, out):  # type: ignore[no-untyped-def]
    totals = np.zeros(mask + 1)
    for i in range(hashes.shape[0]):
        if not closed[i] and action[i] <= DEC:
            totals[hashes[i] & mask] += limit[i]
    over = totals > cap
    for i in range(hashes.shape[0]):
        out[i] = over[hashes[i] & mask]


if HAVE_NUMBA:
    _suspect_rows = njit(cache=True, nogil=True)(_suspect_rows)


def suspects(
    hashes: np.ndarray, limit: np.ndarray, action: np.ndarray, closed: np.ndarray, cap: float
) -> np.ndarray:
    """:func:`suspects_numpy` in two compiled passes where numba is installed."""
    if not HAVE_NUMBA:
        return suspects_numpy(hashes, limit, action, closed, cap)
    out = np.empty(hashes.shape[0], dtype=bool)
    mask = np.uint64(_n_buckets(hashes.shape[0]) - 1)
    ro = read_only
    _suspect_rows(ro(hashes), ro(limit), ro(action), ro(closed), float(cap), mask, out)
    return out


def _all_distinct(hashes, bits):  # type: ignore[no-untyped-def]
    mask = np.uint64((1 << bits) - 1)
    table = np.zeros(1 << bits, dtype=np.uint64)  # 0 marks an empty slot
    zero_seen = False
    for i in range(hashes.shape[0]):
        x = hashes[i]
        if x == 0:  # the empty marker itself: tracked apart
            if zero_seen:
                return False
            zero_seen = True
            continue
        j = x & mask
        while table[j] != 0:
            if table[j] == x:
                return False
            j = (j + np.uint64(1)) & mask
        table[j] = x
    return True


if HAVE_NUMBA:
    _all_distinct = njit(cache=True, nogil=True)(_all_distinct)


def all_distinct(hashes: np.ndarray) -> bool:
    """Whether the uint64 ``hashes`` are pairwise distinct."""
    if not HAVE_NUMBA:
        return bool(pl.Series(hashes).n_unique() == hashes.shape[0])
    bits = max(10, int(2 * hashes.shape[0]).bit_length())  # at most half full
    return bool(_all_distinct(read_only(hashes), bits))


def warm() -> None:
    """Compile both passes now (see :func:`kernel_fused.warm`)."""
    if HAVE_NUMBA:
        u8, f8 = np.zeros(1, dtype=np.uint64), np.zeros(1)
        suspects(u8, f8, np.zeros(1, dtype=np.int8), np.zeros(1, dtype=bool), 1.0)
        all_distinct(u8)
