"""Frozen decision records: written once by a review, read by the API, audit and appeals."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

import polars as pl
import sqlalchemy as sa

from clearline.store.bulk import insert_rows
from clearline.store.id_lists import ByDialect
from clearline.store.service_tables import LINE_CHANGED, decisions
from clearline.store.tables import accounts

_ADVERSE = ("decrease", "freeze", "close")


def new_id() -> str:
    """A decision id: ``d-`` and a UUIDv7 (RFC 9562) in 32 hex digits.

    Its first 48 bits are the creation time in milliseconds, so ids made one after
    another sort one after another and each insert lands at the end of the primary-key
    index. A random id (UUIDv4) put every decision in another leaf page, a page more for
    SQLite to copy into its write-ahead log at commit and into the database at the next
    checkpoint. The other 74 bits are random: ids made in the same millisecond differ.
    """
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (ms & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76  # version 7
        | (rand >> 64 & 0xFFF) << 64  # rand_a, 12 bits
        | 0b10 << 62  # the RFC 9562 variant
        | rand & 0x3FFF_FFFF_FFFF_FFFF  # rand_b, 62 bits
    )
    return f"d-{value:032x}"


def insert(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    insert_rows(conn, decisions, rows)


def get(conn: sa.Connection, decision_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(decisions).where(decisions.c.decision_id == decision_id)).first()
    return None if row is None else readable(row._mapping)


def latest(conn: sa.Connection, account_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(decisions)
        .where(decisions.c.account_id == account_id)
        .order_by(decisions.c.decided_at.desc(), decisions.c.decision_id.desc())
        .limit(1)
    ).first()
    return None if row is None else readable(row._mapping)


def for_account(
    conn: sa.Connection, account_id: str, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(decisions)
        .where(decisions.c.account_id == account_id)
        .order_by(decisions.c.decided_at.desc(), decisions.c.decision_id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [readable(r._mapping) for r in rows]


# Built once: a review pass runs it every time, and building it costs more than running
# it. Per account, its last decision's action and the day of its last line change: each
# the first entry of an index read backwards (ix_decisions_account_decided and
# ix_decisions_account_changes), so the cost does not grow with the account's history.
_NEWEST_FIRST = (decisions.c.decided_at.desc(), decisions.c.decision_id.desc())
_HISTORY = ByDialect(
    lambda among: sa.select(
        accounts.c.account_id,
        sa.select(decisions.c.action)
        .where(decisions.c.account_id == accounts.c.account_id)
        .order_by(*_NEWEST_FIRST)
        .limit(1)
        .scalar_subquery()
        .label("last_action"),
        sa.select(decisions.c.as_of)
        .where(decisions.c.account_id == accounts.c.account_id, LINE_CHANGED)
        .order_by(*_NEWEST_FIRST)
        .limit(1)
        .scalar_subquery()
        .label("changed_on"),
    ).where(among(accounts.c.account_id))
)


def history(conn: sa.Connection, account_ids: Collection[str], as_of: date) -> pl.DataFrame:
    """``account_id, last_action, days_since_last_change`` from earlier decisions, the
    columns the policy's hysteresis reads (null when an account has none)."""
    ids = list(account_ids)
    found = {
        r.account_id: (r.last_action, r.changed_on)
        for r in conn.execute(_HISTORY(conn), {"ids": ids}).all()
    }
    past = [found.get(a, (None, None)) for a in ids]
    return pl.DataFrame(
        {
            "account_id": ids,
            "last_action": [last for last, _ in past],
            "days_since_last_change": [
                float((as_of - on).days) if on is not None else None for _, on in past
            ],
        },
        schema={
            "account_id": pl.String,
            "last_action": pl.String,
            "days_since_last_change": pl.Float64,
        },
    )


def line_changes(
    rows: Sequence[dict[str, Any]], current: dict[str, tuple[float, str]]
) -> list[dict[str, Any]]:
    """What the decisions do to their lines, given each line's current ``(credit_limit,
    status)``: one change per decision that alters its line, in order."""
    changes = []
    state = dict(current)
    for row in rows:
        limit, status = state[row["account_id"]]
        new_status = {"close": "closed", "freeze": "frozen"}.get(row["action"], status)
        if row["action"] in ("increase", "decrease"):
            new_status = "active"
        new_limit = row["new_limit"]
        if (new_limit, new_status) == (limit, status):
            continue
        state[row["account_id"]] = (new_limit, new_status)
        changes.append(
            {
                "account_id": row["account_id"],
                "decision_id": row["decision_id"],
                "old_limit": limit,
                "new_limit": new_limit,
                "old_status": status,
                "new_status": new_status,
            }
        )
    return changes


def apply_changes(conn: sa.Connection, changes: Sequence[dict[str, Any]]) -> None:
    """Write line changes (from :func:`line_changes`, on rows the caller has locked)."""
    if changes:
        conn.execute(
            accounts.update()
            .where(accounts.c.account_id == sa.bindparam("a"))
            .values(credit_limit=sa.bindparam("l"), status=sa.bindparam("s")),
            [{"a": c["account_id"], "l": c["new_limit"], "s": c["new_status"]} for c in changes],
        )


def readable(m: Any) -> dict[str, Any]:
    out = dict(m)
    out["reasons"] = [r for r in out["reasons"].split(";") if r]
    out["trace"] = json.loads(out["trace"])
    out["adverse"] = out["action"] in _ADVERSE
    return out
