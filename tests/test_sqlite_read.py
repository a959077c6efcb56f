"""A SQLite portfolio is read back with every table of one moment, and every column of
its contract type whatever its first rows hold (what a reader that guesses types from
the first rows, as ADBC's SQLite driver does, gets wrong)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from clearline.core.portfolio import portfolio_of
from clearline.store import bulk, db
from tests.test_db import assert_same, small_portfolio


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'read.db'}"


def test_columns_null_in_their_first_rows_keep_their_types(sqlite_url: str) -> None:
    """The driver types a column from its first batch of rows (1,024 by default): a
    column null there must still come back as text, integers or decimals, not fail."""
    n, blank = 3_000, 2_000
    day = datetime(2024, 1, 1, tzinfo=UTC)
    base = small_portfolio()

    def later(values: list[object]) -> list[object]:
        return [None] * blank + values * ((n - blank) // len(values))

    events = pl.DataFrame(
        {
            "event_id": [f"e{i:05d}" for i in range(n)],
            "account_id": ["a1"] * n,
            "ts": [day + timedelta(minutes=i) for i in range(n)],
            "type": ["purchase"] * n,
            "amount": [10.0] * n,
            "loan_id": later(["l1", "l2"]),
            "term_months": later([3, 12]),
            "apr": later([0.18, 0.245]),
            "counterparty": later(["shop"]),
            "city": later(["成都"]),
        }
    )
    p = portfolio_of("unit", borrowers=base.borrowers, accounts=base.accounts, events=events)
    db.ingest(p, sqlite_url)
    back = db.load_portfolio(sqlite_url).events
    assert back.schema == p.events.schema
    assert back.equals(p.events)


def test_every_table_is_read_at_one_moment(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load that commits while the portfolio is being read is not half in it."""
    p = small_portfolio()
    db.ingest(p, sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    real = bulk.sqlite_read

    def then_a_load(dbapi: Any, name: str) -> pl.DataFrame:
        frame = real(dbapi, name)
        if name == "borrowers":  # the events are read after this commit
            with sqlite3.connect(path) as other:
                other.execute(
                    "INSERT INTO events (event_id, account_id, ts, type, amount) "
                    "VALUES ('late', 'a1', 0, 'purchase', 1.0)"
                )
        return frame

    monkeypatch.setattr(bulk, "sqlite_read", then_a_load)
    during = db.load_portfolio(sqlite_url)
    assert_same(during, p)
    monkeypatch.undo()
    assert "late" in db.load_portfolio(sqlite_url).events["event_id"].to_list()
