"""The portfolio database on SQLite and PostgreSQL: migrations, ingest semantics, load."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import clearline.store.service_tables  # noqa: F401
from clearline.core.portfolio import Portfolio, polars_schema
from clearline.store import bulk, db
from clearline.store.tables import SCHEMA_REVISION, metadata

TABLES = ("borrowers", "accounts", "events", "links", "macro")


def small_portfolio() -> Portfolio:
    """Two borrowers, two accounts, four events, a link and two months of macro.

    Includes a pre-1970 timestamp, microseconds, a non-ASCII city and nulls so the round
    trip is exact where it is easy to get wrong.
    """

    def frame(name: str, data: dict[str, list[object]]) -> pl.DataFrame:
        return pl.DataFrame(data, schema=polars_schema(name))

    ts = [
        datetime(2024, 1, 10, 9, 0, 0, 123456, tzinfo=UTC),
        datetime(2024, 2, 10, 1, tzinfo=UTC),
        datetime(2024, 2, 11, tzinfo=UTC),
        datetime(2024, 3, 1, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    return Portfolio(
        borrowers=frame(
            "borrowers",
            {
                "borrower_id": ["b1", "b2"],
                "household_id": ["h1", None],
                "birth_year": [1950, 1999],
                "city": ["成都", None],
                "declared_monthly_income": [12000.5, 0.1 + 0.2],
                "income_verified": [True, False],
                "employment": ["retired", "student"],
                "registered_at": [datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC), ts[0]],
            },
        ),
        accounts=frame(
            "accounts",
            {
                "account_id": ["a1", "a2"],
                "borrower_id": ["b1", "b2"],
                "product": ["cash_line", "cash_line"],
                "opened_at": [ts[0], ts[1]],
                "credit_limit": [10000.0, 0.0],
                "status": ["active", "frozen"],
            },
        ),
        events=frame(
            "events",
            {
                "event_id": ["e1", "e2", "e3", "e4"],
                "account_id": ["a1", "a1", "a1", "a2"],
                "ts": ts,
                "type": ["drawdown", "repayment", "transfer_out", "external_inquiry"],
                "amount": [3000.0, 275.3, 2500.0, 0.0],
                "loan_id": ["L1", "L1", None, None],
                "term_months": [12, None, None, None],
                "apr": [0.18, None, None, None],
                "counterparty": [None, None, "acct-9", None],
                "city": ["Chengdu", None, None, None],
            },
        ),
        links=frame(
            "links", {"borrower_id": ["b1"], "other_borrower_id": ["b2"], "kind": ["device"]}
        ),
        macro=frame("macro", {"month": ["2024-01", "2024-02"], "stress_index": [1.0, 1.15]}),
    )


def sorted_like_db(p: Portfolio) -> dict[str, pl.DataFrame]:
    order = {
        "borrowers": ["borrower_id"],
        "accounts": ["account_id"],
        "events": ["ts", "event_id"],
        "links": ["borrower_id", "other_borrower_id", "kind"],
        "macro": ["month"],
    }
    return {name: getattr(p, name).sort(order[name]) for name in TABLES}


def assert_same(a: Portfolio, b: Portfolio) -> None:
    left, right = sorted_like_db(a), sorted_like_db(b)
    for name in TABLES:
        assert left[name].schema == right[name].schema, name
        assert left[name].equals(right[name]), (name, left[name], right[name])


def n_loads(url: str) -> int:
    engine = db.make_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.text("select count(*) from loads")).scalar_one()
    engine.dispose()
    return int(n)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'portfolio.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'portfolio.db'}"
    return request.getfixturevalue("pg_url")


# --- migrations ----------------------------------------------------------------------


def test_upgrade_on_an_empty_database_reaches_head_and_is_idempotent(url: str) -> None:
    assert db.current_revision(url) is None
    db.upgrade(url)
    assert db.current_revision(url) == SCHEMA_REVISION
    db.upgrade(url)
    assert db.current_revision(url) == SCHEMA_REVISION
    engine = db.make_engine(url)
    names = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert set(TABLES) | {"loads", "alembic_version"} <= names


def test_the_migrated_schema_matches_the_table_definitions(url: str) -> None:
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    engine.dispose()
    assert diff == []


def test_sqlite_runs_with_wal_and_foreign_keys_on(sqlite_url: str) -> None:
    db.upgrade(sqlite_url)
    engine = db.make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("pragma journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("pragma foreign_keys").scalar_one() == 1
    engine.dispose()


# --- ingest and load -----------------------------------------------------------------


@pytest.fixture(params=["inserts", "copy"])
def pg_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways rows reach PostgreSQL: plain INSERTs for a few, COPY through a
    temporary table above ``bulk.PG_SMALL_ROWS`` (here forced with a limit of 0)."""
    if request.param == "copy":
        monkeypatch.setattr(bulk, "PG_SMALL_ROWS", 0)
    return str(request.param)


def test_ingest_then_load_gives_back_the_same_portfolio(url: str, pg_path: str) -> None:
    p = small_portfolio()
    added = db.ingest(p, url, source="unit")
    assert added == {"borrowers": 2, "accounts": 2, "events": 4, "links": 1, "macro": 2}
    back = db.load_portfolio(url)
    assert_same(back, p)
    assert str(back.events["ts"].dtype) == "Datetime(time_unit='us', time_zone='UTC')"


@pytest.mark.postgres
def test_sqlite_and_postgresql_load_identical_portfolios(sqlite_url: str, pg_url: str) -> None:
    p = small_portfolio()
    db.ingest(p, sqlite_url)
    db.ingest(p, pg_url)
    a, b = db.load_portfolio(sqlite_url), db.load_portfolio(pg_url)
    for name in TABLES:
        assert getattr(a, name).equals(getattr(b, name)), name


def test_reingesting_the_same_portfolio_adds_nothing(url: str) -> None:
    p = small_portfolio()
    db.ingest(p, url)
    again = db.ingest(p, url)
    assert again == dict.fromkeys(TABLES, 0)
    assert db.load_portfolio(url).events.height == 4
    assert n_loads(url) == 2


def test_new_events_are_added_and_known_event_ids_keep_their_first_version(url: str) -> None:
    p = small_portfolio()
    db.ingest(p, url)
    later = p.events.with_columns(amount=pl.lit(1.0))  # same ids, different content
    extra = later.head(1).with_columns(event_id=pl.lit("e5"))
    added = db.ingest(
        Portfolio(p.borrowers, p.accounts, pl.concat([later, extra]), p.links, p.macro), url
    )
    assert added["events"] == 1
    events = db.load_portfolio(url).events
    assert (
        events.filter(pl.col("event_id") != "e5")["amount"].to_list()
        == p.events["amount"].to_list()
    )
    assert events.filter(pl.col("event_id") == "e5")["amount"].to_list() == [1.0]


def test_borrowers_accounts_and_macro_are_replaced_by_the_newer_snapshot(url: str) -> None:
    p = small_portfolio()
    db.ingest(p, url)
    newer = Portfolio(
        borrowers=p.borrowers.with_columns(city=pl.lit("Chongqing")),
        accounts=p.accounts.with_columns(
            credit_limit=pl.Series([20000.0, 500.0]), status=pl.lit("closed")
        ),
        events=p.events.head(0),
        links=p.links,
        macro=p.macro.with_columns(stress_index=pl.lit(1.3)),
    )
    added = db.ingest(newer, url)
    assert added == dict.fromkeys(TABLES, 0)  # updated rows are not "added"
    back = db.load_portfolio(url)
    assert back.borrowers["city"].to_list() == ["Chongqing", "Chongqing"]
    assert back.accounts["credit_limit"].to_list() == [20000.0, 500.0]
    assert back.accounts["status"].to_list() == ["closed", "closed"]
    assert back.macro["stress_index"].to_list() == [1.3, 1.3]
    assert back.events.height == 4  # events of earlier loads stay


def test_a_load_of_new_and_known_rows_counts_only_the_new_ones(url: str, pg_path: str) -> None:
    p = small_portfolio()
    db.ingest(
        Portfolio(
            p.borrowers.head(1),
            p.accounts.head(1),
            p.events.head(2),
            p.links.head(0),
            p.macro.head(1),
        ),
        url,
    )
    newer = Portfolio(
        borrowers=p.borrowers.with_columns(city=pl.lit("Xi'an")),
        accounts=p.accounts,
        events=p.events,
        links=p.links,
        macro=p.macro.with_columns(stress_index=pl.lit(1.2)),
    )
    added = db.ingest(newer, url)
    assert added == {"borrowers": 1, "accounts": 1, "events": 2, "links": 1, "macro": 1}
    back = db.load_portfolio(url)
    assert back.borrowers["city"].to_list() == ["Xi'an", "Xi'an"]  # b1 replaced, b2 new
    assert back.macro["stress_index"].to_list() == [1.2, 1.2]
    assert back.events.height == 4


def test_a_failing_ingest_leaves_the_database_exactly_as_before(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = small_portfolio()
    db.ingest(p, url)
    before = db.load_portfolio(url)
    real = db.write_table

    def fail_on_links(conn: sa.Connection, name: str, frame: pl.DataFrame, upsert: bool) -> None:
        if name == "links":  # borrowers, accounts and events have been written by now
            raise RuntimeError("disk full")
        real(conn, name, frame, upsert)

    monkeypatch.setattr(db, "write_table", fail_on_links)
    changed = Portfolio(
        borrowers=pl.concat(
            [
                p.borrowers.with_columns(city=pl.lit("X")),
                p.borrowers.head(1).with_columns(borrower_id=pl.lit("b3")),
            ]
        ),
        accounts=p.accounts.with_columns(credit_limit=pl.lit(1.0)),
        events=pl.concat([p.events, p.events.head(1).with_columns(event_id=pl.lit("e9"))]),
        links=p.links,
        macro=p.macro,
    )
    with pytest.raises(RuntimeError, match="disk full"):
        db.ingest(changed, url)
    after = db.load_portfolio(url)
    for name in TABLES:
        assert getattr(after, name).equals(getattr(before, name)), name
    assert n_loads(url) == 1


def test_an_event_for_an_account_missing_from_the_database_is_refused_by_the_foreign_key(
    url: str,
) -> None:
    p = small_portfolio()
    orphan = p.events.with_columns(account_id=pl.lit("ghost"))
    with pytest.raises(sa.exc.IntegrityError):
        db.ingest(Portfolio(p.borrowers, p.accounts, orphan, p.links, p.macro), url)
    assert db.load_portfolio(url).borrowers.height == 0  # nothing of that load stayed


def test_loading_a_database_without_tables_says_to_ingest_first(sqlite_url: str) -> None:
    with pytest.raises(db.DatabaseNotReady, match="ingest"):
        db.load_portfolio(sqlite_url)


def test_an_empty_portfolio_ingests_and_loads_as_empty_tables(url: str) -> None:
    p = small_portfolio()
    empty = Portfolio(*(getattr(p, name).head(0) for name in TABLES))
    assert db.ingest(empty, url) == dict.fromkeys(TABLES, 0)
    assert_same(db.load_portfolio(url), empty)


def test_a_first_load_rebuilds_the_indexes_it_set_aside(url: str) -> None:
    db.ingest(small_portfolio(), url)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    engine.dispose()
    assert diff == []
