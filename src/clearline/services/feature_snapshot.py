"""Feature rows of the whole portfolio at one as-of day, kept in memory by each worker.

Building one household's features from its events costs tens of milliseconds; looking
its rows up in a snapshot built once costs microseconds. The snapshot holds the rows a
build from events would give (up to the last bit of float sums, whose order differs
between a household and the whole portfolio): a row depends on events, borrower records
and the line, and

- events and borrower records only change through a load, which adds a row to
  ``loads``: every lookup compares the newest load id with the snapshot's and rebuilds
  when they differ;
- the line is overlaid from the locked account rows on every review
  (:func:`~clearline.core.features.with_line_state`).

Only the service's own day is snapshotted; a review at another as-of date builds its
household's rows from events, through the same code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import date

import polars as pl
import sqlalchemy as sa

from clearline.core.features import build_features
from clearline.store.db import load_portfolio
from clearline.store.tables import loads

_NEWEST_LOAD = sa.select(sa.func.coalesce(sa.func.max(loads.c.id), 0))


def data_version(conn: sa.Connection) -> int:
    """The newest load's id: changes whenever events or borrower records may have.

    Read once per transaction: a review pass asks for it for its households and its
    feature rows, and one reading keeps the two consistent (on PostgreSQL a load may
    commit between two statements of the same transaction)."""
    txn = conn.get_transaction()
    memo = conn.info.get("data_version")
    if txn is not None and memo is not None and memo[0] is txn:
        return int(memo[1])
    version = int(conn.execute(_NEWEST_LOAD).scalar_one())
    if txn is not None:
        conn.info["data_version"] = (txn, version)
    return version


class FeatureSnapshot:
    def __init__(self, url: str, service_day: Callable[[], date]) -> None:
        self._url, self._day = url, service_day
        self._lock = threading.Lock()
        self._key: tuple[date, int] | None = None
        self._frame: pl.DataFrame | None = None
        self._index: dict[str, int] = {}

    def __call__(self, conn: sa.Connection, ids: Sequence[str], as_of: date) -> pl.DataFrame | None:
        """The rows of ``ids`` that exist at ``as_of`` (accounts not yet open have none),
        or None when ``as_of`` is not the service's day."""
        if as_of != self._day():
            return None
        version = data_version(conn)
        with self._lock:
            if self._key != (as_of, version):
                self._build(as_of, version)
            frame, index = self._frame, self._index
        assert frame is not None
        rows = [index[a] for a in ids if a in index]
        return frame.gather(rows) if rows else frame.clear()

    @property
    def built_for(self) -> tuple[date, int] | None:
        """(day, load id) of the snapshot held, None before the first build."""
        return self._key

    def warm(self, conn: sa.Connection) -> None:
        """Build the service day's snapshot now, if it is not built for the newest load."""
        self(conn, [], self._day())

    def _build(self, as_of: date, version: int) -> None:
        frame = build_features(load_portfolio(self._url), as_of)
        self._frame, self._key = frame, (as_of, version)
        self._index = {a: i for i, a in enumerate(frame["account_id"].to_list())}
