"""Time ``db.ingest`` and ``db.load_portfolio`` on a synthetic portfolio.

Usage::

    python benchmarks/bench_ingest.py [N_EVENTS]  # default 2,000,000

SQLite goes to a temporary file; PostgreSQL to a throw-away schema at
``CLEARLINE_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``),
skipped when unreachable. One borrower and one account per 100 events.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import sqlalchemy as sa

from clearline.core.portfolio import Portfolio, empty_table, polars_schema
from clearline.core.schema import EVENT_TYPES
from clearline.store import db

PG_URL = os.environ.get(
    "CLEARLINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def synthetic(n_events: int, seed: int = 7) -> Portfolio:
    """A valid portfolio with ``n_events`` events spread over ``n_events // 100`` lines."""
    rng = np.random.default_rng(seed)
    n_acc = max(1, n_events // 100)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    ids = pl.Series(np.arange(n_acc)).cast(pl.String)
    borrowers = pl.DataFrame(
        {
            "borrower_id": "b" + ids,
            "household_id": None,
            "birth_year": rng.integers(1950, 2004, n_acc),
            "city": "Chengdu",
            "declared_monthly_income": rng.integers(3_000, 30_000, n_acc) / 1.0,
            "income_verified": rng.random(n_acc) < 0.5,
            "employment": "salaried",
            "registered_at": start,
        }
    ).cast(polars_schema("borrowers"))
    accounts = pl.DataFrame(
        {
            "account_id": "a" + ids,
            "borrower_id": "b" + ids,
            "product": "cash_line",
            "opened_at": start,
            "credit_limit": 10_000.0,
            "status": "active",
        }
    ).cast(polars_schema("accounts"))
    kinds = np.array(EVENT_TYPES)[rng.integers(0, len(EVENT_TYPES), n_events)]
    micros = rng.integers(0, 365 * 86_400 * 1_000_000, n_events)
    loan = pl.col("type").is_in(["drawdown", "repayment"])
    draw = pl.col("type") == "drawdown"
    events = pl.DataFrame(
        {
            "event_id": "e" + pl.Series(np.arange(n_events)).cast(pl.String),
            "account_id": "a" + pl.Series(rng.integers(0, n_acc, n_events)).cast(pl.String),
            "micros": micros,
            "type": kinds,
            "amount": np.round(rng.random(n_events) * 5_000, 2),
        }
    ).select(
        "event_id",
        "account_id",
        ts=pl.lit(start) + pl.duration(microseconds=pl.col("micros")),
        type="type",
        amount="amount",
        loan_id=pl.when(loan).then("l" + pl.col("event_id")),
        term_months=pl.when(draw).then(pl.lit(12)),
        apr=pl.when(draw).then(pl.lit(0.18)),
        counterparty=pl.lit(None, pl.String),
        city=pl.lit("Chengdu"),
    )
    return Portfolio(
        borrowers=borrowers,
        accounts=accounts,
        events=events.cast(polars_schema("events")),
        links=empty_table("links"),
        macro=empty_table("macro"),
        source="bench",
    )


def run(name: str, url: str, portfolio: Portfolio) -> None:
    db.upgrade(url)
    t0 = time.perf_counter()
    added = db.ingest(portfolio, url, migrate=False)
    t1 = time.perf_counter()
    back = db.load_portfolio(url)
    t2 = time.perf_counter()
    again = db.ingest(portfolio, url, migrate=False)
    t3 = time.perf_counter()
    assert added["events"] == portfolio.events.height and again["events"] == 0
    assert back.events.height == portfolio.events.height
    print(
        f"{name:10s} ingest {t1 - t0:6.1f} s   load {t2 - t1:6.1f} s   "
        f"re-ingest (adds 0) {t3 - t2:6.1f} s"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    t0 = time.perf_counter()
    portfolio = synthetic(n)
    print(
        f"{n:,} events, {portfolio.accounts.height:,} accounts "
        f"(built in {time.perf_counter() - t0:.1f} s)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", portfolio)
    try:
        admin = sa.create_engine(PG_URL)
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "skip"
        print(f"postgresql skipped: {exc.__class__.__name__}")
        return
    schema = "bench_" + uuid.uuid4().hex[:8]
    with admin.begin() as conn:
        conn.execute(sa.text(f'create schema "{schema}"'))
    try:
        sep = "&" if "?" in PG_URL else "?"
        run("postgresql", f"{PG_URL}{sep}options=-csearch_path%3D{schema}", portfolio)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'drop schema "{schema}" cascade'))
        admin.dispose()


if __name__ == "__main__":
    main()
