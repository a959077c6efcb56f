"""What a load touched, so that what a worker keeps in memory (the feature snapshot, the
household index) can bring just those rows up to date after a small load instead of
reading every table again.

Each ``loads`` row records its load's scope: the ids of the borrower and account rows
it wrote, the accounts its events belong to and the loans they name, and the borrowers
at either end of its links. A load naming more than :data:`SCOPE_LIMIT` ids records
none (null): a bulk load, after which readers rebuild everything, as they do for loads
written before scopes existed (migration 0005). Macro rows are not named: no feature
or household reads them.

The limit is high because a scope pays for its size: after a day's events for some
thousands of accounts, a worker still hands out every other account's rows while it
builds the touched ones again, where without a scope every review waits for that
build (seconds for 20,000 borrowers). 50,000 ids are under a megabyte of JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from clearline.core.portfolio import Portfolio
from clearline.store.tables import loads

SCOPE_LIMIT = 50_000


@dataclass(frozen=True)
class Scope:
    borrowers: frozenset[str]  # borrower rows written
    accounts: frozenset[str]  # account rows written
    events: frozenset[str]  # accounts with events in the load
    loans: frozenset[str]  # loans named by events in the load
    links: frozenset[str]  # borrowers at either end of a link in the load

    def __or__(self, other: Scope) -> Scope:
        return Scope(*(getattr(self, k) | getattr(other, k) for k in _FIELDS))


_FIELDS = ("borrowers", "accounts", "events", "loans", "links")
NOTHING = Scope(*(frozenset() for _ in _FIELDS))


def _distinct(*columns: pl.Series) -> list[str]:
    return sorted(set().union(*(c.unique().drop_nulls().to_list() for c in columns)))


def scope_of(portfolio: Portfolio) -> dict[str, list[str]] | None:
    """The scope to record for a load of ``portfolio`` (JSON), or None past the limit."""
    rows = portfolio.borrowers.height + portfolio.accounts.height + portfolio.links.height
    if rows > SCOPE_LIMIT:
        return None  # a bulk load: no need to gather its ids (null is always safe)
    scope = {
        "borrowers": _distinct(portfolio.borrowers["borrower_id"]),
        "accounts": _distinct(portfolio.accounts["account_id"]),
        "events": _distinct(portfolio.events["account_id"]),
        "loans": _distinct(portfolio.events["loan_id"]),
        "links": _distinct(portfolio.links["borrower_id"], portfolio.links["other_borrower_id"]),
    }
    return scope if sum(map(len, scope.values())) <= SCOPE_LIMIT else None


def _parsed(raw: dict[str, list[str]]) -> Scope:
    return Scope(*(frozenset(raw[k]) for k in _FIELDS))


def scope_between(conn: sa.Connection, old: int, new: int) -> Scope | None:
    """What the loads after ``old`` up to ``new`` touched together, or None when any of
    them recorded no scope (readers then rebuild everything).

    Loads commit in id order (:func:`~clearline.store.db.ingest_into` makes them take
    turns on PostgreSQL; SQLite has one writer), so once ``new`` is visible so is every
    load before it."""
    rows = conn.execute(
        sa.select(loads.c.scope).where(loads.c.id > old, loads.c.id <= new)
    ).scalars()
    together = NOTHING
    for raw in rows:
        if raw is None:
            return None
        together |= _parsed(raw)
    return together
