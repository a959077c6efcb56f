"""The feature snapshot after small loads: it builds again only the rows a load may have
changed, and holds exactly what a whole build from the database gives, including rows
of accounts no load named (a linked borrower falling into arrears or out of it).
A bulk load, or one written before loads recorded their scope, rebuilds everything."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import polars as pl
import pytest
import sqlalchemy as sa
from polars.testing import assert_frame_equal

from clearline.core.features import as_of_cutoff, build_features
from clearline.core.portfolio import Portfolio, polars_schema, portfolio_of
from clearline.services import feature_snapshot
from clearline.services.feature_snapshot import FeatureSnapshot
from clearline.services.household_index import HouseholdIndex
from clearline.store import db, load_scope
from clearline.store.files import read_portfolio
from clearline.store.household import households_of
from clearline.store.tables import loads
from tests.service_support import Trained


def _held_back(portfolio: Portfolio, as_of) -> tuple[Portfolio, list[pl.DataFrame]]:  # noqa: ANN001
    """The portfolio without the last 45 days of events of 8 accounts whose arrears
    those events change and whose borrowers are linked, and those events per account."""
    linked = set(portfolio.links["borrower_id"]) | set(portfolio.links["other_borrower_id"])
    candidates = portfolio.accounts.filter(pl.col("borrower_id").is_in(sorted(linked)))
    recent = pl.col("ts") >= as_of_cutoff(as_of) - timedelta(days=45)
    held = portfolio.events.filter(
        pl.col("account_id").is_in(candidates["account_id"].to_list()) & recent
    )
    without = replace(portfolio, events=portfolio.events.join(held, on="event_id", how="anti"))
    full, less = build_features(portfolio, as_of), build_features(without, as_of)
    changed = full.join(less, on="account_id", suffix="_less").filter(
        pl.col("dpd_now") != pl.col("dpd_now_less")
    )
    chosen = changed["account_id"].head(8).to_list()
    assert len(chosen) == 8, "the simulated portfolio should have arrears to hold back"
    kept = held.filter(~pl.col("account_id").is_in(chosen))
    events = pl.concat([without.events, kept]).sort("ts", "event_id")
    return replace(portfolio, events=events), [
        held.filter(pl.col("account_id") == a) for a in chosen
    ]


def _whole(url: str, as_of) -> pl.DataFrame:  # noqa: ANN001
    return build_features(db.load_portfolio(url), as_of)


def _held(snapshot: FeatureSnapshot, url: str, ids: list[str], as_of) -> pl.DataFrame:  # noqa: ANN001
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            return snapshot(conn, ids, as_of)
    finally:
        engine.dispose()


@pytest.fixture
def counted_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The urls the snapshot read whole, in order."""
    calls: list[str] = []
    real = feature_snapshot.load_portfolio

    def counting(url: str) -> Portfolio:
        calls.append(url)
        return real(url)

    monkeypatch.setattr(feature_snapshot, "load_portfolio", counting)
    return calls


def test_small_loads_patch_the_snapshot_to_what_a_whole_build_gives(
    trained: Trained, db_url: str, counted_builds: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    portfolio, feed = _held_back(read_portfolio(trained.portfolio_dir), trained.as_of)
    db.ingest(portfolio, db_url)
    as_of = trained.as_of
    snapshot = FeatureSnapshot(db_url, lambda: as_of)
    first = _held(snapshot, db_url, [], as_of)
    assert first.height == 0 and len(counted_builds) == 1

    borrowers, accounts = portfolio.borrowers, portfolio.accounts
    owner = accounts.filter(pl.col("account_id") == feed[0]["account_id"][0])["borrower_id"][0]
    stranger = borrowers.filter(pl.col("borrower_id") != owner)["borrower_id"][-1]
    moved = accounts.filter(pl.col("borrower_id") == stranger)["account_id"][0]
    lender = accounts.filter(pl.col("account_id") == feed[6]["account_id"][0])["borrower_id"][0]
    new_account = accounts.filter(pl.col("account_id") == moved).with_columns(
        account_id=pl.lit("NEW-1"), borrower_id=pl.lit(owner)
    )
    steps = [
        *(portfolio_of(events=e) for e in feed[:4]),  # a day's events, one account per load
        portfolio_of(events=pl.concat(feed[4:6])),  # two accounts in one load
        portfolio_of(  # a borrower's record: more income, another household
            borrowers=borrowers.filter(pl.col("borrower_id") == owner).with_columns(
                declared_monthly_income=pl.col("declared_monthly_income") * 3 + 1000,
                household_id=pl.lit("HH-NEW"),
            )
        ),
        portfolio_of(  # a new link, to a borrower in arrears
            links=portfolio.links.head(1).with_columns(
                borrower_id=pl.lit(stranger), other_borrower_id=pl.lit(owner)
            )
        ),
        portfolio_of(  # a new account whose events name another account's loans
            accounts=new_account,
            events=feed[6].with_columns(
                account_id=pl.lit("NEW-1"), event_id=pl.col("event_id") + "-new"
            ),
        ),
        portfolio_of(  # that other account's borrower: its row reads NEW-1's repayments
            borrowers=borrowers.filter(pl.col("borrower_id") == lender).with_columns(
                declared_monthly_income=pl.col("declared_monthly_income") + 1
            )
        ),
        portfolio_of(  # an account moved to another borrower
            accounts=accounts.filter(pl.col("account_id") == moved).with_columns(
                borrower_id=pl.lit(owner)
            )
        ),
        portfolio_of(macro=portfolio.macro.tail(1)),
        portfolio_of(events=feed[7]),
    ]
    before = _whole(db_url, as_of)
    named: set[str] = set()
    for step in steps:
        db.ingest(step, db_url, migrate=False)
        named |= set(step.events["account_id"]) | set(step.accounts["account_id"])
        want = _whole(db_url, as_of)
        got = _held(snapshot, db_url, want["account_id"].to_list(), as_of)
        assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9)
    assert len(counted_builds) == 1  # patched every time, never built whole again

    # The loads changed rows of accounts none of them named: the links carried them.
    after = _whole(db_url, as_of)
    changed = (
        after.join(before, on="account_id", suffix="_before")
        .filter(pl.col("linked_arrears_share").ne_missing(pl.col("linked_arrears_share_before")))
        .filter(~pl.col("account_id").is_in(sorted(named)))
    )
    assert changed.height > 0

    # A bulk load records no scope: the next lookup builds the whole snapshot.
    monkeypatch.setattr(load_scope, "SCOPE_LIMIT", 1_000)
    assert portfolio.borrowers.height > load_scope.SCOPE_LIMIT
    db.ingest(portfolio_of(borrowers=portfolio.borrowers), db_url, migrate=False)
    want = _whole(db_url, as_of)
    got = _held(snapshot, db_url, want["account_id"].to_list(), as_of)
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9)
    assert len(counted_builds) == 2


def _scopes(url: str) -> list[dict | None]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(loads.c.scope).order_by(loads.c.id)).scalars())
    finally:
        engine.dispose()


def test_a_load_records_the_ids_it_touched_and_a_bulk_load_none(
    trained: Trained, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load_scope, "SCOPE_LIMIT", 1_000)
    portfolio = read_portfolio(trained.portfolio_dir)
    assert portfolio.borrowers.height > load_scope.SCOPE_LIMIT
    db.ingest(portfolio, db_url)
    link = portfolio.links.head(1)
    repayments = portfolio.events.filter(pl.col("type") == "repayment").head(2)
    events = pl.concat([portfolio.events.filter(pl.col("type") == "purchase").head(1), repayments])
    small = portfolio_of(borrowers=portfolio.borrowers.head(2), events=events, links=link)
    db.ingest(small, db_url, migrate=False)
    bulk, scoped = _scopes(db_url)
    assert bulk is None
    assert scoped == {
        "borrowers": sorted(portfolio.borrowers["borrower_id"].head(2)),
        "accounts": [],
        "events": sorted(set(events["account_id"])),
        "loans": sorted(set(repayments["loan_id"])),
        "links": sorted({link["borrower_id"][0], link["other_borrower_id"][0]}),
    }


def test_the_household_index_is_read_again_only_after_a_load_of_records(
    trained: Trained, db_url: str
) -> None:
    portfolio = read_portfolio(trained.portfolio_dir)
    db.ingest(portfolio, db_url)
    engine = db.make_engine(db_url)
    reads: list[str] = []
    sa.event.listen(
        engine,
        "before_cursor_execute",
        # The index reads every membership row: the one join with no WHERE.
        lambda *a: reads.append(a[2]) if "JOIN borrowers" in a[2] and "WHERE" not in a[2] else None,
    )
    index = HouseholdIndex()
    ids = portfolio.accounts["account_id"].to_list()

    def look() -> dict[str, list[str]]:
        with engine.connect() as conn, conn.begin():
            got = index(conn, ids)
            assert got == households_of(conn, ids)
            return got

    look()
    assert len(reads) == 1
    db.ingest(portfolio_of(events=portfolio.events.head(3)), db_url, migrate=False)
    reads.clear()
    look()
    assert reads == []  # events only: the index was not read again

    owner = portfolio.accounts["borrower_id"][0]
    moved = portfolio.borrowers.filter(pl.col("borrower_id") == owner).with_columns(
        household_id=pl.lit("HH-ELSEWHERE")
    )
    db.ingest(portfolio_of(borrowers=moved), db_url, migrate=False)
    reads.clear()
    after = look()
    assert len(reads) == 1
    assert after[portfolio.accounts["account_id"][0]] == sorted(
        portfolio.accounts.filter(pl.col("borrower_id") == owner)["account_id"]
    )
    engine.dispose()


def test_stale_rows_are_built_together_when_asked_for_or_once_they_have_settled(
    trained: Trained, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    portfolio = read_portfolio(trained.portfolio_dir)
    db.ingest(portfolio, db_url)
    builds: list[int] = []
    real = feature_snapshot.build_features

    def counting(p: Portfolio, as_of):  # noqa: ANN001, ANN202
        builds.append(p.accounts.height)
        return real(p, as_of)

    monkeypatch.setattr(feature_snapshot, "build_features", counting)
    as_of, clock = trained.as_of, [0.0]
    monkeypatch.setattr(feature_snapshot.time, "monotonic", lambda: clock[0])
    snapshot = FeatureSnapshot(db_url, lambda: as_of, settle_seconds=0.5)
    engine = db.make_engine(db_url)

    def lookup(ids: list[str], warm: bool = False) -> pl.DataFrame:
        with engine.connect() as conn, conn.begin():
            if warm:
                snapshot.warm(conn)
            return snapshot(conn, ids, as_of)

    lookup([])
    assert len(builds) == 1  # whole
    purchases = portfolio.events.filter(pl.col("type") == "purchase")
    first, second = purchases["account_id"].unique(maintain_order=True).head(2)
    mine = purchases.filter(pl.col("account_id") == first).head(1)
    db.ingest(
        portfolio_of(events=mine.with_columns(event_id=pl.lit("again-1"))), db_url, migrate=False
    )
    db.ingest(
        portfolio_of(
            events=mine.with_columns(event_id=pl.lit("again-2"), account_id=pl.lit(second))
        ),
        db_url,
        migrate=False,
    )
    untouched = portfolio.accounts.filter(
        ~pl.col("account_id").is_in([first, second])
        & ~pl.col("borrower_id").is_in(
            portfolio.accounts.filter(pl.col("account_id").is_in([first, second]))[
                "borrower_id"
            ].implode()
        )
    )["account_id"]
    lookup(untouched.head(50).to_list())
    lookup([], warm=True)  # not settled yet
    assert len(builds) == 1  # two loads marked, nothing built yet
    got = lookup([first])
    assert len(builds) == 2  # both loads' rows, in one slice
    assert_frame_equal(
        got, _whole(db_url, as_of).filter(pl.col("account_id") == first), check_exact=False
    )
    db.ingest(
        portfolio_of(events=mine.with_columns(event_id=pl.lit("again-3"))), db_url, migrate=False
    )
    lookup([], warm=True)
    assert len(builds) == 2
    clock[0] += 0.6
    lookup([], warm=True)  # settled: built without anyone asking
    assert len(builds) == 3
    lookup([first])
    assert len(builds) == 3
    engine.dispose()


def test_portfolio_of_types_what_it_is_given_and_refuses_other_tables() -> None:
    events = pl.DataFrame({"event_id": ["e"], "account_id": ["a"], "amount": [1]})
    made = portfolio_of("x", events=events)
    assert made.events.schema == pl.Schema(polars_schema("events"))
    assert made.events["loan_id"].to_list() == [None] and made.borrowers.height == 0
    with pytest.raises(TypeError, match="not a portfolio table: loans"):
        portfolio_of(loans=events)


def _purchase_load(portfolio: Portfolio, account: str, event_id: str) -> Portfolio:
    one = portfolio.events.filter(pl.col("type") == "purchase").head(1)
    return portfolio_of(
        events=one.with_columns(event_id=pl.lit(event_id), account_id=pl.lit(account))
    )


def _built(trained: Trained, db_url: str) -> tuple[Portfolio, FeatureSnapshot, sa.Engine]:
    """The trained portfolio ingested, a snapshot of it built whole, and an engine."""
    portfolio = read_portfolio(trained.portfolio_dir)
    db.ingest(portfolio, db_url)
    snapshot = FeatureSnapshot(db_url, lambda: trained.as_of)
    engine = db.make_engine(db_url)
    with engine.connect() as conn, conn.begin():
        snapshot(conn, [], trained.as_of)
    return portfolio, snapshot, engine


def test_a_row_a_newer_load_touches_while_it_is_built_stays_stale(
    trained: Trained, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    portfolio, snapshot, engine = _built(trained, db_url)
    as_of = trained.as_of
    first, second = portfolio.accounts["account_id"].head(2)
    db.ingest(_purchase_load(portfolio, first, "mid-1"), db_url, migrate=False)
    db.ingest(_purchase_load(portfolio, second, "mid-2"), db_url, migrate=False)
    real = feature_snapshot.build_features

    def interleaved(p: Portfolio, day):  # noqa: ANN001, ANN202
        built = real(p, day)  # from the state before the load below
        db.ingest(_purchase_load(portfolio, first, "mid-3"), db_url, migrate=False)
        with engine.connect() as other, other.begin():
            snapshot.refresh(other)  # marks `first` again, as another thread would
        return built

    monkeypatch.setattr(feature_snapshot, "build_features", interleaved)
    with engine.connect() as conn, conn.begin():
        got = snapshot(conn, [second], as_of)
    monkeypatch.setattr(feature_snapshot, "build_features", real)
    assert first in snapshot.stale and second not in snapshot.stale
    whole = _whole(db_url, as_of)
    assert_frame_equal(got, whole.filter(pl.col("account_id") == second), check_exact=False)
    with engine.connect() as conn, conn.begin():
        now = snapshot(conn, [first], as_of)
    assert_frame_equal(now, whole.filter(pl.col("account_id") == first), check_exact=False)
    assert not snapshot.stale
    engine.dispose()


def test_a_transaction_older_than_the_snapshot_gets_no_stale_row_and_builds_none(
    trained: Trained, db_url: str
) -> None:
    portfolio, snapshot, engine = _built(trained, db_url)
    as_of = trained.as_of
    account = portfolio.accounts["account_id"][0]
    with engine.connect() as old, old.begin():
        assert snapshot(old, [account], as_of) is not None  # its version is read here
        db.ingest(_purchase_load(portfolio, account, "later-1"), db_url, migrate=False)
        with engine.connect() as newer, newer.begin():
            snapshot.refresh(newer)
        assert account in snapshot.stale
        # Its rows would miss the load: the caller builds from its own transaction.
        assert snapshot(old, [account], as_of) is None
        assert account in snapshot.stale
    with engine.connect() as conn, conn.begin():
        now = snapshot(conn, [account], as_of)
    assert_frame_equal(
        now, _whole(db_url, as_of).filter(pl.col("account_id") == account), check_exact=False
    )
    engine.dispose()


def test_many_stale_rows_are_built_whole_while_the_other_rows_are_handed_out(
    trained: Trained, db_url: str, monkeypatch: pytest.MonkeyPatch, counted_builds: list[str]
) -> None:
    """After more small loads than a patch is worth, the snapshot is built whole, but
    outside its lock: a lookup of a row no load touched neither waits for that build
    nor starts one (before, every lookup waited seconds for it)."""
    portfolio, snapshot, engine = _built(trained, db_url)
    as_of = trained.as_of
    monkeypatch.setattr(feature_snapshot, "PATCH_LIMIT", 2)
    touched = portfolio.accounts["account_id"].head(3).to_list()
    for k, account in enumerate(touched):
        db.ingest(_purchase_load(portfolio, account, f"many-{k}"), db_url, migrate=False)
    owners = portfolio.accounts.filter(pl.col("account_id").is_in(touched))["borrower_id"]
    mine = pl.col("borrower_id").is_in(owners.implode())
    ends = portfolio.links.filter(mine | pl.col("other_borrower_id").is_in(owners.implode()))
    near = set(owners) | set(ends["borrower_id"]) | set(ends["other_borrower_id"])
    untouched = portfolio.accounts.filter(~pl.col("borrower_id").is_in(sorted(near)))[
        "account_id"
    ].to_list()[:2]
    real_build = feature_snapshot.build_features
    built_before = len(counted_builds)  # the snapshot's first build
    beside: list[pl.DataFrame | None] = []

    def build_with_a_lookup_beside(p: Portfolio, day):  # noqa: ANN001, ANN202
        def other() -> None:
            with engine.connect() as conn, conn.begin():
                beside.append(snapshot(conn, [untouched[1]], as_of))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=30)  # a lookup behind the build would wait for ever here
        assert not thread.is_alive(), "a lookup of an untouched row waited for the build"
        return real_build(p, day)

    with engine.connect() as conn, conn.begin():
        got = snapshot(conn, [untouched[0]], as_of)
    assert len(counted_builds) == built_before  # marked, nothing built
    assert set(touched) <= snapshot.stale and snapshot.stale.isdisjoint(untouched)
    whole = _whole(db_url, as_of)
    assert_frame_equal(got, whole.filter(pl.col("account_id") == untouched[0]), check_exact=False)

    monkeypatch.setattr(feature_snapshot, "build_features", build_with_a_lookup_beside)
    with engine.connect() as conn, conn.begin():
        now = snapshot(conn, touched, as_of)
    assert len(counted_builds) == built_before + 1 and not snapshot.stale
    assert_frame_equal(now, whole.filter(pl.col("account_id").is_in(touched)), check_exact=False)
    (other_row,) = beside
    assert other_row is not None
    assert_frame_equal(
        other_row, whole.filter(pl.col("account_id") == untouched[1]), check_exact=False
    )
    engine.dispose()


def test_a_load_of_a_thousand_accounts_keeps_its_scope_and_the_other_rows_handed_out(
    trained: Trained, db_url: str, monkeypatch: pytest.MonkeyPatch, counted_builds: list[str]
) -> None:
    """A day's events for more accounts than a patch is worth (and than the 1,000 ids
    past which loads used to record no scope): the rows it may have changed are marked
    and built again whole, once, when one is asked for; the other rows are handed out
    meanwhile without any build (before, the first lookup after it built the whole
    snapshot for every review). The ids are asked for in parts, as a scope of 50,000
    ids must be on PostgreSQL."""
    portfolio, snapshot, engine = _built(trained, db_url)
    as_of = trained.as_of
    monkeypatch.setattr(feature_snapshot, "_IDS_PER_QUERY", 97)
    ids = portfolio.accounts["account_id"].to_list()
    buyers, payers = ids[:1_100], ids[:300]
    purchase = portfolio.events.filter(pl.col("type") == "purchase").head(1)
    repayments = portfolio.events.filter(
        (pl.col("type") == "repayment") & pl.col("account_id").is_in(payers)
    ).unique("account_id", keep="last")
    day = pl.concat(
        [
            pl.concat([purchase] * len(buyers)).with_columns(
                account_id=pl.Series(buyers), event_id=pl.Series([f"day-{a}" for a in buyers])
            ),
            repayments.with_columns(event_id=pl.col("event_id") + "-again"),
        ]
    )
    db.ingest(portfolio_of(events=day), db_url, migrate=False)
    assert _scopes(db_url)[-1] is not None
    built_before = len(counted_builds)

    with engine.connect() as conn, conn.begin():
        snapshot.refresh(conn)
    stale = snapshot.stale
    assert set(buyers) <= stale and len(stale) > feature_snapshot.PATCH_LIMIT
    others = [a for a in ids if a not in stale]
    assert others, "the links of 300 payers should not reach every account"
    whole = _whole(db_url, as_of)
    with engine.connect() as conn, conn.begin():
        handed = snapshot(conn, others, as_of)
    assert len(counted_builds) == built_before  # the other rows waited for nothing
    assert_frame_equal(handed, whole.filter(pl.col("account_id").is_in(others)), check_exact=False)
    with engine.connect() as conn, conn.begin():
        touched = snapshot(conn, buyers[:3], as_of)
    assert len(counted_builds) == built_before + 1 and not snapshot.stale
    assert_frame_equal(
        touched, whole.filter(pl.col("account_id").is_in(buyers[:3])), check_exact=False
    )
    assert_frame_equal(_held(snapshot, db_url, ids, as_of), whole, check_exact=False)
    engine.dispose()


def test_a_load_without_loan_events_marks_only_its_accounts_and_one_with_them_the_links(
    trained: Trained, db_url: str
) -> None:
    """Arrears come only from events naming a loan: purchases leave every linked
    borrower's row as it was, so they mark their own account alone; a repayment marks
    the accounts of the borrowers linked to its owner too."""
    portfolio, snapshot, engine = _built(trained, db_url)
    as_of = trained.as_of
    repaid = portfolio.events.filter(pl.col("type") == "repayment").join(
        portfolio.accounts.select("account_id", "borrower_id"), on="account_id"
    )
    linked = portfolio.links.filter(
        (pl.col("borrower_id") != pl.col("other_borrower_id"))
        & pl.col("borrower_id").is_in(repaid["borrower_id"].implode())
        & pl.col("other_borrower_id").is_in(portfolio.accounts["borrower_id"].implode())
    )
    assert linked.height, "a borrower who repaid should be linked to one with an account"
    owner, other = linked.row(0)[:2]
    mine = repaid.filter(pl.col("borrower_id") == owner)["account_id"].unique().to_list()
    theirs = portfolio.accounts.filter(pl.col("borrower_id") == other)["account_id"].to_list()
    purchase = _purchase_load(portfolio, mine[0], "no-loan-1")
    assert purchase.events["loan_id"].is_null().all()
    db.ingest(purchase, db_url, migrate=False)
    with engine.connect() as conn, conn.begin():
        snapshot.refresh(conn)
    assert snapshot.stale == {mine[0]}

    repayment = portfolio.events.filter(
        (pl.col("type") == "repayment") & pl.col("account_id").is_in(mine)
    ).head(1)
    db.ingest(
        portfolio_of(events=repayment.with_columns(event_id=pl.lit("with-loan-1"))),
        db_url,
        migrate=False,
    )
    with engine.connect() as conn, conn.begin():
        snapshot.refresh(conn)
        assert set(theirs) <= snapshot.stale
        got = snapshot(conn, [mine[0], *theirs], as_of)
    whole = _whole(db_url, as_of)
    assert_frame_equal(
        got, whole.filter(pl.col("account_id").is_in([mine[0], *theirs])), check_exact=False
    )
    engine.dispose()
