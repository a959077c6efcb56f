"""The portfolio database: migrate, ingest, load (SQLite or PostgreSQL).

Semantics of :func:`ingest`:

- all-or-nothing: every table is written in ONE transaction; any failure rolls back and
  leaves the database exactly as it was;
- ``events`` and ``links`` are append-only: a row whose key already exists is skipped
  (``event_id`` is the idempotency key; the first version of an event wins), so loading
  the same portfolio twice adds no events;
- ``borrowers``, ``accounts`` and ``macro`` are snapshots: a row whose key already exists
  is replaced by the newly loaded values (upsert); rows absent from the new load stay;
- every successful ingest appends a row to ``loads`` (time, source, counts, the ids it
  touched), and loads commit in the order of those rows' ids.

SQLite connections run with WAL journaling and foreign keys on. Timestamps are UTC:
``timestamptz`` in PostgreSQL, integer microseconds since the epoch in SQLite.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from clearline.core.portfolio import Portfolio, polars_schema
from clearline.core.validate import Known
from clearline.store import bulk
from clearline.store.id_lists import ByDialect
from clearline.store.load_scope import scope_of
from clearline.store.tables import LINK_KEY, PORTFOLIO_TABLES, loads

DEFAULT_URL = "sqlite:///clearline.db"
MIGRATIONS = Path(__file__).with_name("migrations")

# Write order follows the foreign keys; the flag says "upsert" (snapshot) or "skip".
_PLAN: tuple[tuple[str, bool], ...] = (
    ("borrowers", True),
    ("accounts", True),
    ("events", False),
    ("links", False),
    ("macro", True),
)
# Rows come back sorted, so the same database gives the same frames on every engine.
ORDER = {
    "borrowers": ["borrower_id"],
    "accounts": ["account_id"],
    "events": ["ts", "event_id"],
    "links": list(LINK_KEY),
    "macro": ["month"],
}


class DatabaseNotReady(ValueError):
    """The database has no clearline tables yet (run ``upgrade`` or ``ingest`` first)."""


def make_engine(url: str = DEFAULT_URL) -> sa.Engine:
    """An engine for ``url``; for SQLite with WAL, foreign keys and explicit BEGIN."""
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi: Any, _record: Any) -> None:
    # Let SQLAlchemy (not the sqlite3 module) decide where transactions begin, so what a
    # writer reads before it writes is in the same transaction as the writes.
    dbapi.isolation_level = None
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA synchronous=NORMAL",  # safe with WAL: a crash loses at most the last commit
        "PRAGMA busy_timeout=30000",
    ):
        dbapi.execute(pragma)


def _sqlite_begin(conn: sa.Connection) -> None:
    # Writers take the write lock up front instead of failing half-way with SQLITE_BUSY.
    write = conn.get_execution_options().get("clearline_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def upgrade(url: str = DEFAULT_URL) -> None:
    """Run the Alembic migrations in the package up to head (a no-op when at head)."""
    engine = make_engine(url)
    try:
        with engine.connect().execution_options(clearline_write=True) as conn:
            with conn.begin():
                cfg = Config()
                cfg.set_main_option("script_location", str(MIGRATIONS))
                # Passing the connection avoids configparser's "%" handling of URLs.
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
    finally:
        engine.dispose()


def current_revision(url: str = DEFAULT_URL) -> str | None:
    """The Alembic revision the database is at (None when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


_KEYED = {
    name: ByDialect(
        lambda match, key=key, t=PORTFOLIO_TABLES[name]: sa.select(t.c[key]).where(match(t.c[key]))
    )
    for name, key in (("borrowers", "borrower_id"), ("accounts", "account_id"))
}
_IDS_PER_READ = 10_000  # under SQLite's limit on bound values


def stored_ids(conn: sa.Connection, table: str, ids: list[str]) -> set[str]:
    """Which of ``ids`` (keys of ``borrowers`` or ``accounts``) are stored. The
    database's half of ``validate.Known``."""
    statement = _KEYED[table](conn)
    found: set[str] = set()
    for start in range(0, len(ids), _IDS_PER_READ):
        found.update(conn.scalars(statement, {"ids": ids[start : start + _IDS_PER_READ]}))
    return found


def known_in(url: str) -> Known:
    """``validate.Known`` for the database at ``url``, for a load to be validated before
    it is written there: each call reads on a short connection of its own. A database
    without tables yet holds nothing, and a SQLite file that does not exist is not created."""

    def known(table: str, ids: list[str]) -> set[str]:
        parsed = sa.make_url(url)
        if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
            return set()
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                if not sa.inspect(conn).has_table(table):
                    return set()
                return stored_ids(conn, table, ids)
        finally:
            engine.dispose()

    return known


def _is_empty(conn: sa.Connection, name: str) -> bool:
    return conn.exec_driver_sql(f"SELECT 1 FROM {name} LIMIT 1").first() is None


def _key(name: str) -> tuple[str, ...]:
    pk = PORTFOLIO_TABLES[name].primary_key.columns
    return tuple(c.name for c in pk)


def write_table(conn: sa.Connection, name: str, frame: pl.DataFrame, upsert: bool) -> int:
    """Write one table inside the caller's transaction; returns the rows it added (not
    those it replaced or skipped). Module-level so tests can inject a failure between
    tables."""
    frame = frame.select(list(polars_schema(name)))
    conflicts = bulk.conflict_clauses(_key(name), frame.columns, upsert)
    dbapi = conn.connection.driver_connection
    if conn.dialect.name not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"unsupported database {conn.dialect.name!r}")
    write = bulk.sqlite_write if conn.dialect.name == "sqlite" else bulk.pg_write
    base = conn.dialect.loaded_dbapi.Error
    try:
        return write(dbapi, name, frame, conflicts)
    except base as exc:
        # Raised under SQLAlchemy's exception types (IntegrityError, ...) as if the
        # statement had gone through SQLAlchemy.
        raise sa.exc.DBAPIError.instance(f"bulk insert into {name}", None, exc, base) from exc


def ingest(
    portfolio: Portfolio, url: str = DEFAULT_URL, *, source: str = "", migrate: bool = True
) -> dict[str, int]:
    """Load a validated portfolio into the database, all or nothing.

    Parameters
    ----------
    portfolio
        Typed tables (from ``files.read_portfolio`` or the simulator).
    url
        SQLAlchemy URL; SQLite and PostgreSQL (psycopg 3) are supported.
    source
        Recorded in ``loads``; defaults to ``portfolio.source``.
    migrate
        Run :func:`upgrade` first (cheap when the schema is at head).

    Returns
    -------
    dict
        Rows newly added per table (``borrowers``, ``accounts``, ``events``, ``links``,
        ``macro``); updated snapshot rows and skipped duplicate events are not counted.
    """
    if migrate:
        upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect().execution_options(clearline_write=True) as conn:
            with conn.begin():
                loaded = ingest_into(conn, portfolio, source=source or portfolio.source)
    finally:
        engine.dispose()
    return loaded.added


class Loaded(NamedTuple):
    load_id: int  # the ``loads`` row this load wrote
    added: dict[str, int]  # rows newly added per table


def ingest_into(
    conn: sa.Connection, portfolio: Portfolio, *, source: str, now: datetime | None = None
) -> Loaded:
    """:func:`ingest` inside the caller's write transaction (the API adds its audit entry
    and idempotency record to the same transaction). Returns the id of the load's own
    ``loads`` row: on PostgreSQL another load may commit a newer one meanwhile."""
    added = {}
    for name, upsert in _PLAN:
        frame = getattr(portfolio, name)
        # Into an empty table, build secondary indexes once after the rows are in: kept
        # up row by row they make loading millions of events several times slower.
        big = frame.height > 0 and _is_empty(conn, name)
        deferred = list(PORTFOLIO_TABLES[name].indexes) if big else []
        for index in deferred:
            index.drop(conn, checkfirst=True)
        added[name] = write_table(conn, name, frame, upsert)
        for index in deferred:
            index.create(conn)
    now, scope = now or datetime.now(UTC), scope_of(portfolio)
    if conn.dialect.name == "postgresql":
        # Loads take turns from here to their commit, so they commit in id order: a
        # reader that sees load N sees every load before it (``load_scope``). The lock
        # conflicts only with itself and writes to ``loads``, never with reads.
        conn.exec_driver_sql("LOCK TABLE loads IN SHARE ROW EXCLUSIVE MODE")
    row = conn.execute(
        loads.insert().values(
            loaded_at=_epoch_us(now) if conn.dialect.name == "sqlite" else now,
            source=source,
            counts=added,
            scope=scope,
        )
    )
    return Loaded(int(row.inserted_primary_key[0]), added)


def _epoch_us(ts: datetime) -> int:
    delta = ts - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def load_portfolio(url: str = DEFAULT_URL) -> Portfolio:
    """Read every table back as a typed :class:`Portfolio` (same dtypes as from files,
    timestamps UTC-aware), rows sorted by key (events by ``ts``, then ``event_id``).

    Raises
    ------
    DatabaseNotReady
        When the database has no clearline tables.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            if not sa.inspect(conn).has_table("events"):
                shown = engine.url.render_as_string(hide_password=True)
                raise DatabaseNotReady(f"no clearline tables in {shown}; run ingest first")
            dbapi = conn.connection.driver_connection
            read = bulk.sqlite_read if conn.dialect.name == "sqlite" else bulk.pg_read
            frames = {name: read(dbapi, name).sort(ORDER[name]) for name, _ in _PLAN}
        source = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    return Portfolio(**frames, source=source)
