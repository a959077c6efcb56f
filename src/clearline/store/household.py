"""Read the slice of the portfolio that one account's review needs.

A line is reviewed with its household (the regulatory cap is a household total), and the
features of a household's borrowers read their linked borrowers' arrears. So the slice
is: the household's borrowers, the borrowers they are linked to, all their accounts,
those accounts' events before the cut-off with the events of the same loans booked on
other accounts (a repayment counts for its loan wherever it is booked), the links
touching the household, and the macro table. ``build_features`` on this slice gives the
household's accounts the same rows as on the whole portfolio.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import polars as pl
import sqlalchemy as sa

from clearline.core.portfolio import UTC_TS, Portfolio, polars_schema
from clearline.store.id_lists import ByDialect
from clearline.store.service_tables import epoch_us
from clearline.store.tables import PORTFOLIO_TABLES, accounts, borrowers, events, links


class UnknownAccount(LookupError):
    """No such account in the database."""


def _frame(conn: sa.Connection, name: str, where: sa.ColumnElement[bool] | None) -> pl.DataFrame:
    table = PORTFOLIO_TABLES[name]
    schema = polars_schema(name)
    query = sa.select(*(table.c[c] for c in schema))
    if where is not None:
        query = query.where(where)
    rows = conn.execute(query).all()
    sqlite = conn.dialect.name == "sqlite"
    stored = {c: (pl.Int64 if t == UTC_TS and sqlite else t) for c, t in schema.items()}
    frame = pl.DataFrame([tuple(r) for r in rows], schema=stored, orient="row")
    if sqlite:
        frame = frame.with_columns(
            pl.from_epoch(c, "us").dt.replace_time_zone("UTC")
            for c, t in schema.items()
            if t == UTC_TS
        )
    return frame


def household_ids(conn: sa.Connection, account_id: str) -> list[str]:
    """The account ids of ``account_id``'s household (itself included), sorted."""
    found = households_of(conn, [account_id])
    if account_id not in found:
        raise UnknownAccount(account_id)
    return found[account_id]


def household_key() -> sa.ColumnElement[str | None]:
    """The features' household key of a borrower row, labelled ``hh``: the id as
    written, none when blank."""
    return sa.case(
        (sa.func.trim(sa.func.coalesce(borrowers.c.household_id, "")) == "", sa.null()),
        else_=borrowers.c.household_id,
    ).label("hh")


def member_key(hh: str | None, borrower_id: str) -> str:
    """The household a row of :func:`household_key` belongs to: a borrower without a
    household is a household of its own."""
    return hh if hh is not None else "\0" + borrower_id


def households_of(conn: sa.Connection, account_ids: Collection[str]) -> dict[str, list[str]]:
    """account id -> the sorted account ids of its household, for every id that exists
    (two queries, however many ids)."""
    hh = household_key()
    owners = conn.execute(
        sa.select(accounts.c.account_id, borrowers.c.borrower_id, hh)
        .join(borrowers, accounts.c.borrower_id == borrowers.c.borrower_id)
        .where(accounts.c.account_id.in_(list(account_ids)))
    ).all()
    if not owners:
        return {}
    named = {o.hh for o in owners if o.hh is not None}
    alone = {o.borrower_id for o in owners if o.hh is None}
    cols = (accounts.c.account_id, borrowers.c.borrower_id, hh)
    joined = sa.select(*cols).join(borrowers, accounts.c.borrower_id == borrowers.c.borrower_id)
    # Two indexed lookups (an OR of the two would scan every account).
    members = [
        *conn.execute(joined.where(borrowers.c.household_id.in_(named))),
        *conn.execute(joined.where(borrowers.c.borrower_id.in_(alone))),
    ]
    members.sort(key=lambda m: m.account_id)
    by_household: dict[str, list[str]] = {}
    for m in members:
        by_household.setdefault(member_key(m.hh, m.borrower_id), []).append(m.account_id)
    return {o.account_id: by_household[member_key(o.hh, o.borrower_id)] for o in owners}


# Built once per dialect: every review pass runs it.
_LOCKED_LINES = ByDialect(
    lambda among: (
        sa.select(accounts.c.account_id, accounts.c.credit_limit, accounts.c.status)
        .where(among(accounts.c.account_id))
        .order_by(accounts.c.account_id)
        .with_for_update()
    )
)


def lock_lines(conn: sa.Connection, account_ids: Collection[str]) -> pl.DataFrame:
    """``account_id, credit_limit, status`` of the accounts in id order, locked until the
    transaction ends (``FOR UPDATE``; in id order, so two batches cannot deadlock)."""
    rows = conn.execute(_LOCKED_LINES(conn), {"ids": list(account_ids)}).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={"account_id": pl.String, "credit_limit": pl.Float64, "status": pl.String},
        orient="row",
    )


def household_slice(
    conn: sa.Connection, account_ids: Collection[str], cutoff: datetime
) -> Portfolio:
    """The portfolio slice the review of ``account_ids`` (one household) reads."""
    owners = sa.select(accounts.c.borrower_id).where(accounts.c.account_id.in_(account_ids))
    touching = links.c.borrower_id.in_(owners) | links.c.other_borrower_id.in_(owners)
    link_frame = _frame(conn, "links", touching)
    people = (
        set(conn.scalars(owners))
        | set(link_frame["borrower_id"])
        | set(link_frame["other_borrower_id"])
    )
    acc = _frame(conn, "accounts", accounts.c.borrower_id.in_(people))
    ts = cutoff if conn.dialect.name != "sqlite" else epoch_us(cutoff)
    ids = acc["account_id"].to_list()
    ev = _frame(conn, "events", events.c.account_id.in_(ids) & (events.c.ts < ts))
    loan_ids = ev["loan_id"].drop_nulls().unique().to_list()
    if loan_ids:
        elsewhere = _frame(
            conn,
            "events",
            events.c.loan_id.in_(loan_ids) & events.c.account_id.not_in(ids) & (events.c.ts < ts),
        )
        ev = pl.concat([ev, elsewhere]) if elsewhere.height else ev
    return Portfolio(
        borrowers=_frame(conn, "borrowers", borrowers.c.borrower_id.in_(people)).sort(
            "borrower_id"
        ),
        accounts=acc.sort("account_id"),
        events=ev.sort("ts", "event_id"),
        links=link_frame,
        macro=_frame(conn, "macro", None).sort("month"),
        source="household",
    )
