"""A SQLite portfolio is read back with every table of one moment, and every column of
its contract type whatever its first rows hold (what a reader that guesses types from
the first rows, as ADBC's SQLite driver does, gets wrong)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from clearline.core.portfolio import Portfolio, portfolio_of
from clearline.store import bulk, db
from tests.test_db import assert_same, small_portfolio


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'read.db'}"


def _nulls_first() -> Portfolio:
    """3,000 events whose optional columns are null in their first 2,000 rows."""
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
    return portfolio_of("unit", borrowers=base.borrowers, accounts=base.accounts, events=events)


def test_columns_null_in_their_first_rows_keep_their_types(sqlite_url: str) -> None:
    """The driver types a column from its first batch of rows (1,024 by default): a
    column null there must still come back as text, integers or decimals, not fail."""
    p = _nulls_first()
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


# The Arrow reader runs only in a process that opens the file no other way (see
# store/arrow_read.py), so these tests read in a child process.
_READ_ALL = """
import sys
from clearline.store import arrow_read
for name, frame in vars(arrow_read.load_portfolio(sys.argv[1])).items():
    if name != "source":
        frame.write_ipc(f"{sys.argv[2]}/{name}.arrow")
"""

_READ_PAUSED = """
import sys
from clearline.store import arrow_read
real = arrow_read.read_table
def paused(conn, name):
    frame = real(conn, name)
    if name == "borrowers":
        print("paused", flush=True)
        sys.stdin.readline()
    return frame
arrow_read.read_table = paused
print("late" in arrow_read.load_portfolio(sys.argv[1]).events["event_id"].to_list(), flush=True)
"""


def test_the_arrow_reader_gives_what_sqlite3_gives_whatever_the_first_rows_hold(
    sqlite_url: str, tmp_path: Path
) -> None:
    p = _nulls_first()
    db.ingest(p, sqlite_url)
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run([sys.executable, "-c", _READ_ALL, sqlite_url, str(out)], check=True)
    want = db.load_portfolio(sqlite_url)
    for name in ("borrowers", "accounts", "events", "links", "macro"):
        got = pl.read_ipc(out / f"{name}.arrow")
        assert got.schema == getattr(want, name).schema, name
        assert got.equals(getattr(want, name)), name


def test_the_arrow_reader_reads_every_table_at_one_moment(sqlite_url: str) -> None:
    db.ingest(small_portfolio(), sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    child = subprocess.Popen(
        [sys.executable, "-c", _READ_PAUSED, sqlite_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline().strip() == "paused"
    with sqlite3.connect(path) as other:  # commits while the child is between tables
        other.execute(
            "INSERT INTO events (event_id, account_id, ts, type, amount) "
            "VALUES ('late', 'a1', 0, 'purchase', 1.0)"
        )
    child.stdin.write("\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "False"
    assert child.wait(timeout=60) == 0
    assert "late" in db.load_portfolio(sqlite_url).events["event_id"].to_list()
