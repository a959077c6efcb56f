"""Who belongs to which household, kept in memory by each worker.

A review reads its accounts' households first (the household cap is a household total);
:func:`~clearline.store.household.households_of` does it in three queries per batch.
Membership comes from the accounts and borrowers tables, which only a load changes, and
a load adds its ``loads`` row in the same transaction: so the index is read once per
load, like the feature snapshot, and every lookup compares the newest load id with the
one it was read at (one indexed query) and reads it again when they differ, unless the
loads since wrote no borrower or account row (a day's events, say: ``load_scope``).
"""

from __future__ import annotations

import threading
from collections.abc import Collection

import sqlalchemy as sa

from clearline.services.feature_snapshot import data_version
from clearline.store.household import household_key, member_key
from clearline.store.load_scope import scope_between
from clearline.store.tables import accounts, borrowers


class HouseholdIndex:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: int | None = None
        self._key: dict[str, str] = {}  # account id -> household key
        self._members: dict[str, list[str]] = {}  # household key -> sorted account ids

    def __call__(self, conn: sa.Connection, account_ids: Collection[str]) -> dict[str, list[str]]:
        """What ``households_of(conn, account_ids)`` gives: account id -> the sorted ids
        of its household, for every id that exists."""
        version = data_version(conn)
        with self._lock:
            if version != self._version and not self._unchanged(conn, version):
                self._read(conn, version)
        return self.held(account_ids)

    def held(self, account_ids: Collection[str]) -> dict[str, list[str]]:
        """The same from the index as last read, without asking for newer loads: for
        scheduling reviews, never for deciding them."""
        with self._lock:
            key, members = self._key, self._members
        return {a: members[key[a]] for a in account_ids if a in key}

    def _unchanged(self, conn: sa.Connection, version: int) -> bool:
        """Whether the loads since the index was read left membership as it was (and
        if so, the index now stands for ``version``)."""
        if self._version is None:
            return False
        if version < self._version:
            return True  # another transaction has brought it further already
        scope = scope_between(conn, self._version, version)
        if scope is None or scope.borrowers or scope.accounts:
            return False
        self._version = version
        return True

    def _read(self, conn: sa.Connection, version: int) -> None:
        rows = conn.execute(
            sa.select(accounts.c.account_id, borrowers.c.borrower_id, household_key()).join(
                borrowers, accounts.c.borrower_id == borrowers.c.borrower_id
            )
        ).all()
        key: dict[str, str] = {}
        members: dict[str, list[str]] = {}
        for account_id, borrower_id, hh in rows:
            k = key[account_id] = member_key(hh, borrower_id)
            members.setdefault(k, []).append(account_id)
        for ids in members.values():
            ids.sort()  # in Python, as households_of: the database's collation may differ
        self._key, self._members, self._version = key, members, version
