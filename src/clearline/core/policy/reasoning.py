"""Reason strings without per-row string work.

A decision's reasons depend only on its *path* (which rule or matrix entry, which
overlays and caps applied) and on the first few scorecard reasons. Both are small
integer codes per row; the reason string is built once per distinct (path, score
reasons) combination and gathered, so a million rows cost a few array passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import polars as pl

from clearline.core.policy import series
from clearline.core.policy.buckets import HAVE_NUMBA, read_only
from clearline.core.reasons import FALLBACK_FEATURE_CODE, feature_codes

if HAVE_NUMBA:
    from numba import njit

MAX_REASONS = 4


class CodeTable:
    """Feature name -> catalogue code index, looked up by string hash (no string compare).

    Polars hashes a string column in one pass; a small open table keyed by the low bits
    of the hash finds each known feature, and a full 64-bit hash match confirms it.
    Anything else is the fallback code.
    """

    def __init__(self) -> None:
        by_feature = feature_codes()
        self.codes: list[str] = sorted(set(by_feature.values()) | {FALLBACK_FEATURE_CODE})
        index = {c: i for i, c in enumerate(self.codes)}
        names = list(by_feature)
        hashes = pl.Series(names, dtype=pl.String).hash().to_numpy()
        bits = max(6, len(names).bit_length() + 2)
        while len({int(h) & ((1 << bits) - 1) for h in hashes}) < len(names):
            bits += 1
        self.mask = np.uint64((1 << bits) - 1)
        self.table_hash = np.zeros(1 << bits, dtype=np.uint64)
        self.table_code = np.full(1 << bits, index[FALLBACK_FEATURE_CODE], dtype=np.int16)
        slots = (hashes & self.mask).astype(np.intp)
        self.table_hash[slots] = hashes
        self.table_code[slots] = [index[by_feature[n]] for n in names]
        self.fallback = index[FALLBACK_FEATURE_CODE]

    def lookup(self, flat: pl.Series) -> np.ndarray:
        h = flat.cast(pl.String).hash().to_numpy()
        slot = (h & self.mask).astype(np.intp)
        code = np.where(self.table_hash[slot] == h, self.table_code[slot], self.fallback)
        return np.where(flat.is_null().to_numpy(), -1, code).astype(np.int16)


_TABLE: CodeTable | None = None


def code_table() -> CodeTable:
    global _TABLE
    if _TABLE is None:
        _TABLE = CodeTable()
    return _TABLE


def score_code_matrix(reasons: pl.Series, width: int = MAX_REASONS) -> np.ndarray:
    """``(n, width)`` catalogue code indices of each row's score reasons, -1 padded.

    Order is kept, nulls and repeated codes are dropped (two unknown features both map
    to the fallback code, which is then said once).
    """
    n = reasons.len()
    lens = reasons.list.len().fill_null(0).to_numpy().astype(np.int64)
    k = int(lens.max()) if n else 0
    if k == 0:
        return np.full((n, width), -1, dtype=np.int16)
    flat = code_table().lookup(reasons.explode(empty_as_null=False, keep_nulls=False))
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    mat = np.full((n, k), -1, dtype=np.int16)
    for j in range(k):
        has = lens > j
        mat[:, j] = np.where(has, flat[np.minimum(starts + j, flat.shape[0] - 1)], -1)
    return _compact(mat, width)


def index_tuples(
    idx: pl.Series, features: Sequence[str], width: int = MAX_REASONS
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`code_tuples` of the code matrix of the scorer's reason *indices*, without
    building that matrix (no string work, no per-row code matrix).

    ``idx`` is a List or Array of integers indexing ``features`` (``-1`` or null: no
    reason), e.g. ``score_reason_idx`` from
    :func:`clearline.core.scoring.apply.score_accounts`. Rows share few distinct index
    tuples; each distinct tuple is mapped to codes (each feature name to its code once)
    and compacted once, so the result describes the same codes as
    ``score_code_matrix`` of the names.
    """
    radix = len(features) + 1
    block = _integer_block(idx)
    if block is not None:  # the usual Array(Int16, 4): one compiled pass, no copies
        k = block.shape[1]
        key = np.empty(block.shape[0], dtype=np.int64)
        in_range = _block_keys(read_only(block), radix, key)
    if block is None or not in_range:
        key, k = _keys_by_columns(_index_columns(idx), features)
    if k == 0:
        return np.zeros(idx.len(), dtype=np.int64), np.full((1, width), -1, dtype=np.int16)
    if radix**k <= 1 << 24:
        ids, distinct = dense(key, radix**k)
    else:
        distinct, ids = np.unique(key, return_inverse=True)
    digits = np.empty((distinct.shape[0], k), dtype=np.int64)
    rest = distinct.copy()
    for j in range(k):
        rest, digits[:, j] = np.divmod(rest, radix)
    # digit - 1 is the feature index; -1 (no reason) reads the appended -1 of ``lut``.
    lut = _feature_lut(tuple(features))
    return ids, _compact(lut[digits - 1].astype(np.int16), width)


def _keys_by_columns(raw: np.ndarray, features: Sequence[str]) -> tuple[np.ndarray, int]:
    """Mixed-radix tuple key per row of ``(k, n)`` indices; refuses out-of-range ones."""
    k, n = raw.shape
    if raw.size and (raw.min() < -1 or raw.max() >= len(features)):
        bad = int(raw[(raw < -1) | (raw >= len(features))][0])
        raise ValueError(
            f"score_reason_idx holds {bad}, outside score_features (0..{len(features) - 1})"
        )
    key = np.zeros(n, dtype=np.int64)
    for j in range(k - 1, -1, -1):  # raw[j] is reason j of every row
        key *= len(features) + 1
        key += raw[j]
        key += 1
    return key, k


def _integer_block(idx: pl.Series) -> np.ndarray | None:
    """The ``(n, k)`` integer block of a non-empty Array column without nulls, as a
    view; None for anything else (lists, floats, nulls), which takes the column path."""
    dtype = idx.dtype
    if not isinstance(dtype, pl.Array) or not dtype.inner.is_integer() or dtype.size == 0:
        return None
    if idx.len() == 0 or idx.has_nulls():
        return None
    block = idx.to_numpy()
    if block.ndim != 2 or block.dtype.kind not in "iu":
        return None
    return block


def _block_keys(block, radix, out):  # type: ignore[no-untyped-def]
    """The same keys as :func:`_keys_by_columns`, row by row; False if an index is out
    of range (the caller then takes the column path, which names it)."""
    for i in range(block.shape[0]):
        key = 0
        for j in range(block.shape[1] - 1, -1, -1):
            v = block[i, j]
            if v < -1 or v >= radix - 1:
                return False
            key = key * radix + v + 1
        out[i] = key
    return True


if HAVE_NUMBA:
    _block_keys = njit(cache=True, nogil=True)(_block_keys)
else:  # pragma: no cover - without numba the column path does it in numpy

    def _block_keys(block, radix, out):  # type: ignore[no-untyped-def]
        return False


def _index_columns(idx: pl.Series) -> np.ndarray:
    """``(k, n)`` int64 reason indices (-1: none) of a List or Array column."""
    n = idx.len()
    is_array = isinstance(idx.dtype, pl.Array)
    if is_array and idx.dtype.inner.is_integer():  # type: ignore[attr-defined]
        k = idx.dtype.size  # type: ignore[attr-defined]
    elif isinstance(idx.dtype, pl.List) and idx.dtype.inner.is_integer():
        k = int(idx.list.len().max() or 0) if n else 0  # type: ignore[arg-type]
    else:
        raise ValueError(f"score_reason_idx must be a List or Array of integers, not {idx.dtype}")
    block = idx.to_numpy() if is_array and k else None
    if block is not None and block.shape == (n, k):
        # A fixed-width block converts without a copy (nulls come back as NaN); one pass
        # turns it into contiguous int64 columns, the layout the key passes want.
        if block.dtype.kind == "f":
            block = np.nan_to_num(block, nan=-1)
        return np.ascontiguousarray(block.T, dtype=np.int64)
    if k == 0:
        return np.empty((0, n), dtype=np.int64)
    getter = idx.arr if is_array else idx.list
    columns = [getter.get(j, null_on_oob=True).fill_null(-1).to_numpy() for j in range(k)]
    return np.stack(columns).astype(np.int64)


@lru_cache(maxsize=64)
def _feature_lut(features: tuple[str, ...]) -> np.ndarray:
    """Feature index -> code index, with a trailing -1 that index -1 (no reason) reads."""
    lut = np.append(code_table().lookup(pl.Series(list(features), dtype=pl.String)), -1)
    lut.flags.writeable = False  # shared between calls
    return lut


def _compact(mat: np.ndarray, width: int) -> np.ndarray:
    """Drop repeated codes within a row and close the gaps, keeping order; pad/cut to
    ``width``."""
    n, k = mat.shape
    # Work on contiguous columns: strided row-major column passes cost several times more.
    cols = [np.ascontiguousarray(mat[:, j]) for j in range(k)]
    for j in range(1, k):
        dup = cols[j] == cols[0]
        for i in range(1, j):
            dup |= cols[j] == cols[i]
        cols[j] = np.where(dup & (cols[j] >= 0), np.int16(-1), cols[j])
    gaps = np.zeros(n, dtype=bool)
    for j in range(k - 1):
        gaps |= (cols[j] < 0) & (cols[j + 1] >= 0)
    cols += [np.full(n, -1, dtype=np.int16)] * max(0, width - k)
    out = np.column_stack(cols).astype(np.int16, copy=False)
    if gaps.any():  # shift codes left over the holes, keeping their order
        rows = out[gaps]
        order = np.argsort(rows < 0, axis=1, kind="stable")
        out[gaps] = np.take_along_axis(rows, order, axis=1)
    return out[:, :width]


def dense(keys: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, distinct keys)``: ids index the sorted distinct keys (counting, no sort
    when the key space is small)."""
    # Counting costs O(space): worth it for big batches, not for a handful of rows (a
    # household's 2 keys in a space of 15**4: sorting is several times faster).
    if space <= min(1 << 24, max(64 * len(keys), 1 << 8)):
        present = np.bincount(keys, minlength=space) > 0
        distinct = np.flatnonzero(present)
        lookup = np.cumsum(present) - 1
        return lookup[keys].astype(np.int64, copy=False), distinct
    distinct, ids = np.unique(keys, return_inverse=True)
    return ids.astype(np.int64, copy=False), distinct


def code_tuples(score_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(tuple id per row, codes of each distinct tuple)`` of an ``(n, width)`` code
    matrix such as :func:`score_code_matrix` returns."""
    n, width = score_codes.shape
    radix = len(code_table().codes) + 1
    by_col = np.ascontiguousarray(score_codes.T)  # contiguous columns: faster passes
    key = np.zeros(n, dtype=np.int64)
    for j in range(width - 1, -1, -1):
        key *= radix
        key += by_col[j]
        key += 1
    ids, distinct = dense(key, radix**width)
    codes = np.empty((distinct.shape[0], width), dtype=np.int16)
    rest = distinct.copy()
    for j in range(width):
        rest, digit = np.divmod(rest, radix)
        codes[:, j] = digit - 1
    return ids, codes


def reason_strings(
    path_ids: np.ndarray,
    path_parts: list[tuple[tuple[str, ...], str | None]],
    tuple_ids: np.ndarray,
    tuple_codes: np.ndarray,
) -> pl.Series:
    """The ``;``-joined reasons of each row from its path and its score-reason tuple.

    ``path_parts[p]`` is ``(lead codes, tail code)`` of path ``p``; ``tuple_codes[t]``
    the catalogue code indices (-1 padded, no repeats) of score-reason tuple ``t``. The
    lead codes go first, then as many score reasons as fit in four, then the tail if it
    still fits. Each distinct (path, tuple) pair is joined once, then gathered.
    """
    names = code_table().codes
    n_tuples = max(1, tuple_codes.shape[0])
    combo, distinct = dense(
        path_ids.astype(np.int64, copy=False) * n_tuples + tuple_ids,
        max(1, len(path_parts) * n_tuples),
    )
    texts = []
    for c in distinct.tolist():
        p, t = divmod(c, n_tuples)
        lead, tail = path_parts[p]
        scores = [names[code] for code in tuple_codes[t].tolist() if code >= 0]
        room = max(0, MAX_REASONS - len(lead))
        parts = [*lead, *scores[:room]]
        if tail is not None and len(lead) + len(scores) < MAX_REASONS:
            parts.append(tail)
        texts.append(";".join(list(dict.fromkeys(parts))[:MAX_REASONS]))
    return series.take(texts, combo, pl.String, "reasons")
