"""What a review's history read costs as accounts' histories grow (issue 5).

Usage::

    .venv/bin/python benchmarks/bench_history.py [--db URL] [--accounts 400] [--reps 300]

Every review pass reads, for its batch's accounts, the last decision's action and the
day of the last line change (the policy's hysteresis). The query that read each
account's whole history, in decision order, grew with the number of reviews an account
had had; ``decisions.history`` now takes the first entry of an index read backwards.
This times both in the same run, on the same database, for batches of 32 accounts whose
accounts have had 1, 30 and 300 decisions each, and checks that they agree.

The whole-history query is kept here as the reference. On this schema it reads through
``ix_decisions_account_decided`` rather than the one-column index it had before (not
timed separately). Decision rows carry a 1 KB trace; a real one is about 4 KB.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from clearline.sim.api import simulate
from clearline.sim.config import SimConfig
from clearline.store import db
from clearline.store import decisions as records
from clearline.store.service_tables import decisions

AS_OF = date(2025, 12, 31)

WHOLE_HISTORY = (
    sa.select(
        decisions.c.account_id,
        decisions.c.action,
        decisions.c.as_of,
        decisions.c.old_limit,
        decisions.c.new_limit,
    )
    .where(decisions.c.account_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(decisions.c.account_id, decisions.c.decided_at, decisions.c.decision_id)
)


def whole_history(conn: sa.Connection, ids: list[str], as_of: date) -> pl.DataFrame:
    """The previous ``decisions.history``: every decision of every account, in order."""
    last: dict[str, str] = {}
    changed: dict[str, date] = {}
    for r in conn.execute(WHOLE_HISTORY, {"ids": ids}).all():
        last[r.account_id] = r.action
        if r.new_limit != r.old_limit or r.action in ("freeze", "close"):
            changed[r.account_id] = r.as_of
    return pl.DataFrame(
        {
            "account_id": ids,
            "last_action": [last.get(a) for a in ids],
            "days_since_last_change": [
                float((as_of - changed[a]).days) if a in changed else None for a in ids
            ],
        },
        schema={
            "account_id": pl.String,
            "last_action": pl.String,
            "days_since_last_change": pl.Float64,
        },
    )


def fill(url: str, per_group: int, depths: tuple[int, ...]) -> dict[int, list[str]]:
    """A simulated book whose accounts are split into groups of ``per_group``, each
    group's accounts with ``depth`` earlier decisions; the groups' account ids."""
    book = simulate(SimConfig(borrowers=per_group * len(depths), seed=7)).portfolio  # >= 1 each
    db.ingest(book, url, source="bench")
    ids = sorted(book.accounts["account_id"].to_list())
    rng = random.Random(7)
    rng.shuffle(ids)
    groups = {d: ids[i * per_group : (i + 1) * per_group] for i, d in enumerate(depths)}
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    engine = db.make_engine(url)
    with engine.begin() as conn:
        for depth, group in groups.items():
            rows = []
            for a in group:
                for k in range(depth):
                    action = rng.choice(["keep"] * 6 + ["increase", "decrease", "freeze"])
                    rows.append(_row(a, k, action, t0 + timedelta(hours=k)))
                if len(rows) > 20_000:
                    records.insert(conn, rows)
                    rows = []
            records.insert(conn, rows)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("analyze")  # the planner's statistics, as autovacuum keeps
    engine.dispose()
    return groups


def _row(account: str, k: int, action: str, at: datetime) -> dict:
    return {
        "decision_id": f"d-{account}-{k:05d}",
        "account_id": account,
        "borrower_id": "B",
        "decided_at": at,
        "as_of": at.date(),
        "action": action,
        "old_limit": 1000.0,
        "new_limit": 1000.0 if action in ("keep", "freeze") else 1500.0,
        "score": 600.0,
        "pd": 0.05,
        "grade": "C",
        "reasons": "",
        "layer": "individual",
        "good_standing": True,
        "class_wide": False,
        "policy_version": "p",
        "model_version": "m",
        "inputs_hash": "h" * 64,
        "trace": "x" * 1024,
        "requested_by": "bench",
        "request_id": f"r-{account}-{k}",
    }


def timed(fn, conn: sa.Connection, batches: list[list[str]]) -> float:  # noqa: ANN001
    """Median ms per call over ``batches``."""
    times = []
    for ids in batches:
        t = time.perf_counter()
        fn(conn, ids, AS_OF)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="database URL (default: SQLite in a temp dir)")
    ap.add_argument("--accounts", type=int, default=400, help="accounts per depth group")
    ap.add_argument("--reps", type=int, default=300, help="batches of 32 timed per figure")
    args = ap.parse_args()
    depths = (1, 30, 300)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'history.db'}"
        t = time.perf_counter()
        groups = fill(url, args.accounts, depths)
        print(
            f"{url.split('?')[0]}: {len(depths)} groups of {args.accounts} accounts, "
            f"{time.perf_counter() - t:.0f} s to build"
        )
        rng = random.Random(1)
        engine = db.make_engine(url)
        print(
            f"{'decisions per account':>22} {'whole history ms':>17} {'index seeks ms':>15} "
            f"{'ratio':>6}"
        )
        with engine.connect() as conn:
            for depth, ids in groups.items():
                batches = [rng.sample(ids, 32) for _ in range(args.reps)]
                for ids32 in batches[:20]:
                    assert whole_history(conn, ids32, AS_OF).equals(
                        records.history(conn, ids32, AS_OF)
                    ), "the two reads disagree"
                old, new = (
                    timed(whole_history, conn, batches),
                    timed(records.history, conn, batches),
                )
                print(f"{depth:>22} {old:>17.3f} {new:>15.3f} {old / new:>5.1f}x")
        engine.dispose()


if __name__ == "__main__":
    main()
