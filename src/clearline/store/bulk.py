"""Fast bulk paths for the two supported databases.

SQLAlchemy Core row-by-row inserts manage roughly 50k rows/s; a portfolio has millions of
events, so the hot paths talk to the DBAPI connection underneath SQLAlchemy (same
transaction): ``executemany`` with plain tuples on SQLite, ``COPY`` through a temporary
table on PostgreSQL. Both end in ``INSERT ... ON CONFLICT``, which is what gives
idempotent events and upserted snapshots.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa

from clearline.core.portfolio import UTC_TS, polars_schema

CHUNK_ROWS = 200_000
# COPY text for timestamps: explicit UTC offset, so the session time zone cannot matter.
_PG_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.6fZ"


def conflict_clauses(key: tuple[str, ...], columns: list[str], upsert: bool) -> list[str]:
    """The ``ON CONFLICT`` clauses (same syntax in SQLite and PostgreSQL) that write a
    table's rows, in order. The first skips rows whose key exists, so the rows it writes
    are the new ones; an upsert then replaces the existing rows' other columns.
    Counting the new rows this way costs what the load costs, where a ``count(*)``
    before and after costs what the table holds."""
    target = ", ".join(key)
    clauses = [f"ON CONFLICT ({target}) DO NOTHING"]
    rest = [c for c in columns if c not in key]
    if upsert and rest:
        sets = ", ".join(f"{c} = excluded.{c}" for c in rest)
        clauses.append(f"ON CONFLICT ({target}) DO UPDATE SET {sets}")
    return clauses


def _ts_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in the caller's
    transaction. On PostgreSQL by ``COPY``: SQLAlchemy's executemany sends one
    ``INSERT`` per row (pipelined), and a review pass writes dozens of decisions and
    audit entries; by ``COPY`` a pass of 32 reviews took about 7 % less CPU, the
    server's included (``benchmarks/bench_review_pass.py --db``). Values go through
    the bind processors an ``INSERT`` on this dialect would use."""
    if not rows:
        return
    names = tuple(rows[0])
    sql, procs = _insert_plan(table, names, conn.dialect)
    bound = [_bound(procs, map(row.__getitem__, names)) for row in rows]
    if conn.dialect.name != "postgresql":
        # sqlite3's executemany on tuples the bind processors made: SQLAlchemy's own
        # executemany builds and checks a parameter dict per row. For the 50 decision
        # rows of a pass of 32 reviews: 0.50 ms of CPU against 0.80 (ad hoc, in-memory).
        conn.connection.driver_connection.executemany(sql, bound)  # type: ignore[union-attr]
        return
    with conn.connection.driver_connection.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
        for values in bound:
            copy.write_row(values)


@functools.lru_cache(maxsize=64)
def _insert_plan(
    table: sa.Table, names: tuple[str, ...], dialect: sa.Dialect
) -> tuple[str, list[Any]]:
    """The statement that inserts ``names`` into ``table`` (``COPY`` on PostgreSQL, a
    ``?`` insert elsewhere) and each column's bind processor: made once, not per pass."""
    quoting = dialect.identifier_preparer
    procs = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
    target = f"{quoting.format_table(table)} ({', '.join(quoting.quote(n) for n in names)})"
    if dialect.name == "postgresql":
        return f"COPY {target} FROM STDIN", procs
    return f"INSERT INTO {target} VALUES ({', '.join('?' * len(names))})", procs


def _bound(procs: Sequence[Any], values: Iterable[Any]) -> tuple[Any, ...]:
    """One row's values as the dialect's bind processors would send them."""
    return tuple(v if p is None else p(v) for p, v in zip(procs, values, strict=True))


# --- SQLite -------------------------------------------------------------------------


def sqlite_write(dbapi: Any, name: str, frame: pl.DataFrame, conflicts: Sequence[str]) -> int:
    """Insert ``frame`` into table ``name`` on a sqlite3 connection, in chunks, once per
    ``ON CONFLICT`` clause in ``conflicts``; returns the rows the first statement wrote."""
    if frame.height == 0:
        return 0
    cols = frame.columns
    # Timestamps as integer microseconds since the epoch (UTC): exact and compact.
    frame = frame.with_columns(pl.col(c).dt.epoch("us") for c in _ts_columns(frame))
    head = f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    written = 0
    cur = dbapi.cursor()
    try:
        for chunk in frame.iter_slices(CHUNK_ROWS):
            # Column lists zipped into tuples: much faster than DataFrame.rows(). Kept as
            # a list only when a second statement reads them again.
            tuples = zip(*(chunk.get_column(c).to_list() for c in cols), strict=True)
            rows: Iterable[tuple[Any, ...]] = list(tuples) if len(conflicts) > 1 else tuples
            for k, conflict in enumerate(conflicts):
                cur.executemany(f"{head} {conflict}", rows)
                # executemany sums the rows each statement changed; a skipped one is 0
                written += cur.rowcount if k == 0 else 0
    finally:
        cur.close()
    return written


def sqlite_read(dbapi: Any, name: str) -> pl.DataFrame:
    """All rows of table ``name`` with the portfolio dtypes."""
    schema = polars_schema(name)
    stored = as_stored(schema)
    cur = dbapi.cursor()
    try:
        cur.execute(f"SELECT {', '.join(schema)} FROM {name}")
        rows = cur.fetchall()
    finally:
        cur.close()
    return restore(pl.DataFrame(rows, schema=stored, orient="row"), schema)


def as_stored(schema: dict[str, pl.DataType]) -> dict[str, pl.DataType]:
    """The dtypes a table's columns are read back as: timestamps as integer
    microseconds and booleans as 0/1, until :func:`restore`."""
    return {c: (pl.Int64 if t == UTC_TS or t == pl.Boolean else t) for c, t in schema.items()}


def restore(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Integer microseconds -> UTC timestamps and 0/1 -> booleans."""
    utc = [c for c, t in schema.items() if t == UTC_TS]
    flags = [c for c, t in schema.items() if t == pl.Boolean]
    return frame.with_columns(
        [pl.from_epoch(c, "us").dt.replace_time_zone("UTC") for c in utc]
        + [pl.col(c).cast(pl.Boolean) for c in flags]
    )


# --- PostgreSQL -----------------------------------------------------------------------


#: Up to this many rows PostgreSQL gets plain ``INSERT``s (pipelined by executemany):
#: a temporary table costs catalog writes that a day's few events should not pay.
PG_SMALL_ROWS = 1_000


def pg_write(dbapi: Any, name: str, frame: pl.DataFrame, conflicts: Sequence[str]) -> int:
    """Insert ``frame`` into ``name`` once per ``ON CONFLICT`` clause in ``conflicts``;
    returns the rows the first statement wrote. Above ``PG_SMALL_ROWS`` the rows go by
    COPY into a temporary table first (which disappears at commit or rollback)."""
    if frame.height == 0:
        return 0
    cols = ", ".join(frame.columns)
    written = 0
    with dbapi.cursor() as cur:
        if frame.height <= PG_SMALL_ROWS:
            marks = ", ".join(["%s"] * frame.width)
            rows = frame.rows()
            for k, conflict in enumerate(conflicts):
                cur.executemany(f"INSERT INTO {name} ({cols}) VALUES ({marks}) {conflict}", rows)
                written += cur.rowcount if k == 0 else 0
            return written
        tmp = f"clearline_in_{name}"
        cur.execute(f"CREATE TEMPORARY TABLE {tmp} (LIKE {name}) ON COMMIT DROP")
        with cur.copy(f"COPY {tmp} ({cols}) FROM STDIN (FORMAT csv)") as copy:
            for chunk in frame.iter_slices(CHUNK_ROWS):
                # Strings are quoted and nulls left bare, so "" and NULL stay distinct.
                text = chunk.write_csv(
                    include_header=False, quote_style="non_numeric", datetime_format=_PG_TS_FORMAT
                )
                copy.write(text.encode("utf-8"))
        for k, conflict in enumerate(conflicts):
            cur.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {tmp} {conflict}")
            written += cur.rowcount if k == 0 else 0
        return written


def pg_read(dbapi: Any, name: str) -> pl.DataFrame:
    """All rows of table ``name`` via ``COPY ... TO STDOUT``, with the portfolio dtypes."""
    schema = polars_schema(name)

    # Timestamps leave as exact integer microseconds (extract(epoch) is numeric in PG 14+);
    # booleans as 0/1 (COPY would write t/f).
    def out(c: str, t: pl.DataType) -> str:
        if t == UTC_TS:
            return f"(extract(epoch from {c}) * 1000000)::bigint AS {c}"
        return f"{c}::int AS {c}" if t == pl.Boolean else c

    select = ", ".join(out(c, t) for c, t in schema.items())
    buf = io.BytesIO()
    with dbapi.cursor() as cur:
        with cur.copy(f"COPY (SELECT {select} FROM {name}) TO STDOUT (FORMAT csv)") as copy:
            for block in copy:
                buf.write(block)
    stored = as_stored(schema)
    if buf.tell() == 0:
        return pl.DataFrame(schema=schema)
    buf.seek(0)
    frame = pl.read_csv(buf, has_header=False, new_columns=list(schema), schema=stored)
    return restore(frame, schema)
