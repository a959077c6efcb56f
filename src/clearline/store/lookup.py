"""Read queries the API serves: borrowers, accounts, loads."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from clearline.store.service_tables import UtcInstant
from clearline.store.tables import accounts, borrowers, loads

_ACCOUNT_COLS = ("account_id", "borrower_id", "product", "opened_at", "credit_limit", "status")


def _instant(conn: sa.Connection, value: Any) -> Any:
    return UtcInstant().process_result_value(value, conn.dialect)


def account(conn: sa.Connection, account_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(*(accounts.c[c] for c in _ACCOUNT_COLS)).where(
            accounts.c.account_id == account_id
        )
    ).first()
    return None if row is None else _account(conn, row._mapping)


def account_page(
    conn: sa.Connection, *, borrower_id: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = sa.select(*(accounts.c[c] for c in _ACCOUNT_COLS)).order_by(accounts.c.account_id)
    if borrower_id is not None:
        query = query.where(accounts.c.borrower_id == borrower_id)
    rows = conn.execute(query.limit(limit).offset(offset)).all()
    return [_account(conn, r._mapping) for r in rows]


def _account(conn: sa.Connection, m: Any) -> dict[str, Any]:
    out = dict(m)
    out["opened_at"] = _instant(conn, out["opened_at"])
    return out


def borrower(conn: sa.Connection, borrower_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(
            borrowers.c.borrower_id,
            borrowers.c.household_id,
            borrowers.c.city,
            borrowers.c.employment,
            borrowers.c.income_verified,
        ).where(borrowers.c.borrower_id == borrower_id)
    ).first()
    if row is None:
        return None
    out = dict(row._mapping)
    out["accounts"] = list(
        conn.scalars(
            sa.select(accounts.c.account_id)
            .where(accounts.c.borrower_id == borrower_id)
            .order_by(accounts.c.account_id)
        )
    )
    return out


# What a load's answer shows (not its scope, up to 1,000 ids kept for the workers).
_LOAD = sa.select(loads.c.id, loads.c.loaded_at, loads.c.source, loads.c.counts)


def load_page(conn: sa.Connection, *, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = conn.execute(_LOAD.order_by(loads.c.id.desc()).limit(limit).offset(offset)).all()
    return [_load(conn, r) for r in rows]


def load(conn: sa.Connection, load_id: int) -> dict[str, Any]:
    """The ``loads`` row ``load_id`` (one this transaction wrote, or committed)."""
    return _load(conn, conn.execute(_LOAD.where(loads.c.id == load_id)).one())


def _load(conn: sa.Connection, r: Any) -> dict[str, Any]:
    return {
        "load_id": r.id,
        "loaded_at": _instant(conn, r.loaded_at),
        "source": r.source,
        "counts": dict(r.counts),
    }
