"""SQLAlchemy Core tables of the portfolio database (the shape Alembic migrates to).

Columns follow ``core/schema.py``. Types are chosen so a round trip is exact:

- money and rates are double precision (the contract allows more than two decimals and
  the engine works in ``Float64``), ints are 64-bit;
- timestamps are ``timestamp with time zone`` in PostgreSQL and integer microseconds
  since the Unix epoch (UTC) in SQLite, which has no timestamp type; both give back the
  exact ``Datetime("us", "UTC")`` values.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from clearline.core.schema import TABLES, Column, Kind

# Bumped with every migration that changes these tables; checked by the tests.
SCHEMA_REVISION = "0005"


def id_type() -> sa.types.TypeEngine:
    """Identifiers: bytewise collation in PostgreSQL (as SQLite's BINARY), which halves
    the cost of key and foreign-key checks on millions of events."""
    return sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def timestamp_type() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


_SQL_TYPES: dict[Kind, Callable[[], sa.types.TypeEngine]] = {
    Kind.STRING: sa.Text,
    Kind.ENUM: sa.Text,
    Kind.MONTH: sa.Text,
    Kind.INT: sa.BigInteger,
    Kind.DECIMAL: lambda: sa.Double(),
    Kind.BOOL: sa.Boolean,
    Kind.TIMESTAMP: timestamp_type,
}

# (table, column) -> referenced "table.column"
FOREIGN_KEYS = {
    ("accounts", "borrower_id"): "borrowers.borrower_id",
    ("events", "account_id"): "accounts.account_id",
    ("links", "borrower_id"): "borrowers.borrower_id",
    ("links", "other_borrower_id"): "borrowers.borrower_id",
}
LINK_KEY = ("borrower_id", "other_borrower_id", "kind")
ID_COLUMNS = {"borrower_id", "account_id", "event_id", "other_borrower_id", "month"}

metadata = sa.MetaData()


def _column(table: str, col: Column, key: tuple[str, ...]) -> sa.Column:
    kind = id_type() if col.name in ID_COLUMNS else _SQL_TYPES[col.kind]()
    fk = FOREIGN_KEYS.get((table, col.name))
    return sa.Column(
        col.name,
        kind,
        *([sa.ForeignKey(fk)] if fk else []),
        primary_key=col.name in key,
        nullable=col.nullable,
    )


def _table(name: str) -> sa.Table:
    spec = next(t for t in TABLES if t.name == name)
    key = LINK_KEY if name == "links" else (spec.key,) if spec.key else ()
    return sa.Table(name, metadata, *[_column(name, c, key) for c in spec.columns])


borrowers = _table("borrowers")
accounts = _table("accounts")
events = _table("events")
links = _table("links")
macro = _table("macro")

# The service reads one account's events and one household's accounts per request.
sa.Index("ix_events_account_ts", events.c.account_id, events.c.ts)
# A repayment counts for its loan whatever account it is booked on (contract section 1),
# so a slice of accounts also reads the other events of their loans.
sa.Index(
    "ix_events_loan",
    events.c.loan_id,
    sqlite_where=events.c.loan_id.isnot(None),
    postgresql_where=events.c.loan_id.isnot(None),
)
sa.Index("ix_accounts_borrower", accounts.c.borrower_id)
sa.Index("ix_borrowers_household", borrowers.c.household_id)
sa.Index("ix_links_other", links.c.other_borrower_id)

# One row per successful ingest: what was loaded, from where, how many rows were new,
# and which ids it touched (``store/load_scope.py``; null for a bulk load).
loads = sa.Table(
    "loads",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("loaded_at", timestamp_type(), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("scope", sa.JSON, nullable=True),
)

PORTFOLIO_TABLES: dict[str, sa.Table] = {
    t.name: t for t in (borrowers, accounts, events, links, macro)
}
