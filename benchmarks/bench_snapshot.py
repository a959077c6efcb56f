"""What a small load costs each service worker afterwards (issue 5): the feature
snapshot and the household index brought up to date for the load, by patching the rows
it touched (``store/load_scope.py``) against building both whole, as every load made
them do before; both in the same run, on one deployment.

Usage::

    .venv/bin/python benchmarks/bench_snapshot.py [--dir D] [--db URL] [--rounds 20]

It deploys 20,000 borrowers into ``--dir`` as ``bench_review_pass.py`` does (reused
when there), builds a worker's snapshot and index for the service day, then per round
loads a day's events for one random open account (4 purchases and a repayment of one
of its loans, through ``db.ingest_into`` as ``POST /v1/loads`` does) and times the
first lookup after it, of another account ("marked": the load's rows are only marked
stale), then a lookup of the loaded account ("patched": its stale rows are built
again). The code before built both whole at the first lookup; those builds ("whole")
get a fifth of the rounds (each takes seconds). Prints the medians and the ratio of
whole to patched.
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


def run(url: str, rounds: int, whole: bool) -> tuple[list[float], list[float]]:
    """Milliseconds of the first lookup after each of ``rounds`` small loads (of an
    account the load did not touch), and of the next (of the account it did)."""
    as_of, ids = portfolio_facts(url)
    pick = random.Random(7 if whole else 11).choice
    engine = db.make_engine(url)
    snapshot, households = FeatureSnapshot(url, lambda: as_of), HouseholdIndex()
    with engine.connect() as conn, conn.begin():
        snapshot(conn, [], as_of)
        households(conn, [])
    first, then = [], []
    for r in range(rounds):
        account, other = pick(ids), pick(ids)
        with engine.connect().execution_options(clearline_write=True) as conn, conn.begin():
            load = _day_of_events(conn, account, as_of, f"bench-{time.time_ns()}-{r}")
            db.ingest_into(conn, load, source="bench")
        for took, asked in ((first, other), (then, account)):
            with engine.connect() as conn, conn.begin():
                t = time.perf_counter()
                snapshot(conn, [asked], as_of)
                households(conn, [asked])
                took.append(1e3 * (time.perf_counter() - t))
    engine.dispose()
    return first, then


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default="/tmp/clearline-review-pass")
    ap.add_argument("--db", help="a PostgreSQL URL (default: SQLite in --dir)")
    ap.add_argument("--rounds", type=int, default=20)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
