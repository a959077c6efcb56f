"""Feature rows of the whole portfolio at one as-of day, kept in memory by each worker.

Building one household's features from its events costs tens of milliseconds; looking
its rows up in a snapshot built once costs microseconds. The snapshot holds the rows a
build from events would give (up to the last bit of float sums, whose order differs
between a household and the whole portfolio): a row depends on events, borrower records
and the line, and

- events and borrower records only change through a load, which adds a row to
  ``loads``: every lookup compares the newest load id with the snapshot's. When they
  differ, the rows the new loads may have changed are marked stale (:func:`_touched`)
  and built again from their slice of the database, all together, before any of them
  is handed out; after a bulk load, or when that would be a large part of the
  portfolio, the whole snapshot is built again;
- the line is overlaid from the locked account rows on every review
  (:func:`~clearline.core.features.with_line_state`).

Only the service's own day is snapshotted; a review at another as-of date builds its
household's rows from events, through the same code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import date

import polars as pl
import sqlalchemy as sa

from clearline.core.features import as_of_cutoff, build_features
from clearline.store.db import load_portfolio
from clearline.store.household import household_slice
from clearline.store.load_scope import Scope, scope_between
from clearline.store.tables import accounts, events, links, loads

_NEWEST_LOAD = sa.select(sa.func.coalesce(sa.func.max(loads.c.id), 0))
# Past this many rows to redo, a whole build is about as fast: a slice costs a few ms per
# account, a whole build of 20,000 borrowers about 5 s (benchmarks/bench_snapshot.py).
PATCH_LIMIT = 500


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
    def __init__(
        self, url: str, service_day: Callable[[], date], *, settle_seconds: float = 0.5
    ) -> None:
        self._url, self._day = url, service_day
        self._lock = threading.Lock()
        self._key: tuple[date, int] | None = None
        self._frame: pl.DataFrame | None = None
        self._index: dict[str, int] = {}
        # Rows that loads since the build may have changed, built again together: when
        # a lookup asks for one of them, or by ``warm`` once the oldest has waited
        # ``settle_seconds`` (one slice build costs about 25 ms however few rows it
        # holds, so a feed of many small loads is not paid load by load).
        self._stale: set[str] = set()
        self._stale_since = 0.0
        self._settle = settle_seconds

    def __call__(self, conn: sa.Connection, ids: Sequence[str], as_of: date) -> pl.DataFrame | None:
        """The rows of ``ids`` that exist at ``as_of`` (accounts not yet open have none),
        or None when ``as_of`` is not the service's day."""
        if as_of != self._day():
            return None
        version = data_version(conn)
        with self._lock:
            if self._key != (as_of, version):
                self._refresh(conn, as_of, version)
            if self._stale and not self._stale.isdisjoint(ids):
                self._rebuild_stale(conn, as_of)
            frame, index = self._frame, self._index
        assert frame is not None
        rows = [index[a] for a in ids if a in index]
        return frame.gather(rows) if rows else frame.clear()

    @property
    def built_for(self) -> tuple[date, int] | None:
        """(day, load id) of the snapshot held, None before the first build."""
        return self._key

    @property
    def stale(self) -> frozenset[str]:
        """The accounts whose rows wait to be built again."""
        return frozenset(self._stale)

    def warm(self, conn: sa.Connection, ids: Sequence[str] = ()) -> None:
        """Bring the service day's snapshot up to the newest load now, with the rows of
        ``ids`` built again if stale, and every stale row once they have waited long
        enough."""
        day = self._day()
        self(conn, ids, day)
        with self._lock:
            if self._stale and time.monotonic() - self._stale_since >= self._settle:
                self._rebuild_stale(conn, day)

    def _refresh(self, conn: sa.Connection, as_of: date, version: int) -> None:
        held = self._key
        if held is not None and held[0] == as_of and held[1] > version:
            return  # another transaction has brought it further already
        if not self._mark_stale(conn, as_of, version):
            self._hold(build_features(load_portfolio(self._url), as_of))
        self._key = (as_of, version)

    def _mark_stale(self, conn: sa.Connection, as_of: date, version: int) -> bool:
        """Mark the rows the loads since may have changed; False when the snapshot must
        be built whole instead (none yet, another day, a bulk load, too many rows)."""
        held = self._key
        if held is None or self._frame is None or held[0] != as_of:
            return False
        scope = scope_between(conn, held[1], version)
        if scope is None:
            return False
        stale = self._stale.union(_touched(conn, scope, self._owners(scope.accounts)))
        if len(stale) > PATCH_LIMIT:
            return False
        if stale and not self._stale:
            self._stale_since = time.monotonic()
        self._stale = stale
        return True

    def _rebuild_stale(self, conn: sa.Connection, as_of: date) -> None:
        assert self._frame is not None
        redo = sorted(self._stale)
        fresh = build_features(household_slice(conn, redo, as_of_cutoff(as_of)), as_of)
        fresh = fresh.filter(pl.col("account_id").is_in(redo))
        kept = self._frame.filter(~pl.col("account_id").is_in(redo))
        self._hold(pl.concat([kept, fresh]).sort("account_id"))

    def _hold(self, frame: pl.DataFrame) -> None:
        """Keep ``frame`` as the snapshot, every row current."""
        self._frame, self._stale = frame, set()
        self._index = {a: i for i, a in enumerate(frame["account_id"].to_list())}

    def _owners(self, account_ids: frozenset[str]) -> set[str]:
        """The borrowers the snapshot has these accounts under (a load may move one)."""
        assert self._frame is not None
        at = [self._index[a] for a in account_ids if a in self._index]
        return set(self._frame["borrower_id"].gather(at).to_list()) if at else set()


def _touched(conn: sa.Connection, scope: Scope, owners_before: set[str]) -> list[str]:
    """The accounts whose feature rows loads of ``scope`` may have changed, sorted.

    A row reads its account's events and record, the events of its loans wherever they
    are booked, its borrower's record and links, and whether each linked borrower has an
    account in arrears. So: the accounts with new events or records, or with events of
    a loan the new events name; every account of a borrower whose record or links
    changed; and every account of a borrower linked to one whose accounts changed (it
    may now be in arrears or out of it), before or after an account moved between
    borrowers."""
    moved = sorted(scope.events | scope.accounts | _on_loans(conn, scope.loans))
    owners = set(owners_before)
    if moved:
        owners |= set(
            conn.scalars(sa.select(accounts.c.borrower_id).where(accounts.c.account_id.in_(moved)))
        )
    people = set(scope.borrowers | scope.links)
    if owners:
        ids = sorted(owners)
        for near, far in (
            (links.c.borrower_id, links.c.other_borrower_id),
            (links.c.other_borrower_id, links.c.borrower_id),
        ):
            people |= set(conn.scalars(sa.select(far).where(near.in_(ids))))
    redo = set(moved)
    if people:
        redo |= set(
            conn.scalars(
                sa.select(accounts.c.account_id).where(accounts.c.borrower_id.in_(sorted(people)))
            )
        )
    return sorted(redo)


def _on_loans(conn: sa.Connection, loan_ids: frozenset[str]) -> set[str]:
    if not loan_ids:
        return set()
    named = events.c.loan_id.in_(sorted(loan_ids))
    return set(conn.scalars(sa.select(events.c.account_id).where(named).distinct()))
