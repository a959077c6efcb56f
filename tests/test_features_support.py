"""Builders of small hand-made portfolios for the ledger, features and label tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import polars as pl

from clearline.core.portfolio import Portfolio, empty_table, polars_schema

_ids = itertools.count()


def ts(text: str) -> datetime:
    """``"2024-01-31"`` or ``"2024-01-31 10:00"`` as a UTC datetime."""
    fmt = "%Y-%m-%d %H:%M" if " " in text else "%Y-%m-%d"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


def ev(
    account: str,
    when: str,
    type_: str,
    amount: float = 0.0,
    *,
    loan: str | None = None,
    term: int | None = None,
    apr: float | None = None,
    cp: str | None = None,
    city: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    return {
        "event_id": event_id or f"e{next(_ids):08d}",
        "account_id": account,
        "ts": ts(when),
        "type": type_,
        "amount": float(amount),
        "loan_id": loan,
        "term_months": term,
        "apr": apr,
        "counterparty": cp,
        "city": city,
    }


def drawdown(account: str, when: str, amount: float, loan: str, term: int, apr: float = 0.0):
    return ev(account, when, "drawdown", amount, loan=loan, term=term, apr=apr)


def repay(account: str, when: str, amount: float, loan: str) -> dict[str, Any]:
    return ev(account, when, "repayment", amount, loan=loan)


def events_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = polars_schema("events")
    if not rows:
        return empty_table("events")
    return pl.DataFrame(rows, schema=schema)


def portfolio(
    events: list[dict[str, Any]],
    *,
    accounts: list[dict[str, Any]] | None = None,
    borrowers: list[dict[str, Any]] | None = None,
    links: list[tuple[str, str, str]] | None = None,
) -> Portfolio:
    """A portfolio; by default one borrower ``B-<acc>`` per account seen in ``events``,
    each account opened 2023-01-01 with a 10 000 limit."""
    if accounts is None:
        ids = sorted({e["account_id"] for e in events})
        accounts = [account(a) for a in ids]
    if borrowers is None:
        borrowers = [borrower(b) for b in sorted({a["borrower_id"] for a in accounts})]
    link_rows = [{"borrower_id": a, "other_borrower_id": b, "kind": k} for a, b, k in (links or [])]
    return Portfolio(
        borrowers=pl.DataFrame(borrowers, schema=polars_schema("borrowers")),
        accounts=pl.DataFrame(accounts, schema=polars_schema("accounts")),
        events=events_frame(events),
        links=pl.DataFrame(link_rows, schema=polars_schema("links")),
        macro=empty_table("macro"),
    )


def account(
    account_id: str,
    *,
    borrower_id: str | None = None,
    opened: str = "2023-01-01",
    limit: float = 10_000.0,
    status: str = "active",
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "borrower_id": borrower_id or f"B-{account_id}",
        "product": "cash_line",
        "opened_at": ts(opened),
        "credit_limit": limit,
        "status": status,
    }


def borrower(
    borrower_id: str,
    *,
    household: str | None = None,
    birth_year: int = 1990,
    income: float = 5_000.0,
) -> dict[str, Any]:
    return {
        "borrower_id": borrower_id,
        "household_id": household,
        "birth_year": birth_year,
        "city": "Shanghai",
        "declared_monthly_income": income,
        "income_verified": True,
        "employment": "salaried",
        "registered_at": ts("2022-06-01"),
    }


def test_the_default_portfolio_builder_gives_each_account_its_own_borrower() -> None:
    p = portfolio([ev("A", "2024-01-01", "purchase", 1), ev("B", "2024-01-01", "purchase", 1)])
    assert p.accounts["borrower_id"].to_list() == ["B-A", "B-B"]
    assert p.borrowers["borrower_id"].to_list() == ["B-A", "B-B"]
    assert p.events.schema["ts"] == pl.Datetime("us", "UTC")
