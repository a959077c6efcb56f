"""A columnar buffer the monthly loop appends event batches to (numpy arrays).

Money is kept in integer cents until the frames are built, so instalments and the
ledger's cent tolerance are exact.
"""

from __future__ import annotations

import numpy as np

# Event type codes = positions in clearline.core.schema.EVENT_TYPES.
DRAWDOWN, REPAYMENT, PURCHASE, TRANSFER_OUT, TRANSFER_IN, INQUIRY = range(6)
# Counterparty kinds: how the counterparty string is built at the end.
CP_NONE, CP_MERCHANT, CP_KNOWN, CP_NEW, CP_EMPLOYER = range(5)
CP_PREFIX = {CP_MERCHANT: "M", CP_KNOWN: "P", CP_NEW: "N", CP_EMPLOYER: "EMP"}

COLUMNS = ("acc", "sec", "etype", "cents", "loan", "term", "apr", "cp_kind", "cp_num", "city")
_FILL = {"loan": -1, "term": 0, "apr": np.nan, "cp_kind": CP_NONE, "cp_num": 0, "city": -1}
_DTYPE = {"etype": np.int8, "cp_kind": np.int8, "apr": np.float64}


class EventBuffer:
    """Collects event batches; ``arrays()`` concatenates them column by column."""

    def __init__(self) -> None:
        self._parts: dict[str, list[np.ndarray]] = {c: [] for c in COLUMNS}
        self.new_counterparties = 0  # running number for never-seen counterparties

    def add(
        self,
        acc: np.ndarray,
        sec: np.ndarray,
        etype: int,
        cents: np.ndarray,
        **optional: np.ndarray | int,
    ) -> None:
        """Append a batch; columns not given are null for the batch."""
        size = np.asarray(acc).size
        if size == 0:
            return
        given: dict[str, np.ndarray | int] = {"acc": acc, "sec": sec, "cents": cents}
        given["etype"] = etype
        unknown = set(optional) - set(COLUMNS)
        if unknown:
            raise KeyError(f"unknown event columns {sorted(unknown)}")
        given.update(optional)
        for c in COLUMNS:
            value = given.get(c, None)
            if value is None:
                value = np.full(size, _FILL[c])
            arr = np.broadcast_to(np.asarray(value), (size,))
            self._parts[c].append(arr.astype(_DTYPE.get(c, np.int64), copy=False))

    def take_new_counterparties(self, count: int) -> np.ndarray:
        """Numbers for ``count`` counterparties never used before."""
        out = np.arange(self.new_counterparties, self.new_counterparties + count)
        self.new_counterparties += count
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for c in COLUMNS:
            parts = self._parts[c]
            out[c] = np.concatenate(parts) if parts else np.empty(0, _DTYPE.get(c, np.int64))
        return out
