"""Time ``db.ingest`` and ``db.load_portfolio`` on a synthetic portfolio, then a day's
events loaded onto it in small loads.

Usage::

    python benchmarks/bench_ingest.py [N_EVENTS] [--small-loads K] [--against SRC]

``N_EVENTS`` defaults to 2,000,000. SQLite goes to a temporary file; PostgreSQL to a
throw-away schema at ``CLEARLINE_TEST_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), skipped when unreachable. One
borrower and one account per 100 events.

After the bulk load, ``K`` small loads (default 200) each bring 5 new events for one
stored account and nothing else, as an event feed does: ``db.ingest_into`` in a
transaction of its own on one connection; the median milliseconds per load. Then the
validation of such a load (``validate_portfolio`` on 1 borrower, 1 account and 5 events
as text), ``K`` times; the median milliseconds. With
``--against SRC`` (another commit's ``src`` folder) the same loads go through that
code too, in a process of its own on the same database, in rounds of
this/that/that/this, and the ratio of the medians is printed; so is the read-back
(``db.load_portfolio`` of the whole database), each in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import sqlalchemy as sa

from clearline.core.portfolio import Portfolio, empty_table, polars_schema, portfolio_of
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


def days_events(n_accounts: int, loads: int, tag: str, seed: int) -> list[Portfolio]:
    """``loads`` portfolios of 5 new purchases for one random stored account each, with
    no borrower, account, link or macro rows."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(loads):
        account = f"a{rng.integers(0, n_accounts)}"
        events = pl.DataFrame(
            {
                "event_id": [f"{tag}-{k}-{j}" for j in range(5)],
                "account_id": [account] * 5,
                "ts": [datetime(2025, 1, 2, 10, j, tzinfo=UTC) for j in range(5)],
                "type": ["purchase"] * 5,
                "amount": [12.5] * 5,
                "counterparty": ["shop"] * 5,
                "city": ["Chengdu"] * 5,
            }
        )
        out.append(portfolio_of("bench", events=events))
    return out


def small_loads(url: str, n_accounts: int, loads: int, tag: str, seed: int) -> list[float]:
    """Milliseconds of each small load (``db.ingest_into`` and its commit)."""
    engine = db.make_engine(url)
    times = []
    try:
        with engine.connect().execution_options(clearline_write=True) as conn:
            for p in days_events(n_accounts, loads, tag, seed):
                t = time.perf_counter()
                with conn.begin():
                    loaded = db.ingest_into(conn, p, source="bench")
                times.append(1e3 * (time.perf_counter() - t))
                # Older commits return the counts alone (a run with --against).
                added = loaded[1] if isinstance(loaded, tuple) else loaded
                assert added["events"] == 5, added
    finally:
        engine.dispose()
    return times


def small_validations(loads: int) -> list[float]:
    """Milliseconds of ``validate_portfolio`` on a load as text (CSV-like): one borrower,
    one account and 5 events, so that it resolves its references itself, as every
    version of the code requires."""
    from clearline.core.validate import validate_portfolio

    def text(rows: dict[str, list[str]]) -> pl.DataFrame:
        return pl.DataFrame(rows, schema=dict.fromkeys(rows, pl.String))

    raw = {
        "borrowers": text(
            {
                "borrower_id": ["b1"],
                "birth_year": ["1990"],
                "declared_monthly_income": ["9000"],
                "income_verified": ["true"],
                "employment": ["salaried"],
                "registered_at": ["2024-01-01T00:00:00Z"],
            }
        ),
        "accounts": text(
            {
                "account_id": ["a1"],
                "borrower_id": ["b1"],
                "product": ["cash_line"],
                "opened_at": ["2024-01-02"],
                "credit_limit": ["10000"],
                "status": ["active"],
            }
        ),
        "events": text(
            {
                "event_id": [f"e{j}" for j in range(5)],
                "account_id": ["a1"] * 5,
                "ts": [f"2025-01-02T10:0{j}:00+08:00" for j in range(5)],
                "type": ["purchase"] * 5,
                "amount": ["12.50"] * 5,
            }
        ),
    }
    times = []
    for _ in range(loads):
        t = time.perf_counter()
        validate_portfolio(raw, file_names={}, today=datetime(2026, 1, 1).date())
        times.append(1e3 * (time.perf_counter() - t))
    return times


def compare_small_loads(url: str, n_accounts: int, loads: int, against: str | None) -> None:
    """The small loads, and the validation of one, by this code and, given ``against``,
    by that code in turns."""
    if against is None:
        ours = small_loads(url, n_accounts, loads, "day-this", 1)
        checked = small_validations(loads)
        print(
            f"{'':10s} a day's events, {loads} loads of 5: ingest {statistics.median(ours):.2f} "
            f"ms each; validating a load of 1 borrower, 1 account, 5 events "
            f"{statistics.median(checked):.2f} ms"
        )
        return
    medians: dict[str, dict[str, list[float]]] = {
        "this": {"ingest": [], "validate": []},
        "that": {"ingest": [], "validate": []},
    }
    for r, who in enumerate(["this", "that", "that", "this"]):
        args = [url, str(n_accounts), str(loads), f"day-{who}-{r}", str(r)]
        out = _child(against, who, "--child", *args)
        for step, times in json.loads(out).items():
            medians[who][step].append(statistics.median(times))
    for step, what in (
        ("ingest", f"a day's events, {loads} loads of 5: db.ingest_into"),
        ("validate", "validating a load of 1 borrower, 1 account, 5 events"),
    ):
        this = statistics.fmean(medians["this"][step])
        that = statistics.fmean(medians["that"][step])
        each = " / ".join(f"{m:.2f}" for m in medians["this"][step])
        other = " / ".join(f"{m:.2f}" for m in medians["that"][step])
        print(
            f"{'':10s} {what}, ms each (median per run): this {this:.2f} ({each}), "
            f"{against}: {that:.2f} ({other}); {that / this:.1f}x"
        )


def _child(against: str | None, who: str, *args: str) -> str:
    """Run this script's ``args`` in a process of its own, with ``against``'s code for
    "that"; its standard output."""
    env = dict(os.environ)
    if who == "that" and against is not None:
        env["PYTHONPATH"] = str(Path(against).resolve())
    cmd = [sys.executable, __file__, *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout


def compare_read_back(url: str, against: str) -> None:
    """``db.load_portfolio`` of the whole database by this code and that, in turns."""
    seconds: dict[str, list[float]] = {"this": [], "that": []}
    for who in ("this", "that", "that", "this"):
        seconds[who].append(float(_child(against, who, "--child-load", url)))
    this, that = statistics.fmean(seconds["this"]), statistics.fmean(seconds["that"])
    each = " / ".join(f"{v:.2f}" for v in seconds["this"])
    other = " / ".join(f"{v:.2f}" for v in seconds["that"])
    print(
        f"{'':10s} read-back (db.load_portfolio), s: this {this:.2f} ({each}), "
        f"{against}: {that:.2f} ({other}); {that / this:.1f}x"
    )


def run(name: str, url: str, portfolio: Portfolio, loads: int, against: str | None) -> None:
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
    if against is not None:
        compare_read_back(url, against)
    if loads:
        compare_small_loads(url, portfolio.accounts.height, loads, against)


def main() -> None:
    if sys.argv[1:2] == ["--child-load"]:  # one side of --against: the read-back, seconds
        t = time.perf_counter()
        db.load_portfolio(sys.argv[2])
        print(time.perf_counter() - t)
        return
    if sys.argv[1:2] == ["--child"]:  # one side of --against: small loads, times as JSON
        url, n_accounts, loads, tag, seed = sys.argv[2:]
        ingest = small_loads(url, int(n_accounts), int(loads), tag, int(seed))
        print(json.dumps({"ingest": ingest, "validate": small_validations(int(loads))}))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", nargs="?", type=int, default=2_000_000, help="events")
    ap.add_argument("--small-loads", type=int, default=200)
    ap.add_argument("--against", help="another commit's src folder, measured in the same run")
    args = ap.parse_args()
    n, loads, against = args.n, args.small_loads, args.against
    t0 = time.perf_counter()
    portfolio = synthetic(n)
    print(
        f"{n:,} events, {portfolio.accounts.height:,} accounts "
        f"(built in {time.perf_counter() - t0:.1f} s)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", portfolio, loads, against)
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
        url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
        run("postgresql", url, portfolio, loads, against)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'drop schema "{schema}" cascade'))
        admin.dispose()


if __name__ == "__main__":
    main()
