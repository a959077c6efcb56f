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
  is handed out (from the whole database when they are many, while the other rows are
  still handed out); after a bulk load the whole snapshot is built again at once;
- the line is overlaid from the locked account rows on every review
  (:func:`~clearline.core.features.with_line_state`).

Only the service's own day is snapshotted; a review at another as-of date builds its
household's rows from events, through the same code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence, Set
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


def build_whole(url: str, as_of: date, at_least: int = 0) -> pl.DataFrame:
    """Every feature row at ``as_of``, from the whole database as it is now (so from a
    state that includes load ``at_least``), in the calling thread."""
    return build_features(load_portfolio(url), as_of)


#: How a snapshot builds whole: ``(url, as_of, at_least) -> rows`` from a state that
#: includes load ``at_least`` (a service worker passes
#: :class:`~clearline.services.whole_build.HelperBuilds`).
WholeBuild = Callable[[str, date, int], pl.DataFrame]


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
    """Safe to share between threads: a review pass and a builder of stale rows (see
    :class:`~clearline.api.batcher.ReviewBatcher`) may use one snapshot at once. A build
    of stale rows runs outside the lock that guards the rows, so lookups of other rows
    go on meanwhile."""

    def __init__(
        self,
        url: str,
        service_day: Callable[[], date],
        *,
        settle_seconds: float = 0.5,
        whole: WholeBuild | None = None,
    ) -> None:
        self._url, self._day = url, service_day
        self._whole = whole
        self._lock = threading.Lock()  # guards every field below
        self._building = threading.Lock()  # one build of stale rows at a time
        self._key: tuple[date, int] | None = None
        self._frame: pl.DataFrame | None = None
        self._index: dict[str, int] = {}
        # Rows that loads since the build may have changed, built again together: when
        # a lookup asks for one of them, or by ``warm`` once the oldest has waited
        # ``settle_seconds`` (one slice build costs about 25 ms however few rows it
        # holds, so a feed of many small loads is not paid load by load). Each maps to
        # the marking that made it stale: a build clears only the marks it has seen, so
        # a row a newer load touched while it was being built stays stale.
        self._stale: dict[str, int] = {}
        self._marks = 0
        self._stale_since = 0.0
        self._settle = settle_seconds

    def __call__(self, conn: sa.Connection, ids: Sequence[str], as_of: date) -> pl.DataFrame | None:
        """The rows of ``ids`` that exist at ``as_of`` (accounts not yet open have none),
        or None when ``as_of`` is not the service's day, or when a row asked for is
        stale and ``conn`` reads an older state than the snapshot holds: the caller
        then builds the rows from its own transaction."""
        if as_of != self._day():
            return None
        version = data_version(conn)
        with self._lock:
            self._refresh(conn, as_of, version)
            waiting = not self._stale.keys().isdisjoint(ids)
        if waiting and not self._build_stale(conn, as_of, version, ids):
            return None
        with self._lock:
            if not self._stale.keys().isdisjoint(ids):
                return None  # a newer load touched them again while they were built
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
        with self._lock:
            return frozenset(self._stale)

    def refresh(self, conn: sa.Connection) -> None:
        """Bring the service day's snapshot up to the newest load ``conn`` sees, marking
        the rows loads may have changed without building them (a whole build when
        there is no other way)."""
        with self._lock:
            self._refresh(conn, self._day(), data_version(conn))

    def warm(self, conn: sa.Connection, ids: Sequence[str] = ()) -> None:
        """Bring the service day's snapshot up to the newest load now, with the stale
        rows built again if ``ids`` has one of them or they have waited long enough."""
        day, version = self._day(), data_version(conn)
        with self._lock:
            self._refresh(conn, day, version)
            due = bool(self._stale) and (
                not self._stale.keys().isdisjoint(ids)
                or time.monotonic() - self._stale_since >= self._settle
            )
        if due:
            self._build_stale(conn, day, version)

    def _refresh(self, conn: sa.Connection, as_of: date, version: int) -> None:
        held = self._key
        if held == (as_of, version):
            return
        if held is not None and held[0] == as_of and held[1] > version:
            return  # another transaction has brought it further already
        if not self._mark_stale(conn, as_of, version):
            self._hold(self._build_whole(as_of, version))
        self._key = (as_of, version)

    def _mark_stale(self, conn: sa.Connection, as_of: date, version: int) -> bool:
        """Mark the rows the loads since may have changed; False when the snapshot must
        be built whole at once instead (none yet, another day, a bulk load). However many
        rows are marked, the other rows stay current and are handed out meanwhile."""
        held = self._key
        if held is None or self._frame is None or held[0] != as_of:
            return False
        scope = scope_between(conn, held[1], version)
        if scope is None:
            return False
        touched = _touched(conn, scope, self._owners(scope.accounts))
        if touched and not self._stale:
            self._stale_since = time.monotonic()
        self._marks += 1
        self._stale.update(dict.fromkeys(touched, self._marks))
        return True

    def _build_stale(
        self, conn: sa.Connection, as_of: date, version: int, ids: Sequence[str] | None = None
    ) -> bool:
        """Build every stale row again from ``conn``, without holding the lock, unless
        another build has meanwhile made the rows of ``ids``; False when ``conn`` reads
        another state than the snapshot's (a row built from an older one would miss a
        load). Past ``PATCH_LIMIT`` rows the whole snapshot is built instead, from the
        newest state, still outside the lock: after a long feed of small loads, lookups
        of the rows no load touched go on during those seconds."""
        with self._building:
            with self._lock:
                if ids is not None and self._stale.keys().isdisjoint(ids):
                    return True
                if self._key != (as_of, version):
                    return False
                if not self._stale:
                    return True
                redo, seen, held = sorted(self._stale), self._marks, self._frame
            whole = len(redo) > PATCH_LIMIT
            if whole:  # at least as new as ``conn``'s state: rows of later loads are marked
                built = self._build_whole(as_of, version)
            else:
                built = build_features(household_slice(conn, redo, as_of_cutoff(as_of)), as_of)
            with self._lock:
                if held is None or self._frame is not held:  # built whole meanwhile
                    return True
                done = [a for a in redo if self._stale.get(a, seen + 1) <= seen]
                if whole:
                    self._put(built)
                else:
                    kept = held.filter(~pl.col("account_id").is_in(done))
                    fresh = built.filter(pl.col("account_id").is_in(done))
                    self._put(pl.concat([kept, fresh]).sort("account_id"))
                for a in done:
                    del self._stale[a]
                self._stale_since = time.monotonic()
        return True

    def _build_whole(self, as_of: date, version: int) -> pl.DataFrame:
        return (self._whole or build_whole)(self._url, as_of, version)

    def _hold(self, frame: pl.DataFrame) -> None:
        """Keep ``frame`` as the snapshot, every row current."""
        self._put(frame)
        self._stale = {}

    def _put(self, frame: pl.DataFrame) -> None:
        self._frame = frame
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
    changed; and every account of a borrower linked to one whose accounts' arrears may
    have changed, before or after an account moved between borrowers. Arrears come
    only from events that name a loan (:func:`~clearline.core.ledger.loans`), so a
    load of purchases or transfers alone leaves the linked borrowers' rows as they were:
    it marks one account, where marking the links too made it about three."""
    on_loans = _matching(
        conn, sa.select(events.c.account_id).distinct(), events.c.loan_id, scope.loans
    )
    moved = scope.events | scope.accounts | on_loans
    late = scope.accounts | on_loans  # arrears or owner may have changed
    owners = set(owners_before)
    owners |= _matching(conn, sa.select(accounts.c.borrower_id), accounts.c.account_id, late)
    people = set(scope.borrowers | scope.links)
    for near, far in (
        (links.c.borrower_id, links.c.other_borrower_id),
        (links.c.other_borrower_id, links.c.borrower_id),
    ):
        people |= _matching(conn, sa.select(far), near, owners)
    redo = set(moved)
    redo |= _matching(conn, sa.select(accounts.c.account_id), accounts.c.borrower_id, people)
    return sorted(redo)


#: ids bound per statement: psycopg binds at most 65,535 parameters, and a load's scope
#: may name up to ``SCOPE_LIMIT`` ids, which the links can multiply.
_IDS_PER_QUERY = 10_000


def _matching(conn: sa.Connection, query: sa.Select, column: sa.Column, ids: Set[str]) -> set[str]:
    """What ``query`` gives for the rows whose ``column`` is one of ``ids``."""
    wanted, found = sorted(ids), set()
    for start in range(0, len(wanted), _IDS_PER_QUERY):
        part = wanted[start : start + _IDS_PER_QUERY]
        found |= set(conn.scalars(query.where(column.in_(part))))
    return found
