"""What a small load costs each service worker afterwards (issue 5): the feature
snapshot and the household index brought up to date for the load, by patching the rows
it touched (``store/load_scope.py``) against building both whole, as every load made
them do before; both in the same run, on one deployment.

Usage::

    .venv/bin/python benchmarks/bench_snapshot.py [--dir D] [--db URL] [--rounds 20]
        [--bulk-accounts 2000] [--bulk-rounds 3]

It deploys 20,000 borrowers into ``--dir`` as ``bench_review_pass.py`` does (reused
when there), builds a worker's snapshot and index for the service day, then per round
loads a day's events for one random open account (4 purchases and a repayment of one
of its loans, through ``db.ingest_into`` as ``POST /v1/loads`` does) and times the
first lookup after it, of another account ("marked": the load's rows are only marked
stale), then a lookup of the loaded account ("patched": its stale rows are built
again). The code before built both whole at the first lookup; those builds ("whole")
get a fifth of the rounds (each takes seconds). Prints the medians and the ratio of
whole to patched.

Then ``--bulk-rounds`` loads of a day's events for ``--bulk-accounts`` random accounts
each (2,000: past the 1,000 ids over which loads used to record no scope, so that the
first lookup after one built the whole snapshot for every review): the marking, a lookup
of an account the load left alone, and one of an account it touched.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from bench_review_pass import deployed
from load_service import portfolio_facts

from clearline.core.portfolio import Portfolio, portfolio_of
from clearline.services import feature_snapshot, household_index
from clearline.services.feature_snapshot import FeatureSnapshot
from clearline.services.household_index import HouseholdIndex
from clearline.store import db
from clearline.store.tables import events


def _day_of_events(conn: sa.Connection, account: str, day, tag: str) -> Portfolio:  # noqa: ANN001
    loan = conn.execute(
        sa.select(events.c.loan_id).where(
            events.c.account_id == account, events.c.type == "drawdown"
        )
    ).scalar()
    at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)
    rows = [
        (f"{tag}-{k}", account, at + timedelta(seconds=k), "purchase", 12.5, None, "shop")
        for k in range(4)
    ]
    if loan is not None:
        rows.append((f"{tag}-r", account, at + timedelta(seconds=5), "repayment", 50.0, loan, None))
    frame = pl.DataFrame(
        rows,
        schema=["event_id", "account_id", "ts", "type", "amount", "loan_id", "counterparty"],
        orient="row",
    )
    return portfolio_of("bench", events=frame)


def _worker(engine: sa.Engine, url: str, as_of) -> tuple[FeatureSnapshot, HouseholdIndex]:  # noqa: ANN001
    """A worker's snapshot and household index, built for the service day."""
    snapshot, households = FeatureSnapshot(url, lambda: as_of), HouseholdIndex()
    with engine.connect() as conn, conn.begin():
        snapshot(conn, [], as_of)
        households(conn, [])
    return snapshot, households


def _lookup_ms(engine: sa.Engine, snapshot, households, account: str, as_of) -> float:  # noqa: ANN001
    """Milliseconds of one review's lookups of ``account``: its features and household."""
    with engine.connect() as conn, conn.begin():
        t = time.perf_counter()
        snapshot(conn, [account], as_of)
        households(conn, [account])
        return 1e3 * (time.perf_counter() - t)


def run(url: str, rounds: int, whole: bool) -> tuple[list[float], list[float]]:
    """Milliseconds of the first lookup after each of ``rounds`` small loads (of an
    account the load did not touch), and of the next (of the account it did)."""
    as_of, ids = portfolio_facts(url)
    pick = random.Random(7 if whole else 11).choice
    engine = db.make_engine(url)
    snapshot, households = _worker(engine, url, as_of)
    first, then = [], []
    for r in range(rounds):
        account, other = pick(ids), pick(ids)
        with engine.connect().execution_options(clearline_write=True) as conn, conn.begin():
            load = _day_of_events(conn, account, as_of, f"bench-{time.time_ns()}-{r}")
            db.ingest_into(conn, load, source="bench")
        for took, asked in ((first, other), (then, account)):
            took.append(_lookup_ms(engine, snapshot, households, asked, as_of))
    engine.dispose()
    return first, then


def bulk(url: str, accounts: int, rounds: int) -> dict[str, list[float]]:
    """Milliseconds, after each of ``rounds`` loads of a day's events for ``accounts``
    random accounts: marking the rows the load may have changed (which the first review
    after it pays), a lookup of an account the load left alone, and one of an account it
    touched (a whole build once past ``PATCH_LIMIT`` stale rows)."""
    as_of, ids = portfolio_facts(url)
    rng = random.Random(13)
    engine = db.make_engine(url)
    snapshot, households = _worker(engine, url, as_of)
    took: dict[str, list[float]] = {"mark": [], "other": [], "touched": [], "stale": []}
    for r in range(rounds):
        chosen = rng.sample(ids, accounts)
        with engine.connect().execution_options(clearline_write=True) as conn, conn.begin():
            tag = f"bulk-{time.time_ns()}-{r}"
            days = [_day_of_events(conn, a, as_of, f"{tag}-{k}") for k, a in enumerate(chosen)]
            load = portfolio_of("bench", events=pl.concat([d.events for d in days]))
            db.ingest_into(conn, load, source="bench")
        with engine.connect() as conn, conn.begin():
            t = time.perf_counter()
            snapshot.refresh(conn)
            households(conn, [])
            took["mark"].append(1e3 * (time.perf_counter() - t))
        left = [a for a in ids if a not in snapshot.stale]
        took["stale"].append(len(ids) - len(left))
        for name, asked in (("other", rng.choice(left)), ("touched", chosen[0])):
            took[name].append(_lookup_ms(engine, snapshot, households, asked, as_of))
    engine.dispose()
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default="/tmp/clearline-review-pass")
    ap.add_argument("--db", help="a PostgreSQL URL (default: SQLite in --dir)")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--bulk-accounts", type=int, default=2_000)
    ap.add_argument("--bulk-rounds", type=int, default=3)
    args = ap.parse_args()
    url = deployed(Path(args.dir), args.db)
    db.upgrade(url)  # a deployment made by an older commit
    marked, patched = run(url, args.rounds, whole=False)
    # The code before: every new load read as "anything may have changed".
    real = feature_snapshot.scope_between
    feature_snapshot.scope_between = household_index.scope_between = lambda *a: None
    try:
        rebuilt, _ = run(url, max(2, args.rounds // 5), whole=True)
    finally:
        feature_snapshot.scope_between = household_index.scope_between = real
    p, w = statistics.median(patched), statistics.median(rebuilt)
    print(f"database: {sa.make_url(url).get_backend_name()}, {args.rounds} small loads")
    rows = (
        ("marked", marked, statistics.median(marked)),
        ("patched", patched, p),
        ("whole", rebuilt, w),
    )
    for name, took, mid in rows:
        spread = f"min {min(took):.1f}, max {max(took):.1f}"
        print(f"  {name:8} median {mid:8.1f} ms per load ({spread}, {len(took)} loads)")
    print(f"  ratio whole / patched: {w / p:.1f}x")
    took = bulk(url, args.bulk_accounts, args.bulk_rounds)
    stale = statistics.median(took["stale"])
    print(
        f"after a load of a day's events for {args.bulk_accounts:,} accounts "
        f"({stale:,.0f} open accounts marked stale)"
    )
    for name, what in (
        ("mark", "marking the rows it may have changed"),
        ("other", "then a lookup of an account it left alone"),
        ("touched", "then a lookup of an account it touched"),
    ):
        ms = took[name]
        print(f"  {what:<42} median {statistics.median(ms):8.1f} ms (max {max(ms):.1f})")
    other = statistics.median(took["other"]) + statistics.median(took["mark"])
    print(
        f"  before (no scope past 1,000 ids), that first lookup built whole: {w:.1f} ms; "
        f"marking + lookup now {other:.1f} ms ({w / other:.0f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
