"""Bin codes of an Arrow string column in one compiled pass (numba).

Encoding a categorical feature was half of scoring time: ``pyarrow.compute.index_in``
hashes every string (10 ns a row here), then four more passes over the column fill the
unseen positions, copy to numpy, look the bins up and mark the nulls. Here one loop
reads the Arrow buffers themselves and writes each row's bin: the validity bit, a hash
of the first and last 8 bytes, a probe into a small open-addressing table of the known
labels, a byte comparison on a hit. Same bins as the ``index_in`` path, which stays
where numba is missing (``tests/test_kernel_strings.py`` compares the two).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

try:
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is absent
    HAVE_NUMBA = False

_M1 = np.uint64(0x9E3779B97F4A7C15)  # odd multipliers (golden ratio, splitmix64)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


def _word(data: np.ndarray, a: int, n: int) -> np.uint64:
    """Up to 8 bytes from ``data[a:]`` as one little-endian integer."""
    k = np.uint64(0)
    for i in range(min(n, 8)):
        k |= np.uint64(data[a + i]) << np.uint64(8 * i)
    return k


def _hash(data: np.ndarray, a: int, b: int) -> tuple[np.uint64, np.uint64]:
    """(hash, first word) of the bytes ``data[a:b]``: the first and last 8 bytes and
    the length, mixed by multiplication. A label of up to 8 bytes is its first word and
    its length, so comparing those two is comparing the label."""
    n = b - a
    head = _word(data, a, n)
    tail = _word(data, b - 8, 8) if n > 8 else np.uint64(0)
    h = head * _M1 ^ tail * _M2 ^ np.uint64(n) * _M3
    return h ^ (h >> np.uint64(31)), head


@dataclass(frozen=True)
class Labels:
    """The known labels of one categorical binning, laid out for :func:`bins_of`.

    ``offsets``/``data`` hold the labels' UTF-8 bytes, ``heads`` the first word of each
    (see ``_hash``); ``table`` maps a hash slot to a label index (-1 empty;
    ``len(table) - 1`` is the probe mask); ``lut`` is the bin of each label, ``unseen``
    and ``missing`` the bins of an unknown label and of a null.
    """

    offsets: np.ndarray
    data: np.ndarray
    heads: np.ndarray
    table: np.ndarray
    lut: np.ndarray
    unseen: float
    missing: float


def labels(known: list[str], lut: np.ndarray, unseen: float, missing: float) -> Labels:
    """:class:`Labels` for ``known`` (label ``i`` has bin ``lut[i]``). A label given
    twice keeps its first bin, as ``index_in`` does."""
    raw = [k.encode() for k in known]
    offsets = np.zeros(len(raw) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(r) for r in raw])
    data = np.frombuffer(b"".join(raw), dtype=np.uint8) if offsets[-1] else np.zeros(1, np.uint8)
    size = 8
    while size < 4 * len(raw):  # at most a quarter full: probes stay short
        size *= 2
    table = np.full(size, -1, dtype=np.int64)
    heads = np.zeros(len(raw), dtype=np.uint64)
    _fill(offsets, data, heads, table)
    lut = np.asarray(lut, dtype=np.float64)
    return Labels(offsets, data, heads, table, lut, unseen, missing)


def _fill(offsets: np.ndarray, data: np.ndarray, heads: np.ndarray, table: np.ndarray) -> None:
    mask = np.uint64(len(table) - 1)
    for k in range(len(offsets) - 1):
        a, b = offsets[k], offsets[k + 1]
        h, heads[k] = _hash(data, a, b)
        slot = h & mask
        repeated = False
        while table[slot] >= 0 and not repeated:
            j = table[slot]
            repeated = _same(data, a, b, data, offsets[j], offsets[j + 1])
            slot = (slot + np.uint64(1)) & mask
        if not repeated:  # a repeated label: the first one keeps its slot
            table[slot] = k


def _same(x: np.ndarray, a: int, b: int, y: np.ndarray, c: int, d: int) -> bool:
    if b - a != d - c:
        return False
    for i in range(b - a):
        if x[a + i] != y[c + i]:
            return False
    return True


def _bins(
    offsets: np.ndarray,
    data: np.ndarray,
    valid: np.ndarray,
    start: int,
    k_off: np.ndarray,
    k_data: np.ndarray,
    k_heads: np.ndarray,
    table: np.ndarray,
    lut: np.ndarray,
    unseen: float,
    missing: float,
    out: np.ndarray,
) -> None:
    """``out[i]``: the bin of row ``i``; ``valid`` is the Arrow validity bitmap (empty
    when the column has no nulls), whose bit of row ``i`` is ``start + i``."""
    mask = np.uint64(len(table) - 1)
    check = len(valid) > 0
    for i in range(len(out)):
        if check:
            bit = start + i
            if not (valid[bit >> 3] >> (bit & 7)) & 1:
                out[i] = missing
                continue
        a, b = offsets[i], offsets[i + 1]
        h, head = _hash(data, a, b)
        slot = h & mask
        res = unseen
        while table[slot] >= 0:
            k = table[slot]
            ka, kb = k_off[k], k_off[k + 1]
            if (
                k_heads[k] == head
                and kb - ka == b - a
                and (b - a <= 8 or _same(data, a, b, k_data, ka, kb))
            ):
                res = lut[k]
                break
            slot = (slot + np.uint64(1)) & mask
        out[i] = res


if HAVE_NUMBA:
    _word = njit(cache=True, nogil=True, inline="always")(_word)  # type: ignore[assignment]
    _hash = njit(cache=True, nogil=True, inline="always")(_hash)  # type: ignore[assignment]
    _same = njit(cache=True, nogil=True, inline="always")(_same)  # type: ignore[assignment]
    _fill = njit(cache=True, nogil=True)(_fill)  # type: ignore[assignment]
    _bins = njit(cache=True, nogil=True)(_bins)  # type: ignore[assignment]


def bins_of(arrow: Any, known: Labels) -> np.ndarray:
    """Bin code (float64) of every row of the Arrow ``large_string`` array ``arrow``."""
    n = len(arrow)
    validity, offsets_buf, data_buf = arrow.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arrow.offset : arrow.offset + n + 1]
    data = np.zeros(1, np.uint8) if data_buf is None else np.frombuffer(data_buf, dtype=np.uint8)
    has_nulls = validity is not None and arrow.null_count > 0
    valid = np.frombuffer(validity, dtype=np.uint8) if has_nulls else np.zeros(0, np.uint8)
    out = np.empty(n, dtype=np.float64)
    _bins(
        offsets, data, valid, arrow.offset, known.offsets, known.data, known.heads, known.table,
        known.lut, float(known.unseen), float(known.missing), out,
    )  # fmt: skip
    return out
