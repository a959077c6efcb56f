"""The history a review reads (each account's last action and the day of its last line
change) is read with index seeks; it must say what reading the whole history says."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from clearline.store import db
from clearline.store import decisions as records
from clearline.store.service_tables import decisions
from tests.test_db import small_portfolio

AS_OF = date(2025, 12, 31)
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _row(i: int, account: str, rng: random.Random) -> dict:
    action = rng.choice(["keep", "keep", "keep", "increase", "decrease", "freeze", "close"])
    old = rng.choice([1000.0, 2000.0])
    new = old if action in ("keep", "freeze", "close") and rng.random() < 0.8 else 3000.0
    return {
        "decision_id": f"d-{rng.randrange(10**6):06d}-{i}",  # ties on decided_at: id order
        "account_id": account,
        "borrower_id": "B?",
        "decided_at": T0 + timedelta(hours=rng.randrange(6)),
        "as_of": AS_OF - timedelta(days=rng.randrange(400)),  # a later review may be backdated
        "action": action,
        "old_limit": old,
        "new_limit": new,
        "score": 600.0,
        "pd": 0.05,
        "grade": "C",
        "reasons": "",
        "layer": "individual",
        "good_standing": True,
        "class_wide": False,
        "policy_version": "p",
        "model_version": "m",
        "inputs_hash": "h",
        "trace": "{}",
        "requested_by": "t",
        "request_id": f"r{i}",
    }


def _reference(rows: list[dict], ids: list[str]) -> dict[str, tuple]:
    """The whole history read in decision order: the last action, the last change's day."""
    last: dict[str, str] = {}
    changed: dict[str, date] = {}
    for r in sorted(rows, key=lambda r: (r["decided_at"], r["decision_id"])):
        last[r["account_id"]] = r["action"]
        if r["new_limit"] != r["old_limit"] or r["action"] in ("freeze", "close"):
            changed[r["account_id"]] = r["as_of"]
    return {
        a: (last.get(a), float((AS_OF - changed[a]).days) if a in changed else None) for a in ids
    }


def test_history_from_index_seeks_equals_reading_every_decision(db_url: str) -> None:
    p = small_portfolio()
    db.ingest(p, db_url, source="unit")
    accounts = sorted(p.accounts["account_id"].to_list())
    ids = [*accounts, "NO-SUCH"]  # an unknown id has no history
    engine = db.make_engine(db_url)
    for seed in range(25):
        rng = random.Random(seed)
        rows = [_row(i, rng.choice(accounts), rng) for i in range(rng.randrange(0, 30))]
        with engine.begin() as conn:
            conn.execute(decisions.delete())
            records.insert(conn, rows)
            got = records.history(conn, ids, AS_OF)
        assert got["account_id"].to_list() == ids
        found = {
            a: (last, days)
            for a, last, days in got.select(
                "account_id", "last_action", "days_since_last_change"
            ).iter_rows()
        }
        assert found == _reference(rows, ids), seed
    if engine.dialect.name == "sqlite":  # each account: one seek per index, not a scan
        with engine.connect() as conn:
            query = records._HISTORY(conn).params(ids=accounts[:1])
            sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(r) for r in conn.exec_driver_sql("explain query plan " + sql))
        assert "ix_decisions_account_decided" in plan
        assert "ix_decisions_account_changes" in plan
    engine.dispose()
