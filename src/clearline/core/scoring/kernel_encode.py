"""Encoding of a frame into the kernel's (n_features, n_rows) float64 matrix.

Numeric features are copied as float64 (NaN = missing). Categorical features become bin
codes, by one of three vectorised paths, fastest first:

- Arrow-backed strings (pandas' default ``str`` dtype, polars String/Categorical/Enum):
  one compiled pass over the Arrow buffers (:mod:`.kernel_strings`), or where numba is
  missing ``pyarrow.compute.index_in`` against the known categories;
- pandas ``category`` dtype: the bin of each category, gathered by the integer codes;
- anything else (object columns, numbers or booleans treated as categories): the
  scorecard's own ``Table.categories`` + ``FeatureBinning.index_codes``.

Every path gives the bin ``Scorecard`` gives: category labels are normalised by the same
``frame._label``, and the missing and unseen bins are asked of the binning itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clearline.core.scoring import kernel_strings
from clearline.core.scoring.frame import Table, _label

try:
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover
    pa = None  # type: ignore[assignment]

try:
    import polars as pl
except ImportError:  # pragma: no cover
    pl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from clearline.core.scoring.kernel import ScoringPlan

_UNSEEN = "\x00clearline-unseen\x00"  # a label no training data can have held
_SHORT = 64  # up to this many rows (a household) a String feature is coded by dict lookup


def encode_columns(plan: ScoringPlan, X: Any) -> list[np.ndarray]:
    """One contiguous float64 column per model feature (see :meth:`ScoringPlan.columns`).

    Numeric columns are not copied when the frame already holds contiguous float64.
    """
    table = Table(X)
    if not table.has_names or not plan.has_names:
        # Positional input: same rule and message as Scorecard._table.
        if len(table.names) != len(plan.column_names):
            raise ValueError(
                f"X has {len(table.names)} features, but Scorecard is expecting "
                f"{len(plan.column_names)} features as input."
            )
        table.rename(plan.column_names)
    table.require(plan.features)
    out = []
    for j, (f, b) in enumerate(zip(plan.features, plan.binnings, strict=True)):
        col = table.numeric(f) if plan.is_num[j] else _category_bins(table, f, b, plan.maps, j)
        out.append(np.ascontiguousarray(col, dtype=np.float64))
    return out


def encode_frame(plan: ScoringPlan, X: Any) -> np.ndarray:
    """See :meth:`ScoringPlan.encode`."""
    cols = encode_columns(plan, X)
    n = len(cols[0]) if cols else Table(X).n_rows
    M = np.empty((len(cols), n), dtype=np.float64)
    for j, c in enumerate(cols):
        M[j] = c
    return M


def _category_maps(b: Any) -> tuple[Any, np.ndarray, int]:
    """Known labels (as an Arrow value set), the bin of each followed by the unseen bin
    (as float64, a lookup table), and the missing bin of a categorical binning."""
    known = [str(c) for g in b.groups for c in g]
    bins = b.index_codes(np.arange(len(known)), np.array(known, dtype=object))
    missing = int(b.index_codes(np.array([-1]), np.array([], dtype=object))[0])
    unseen = int(b.index_codes(np.array([0]), np.array([_UNSEEN], dtype=object))[0])
    lut = np.append(np.asarray(bins, dtype=np.int64), unseen).astype(np.float64)
    return pa.array(known, type=pa.large_string()), lut, missing


def _category_bins(table: Table, name: str, b: Any, maps: dict[Any, Any], j: int) -> np.ndarray:
    """Bin code (as float64) of every row of categorical feature ``name`` (the
    ``j``-th); ``maps`` keeps each binning's lookup tables, since building them costs
    more than encoding a household."""
    col = _raw_column(table, name)
    if (
        pl is not None
        and isinstance(col, pl.Series)
        and col.dtype == pl.String
        and len(col) <= _SHORT
    ):
        # A household's few rows: dictionary lookups cost less than an Arrow round trip.
        if ("dict", j) not in maps:
            known, lut, missing = _category_maps(b)
            pairs = zip(known.to_pylist(), lut[:-1].tolist(), strict=True)
            first = dict(reversed(list(pairs)))
            maps["dict", j] = (first, float(lut[-1]), float(missing))
        bins, unseen, missing = maps["dict", j]
        values = col.to_list()
        return np.array([missing if v is None else bins.get(v, unseen) for v in values])
    arrow = _as_arrow_strings(col)
    if arrow is not None and kernel_strings.HAVE_NUMBA:
        if ("labels", j) not in maps:
            known, lut, missing = _category_maps(b)
            maps["labels", j] = kernel_strings.labels(
                known.to_pylist(), lut[:-1], float(lut[-1]), float(missing)
            )
        return kernel_strings.bins_of(arrow, maps["labels", j])
    if arrow is not None:  # pragma: no cover - where numba is missing
        if j not in maps:
            maps[j] = _category_maps(b)
        known, lut, missing = maps[j]
        pos = pc.index_in(arrow, value_set=known)
        pos_np = np.asarray(pos.fill_null(len(known)).to_numpy(zero_copy_only=False))
        out = lut[pos_np]
        if arrow.null_count:
            out[np.asarray(arrow.is_null().to_numpy(zero_copy_only=False))] = missing
        return out
    if pl is not None and isinstance(col, pl.Series) and col.dtype == pl.Boolean:
        if ("bool", j) not in maps:  # bins of False, True, then missing
            labels = np.array([_label(False), _label(True)], dtype=object)
            maps["bool", j] = np.asarray(
                b.index_codes(np.array([0, 1, -1]), labels), dtype=np.float64
            )
        lut = maps["bool", j]
        codes = col.cast(pl.Int8).to_numpy()  # float64 with NaN where null
        if codes.dtype.kind == "f":
            codes = np.where(np.isnan(codes), 2, codes)
        return lut[codes.astype(np.intp)]  # type: ignore[no-any-return]
    if isinstance(col, pd.Series) and isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories.to_numpy(dtype=object)
        labels = np.array([_label(v) for v in cats], dtype=str)
        bins = b.index_codes(np.arange(len(labels)), labels)
        missing = b.index_codes(np.array([-1]), labels)[0]
        lut = np.append(bins, missing).astype(np.float64)
        return lut[col.cat.codes.to_numpy()]  # code -1 (NaN) picks the last: missing
    codes, labels = table.categories(name)
    return np.asarray(b.index_codes(codes, labels), dtype=np.float64)


def _raw_column(table: Table, name: str) -> Any:
    """The caller's own column behind ``name`` (pandas or polars Series)."""
    orig = table._orig[name]
    if table._pl is not None:
        return table._pl[orig]
    return table._pd[orig]  # type: ignore[index]


def _as_arrow_strings(col: Any) -> Any:
    """The column as an Arrow large_string array when that costs no Python objects."""
    if pa is None:
        return None
    if pl is not None and isinstance(col, pl.Series):
        if col.dtype not in (pl.String, pl.Categorical) and not isinstance(col.dtype, pl.Enum):
            return None
        arr = col.cast(pl.String).to_arrow()
    elif isinstance(col, pd.Series):
        if not isinstance(col.dtype, pd.StringDtype | pd.ArrowDtype):
            return None
        if getattr(col.dtype, "storage", None) not in ("pyarrow", None):
            return None  # python-backed strings: no Arrow buffer to hash
        try:
            arr = pa.array(col.array)
        except (TypeError, pa.ArrowException):
            return None
    else:
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (
        pa.types.is_string(arr.type)
        or pa.types.is_large_string(arr.type)
        or pa.types.is_string_view(arr.type)
    ):
        return None
    return arr.cast(pa.large_string())
