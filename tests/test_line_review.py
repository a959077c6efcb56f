"""The one-account review use case against a real database: serialised line changes
(no lost update under concurrency), history fed back into the policy, whole households."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import polars as pl
import sqlalchemy as sa
from fastapi.testclient import TestClient

from clearline.api.db import Database
from clearline.services.deployment import Source, resolve
from clearline.services.feature_snapshot import FeatureSnapshot, data_version
from clearline.services.line_review import (
    Deferred,
    ReviewRequest,
    UnknownAccount,
    review_account,
    review_many,
)
from clearline.store import audit, db
from clearline.store.household import household_ids
from tests.service_support import Service, Trained, open_accounts


def _deployment(service: Service):  # noqa: ANN202
    return resolve(Source(registry=service.registry, policies=service.policies))


def _household_account(database: Database) -> str:
    """An active account whose household holds more than one line."""
    with database.read() as conn:
        return conn.execute(
            sa.text(
                "select a.account_id from accounts a join borrowers b using (borrower_id) "
                "where a.status = 'active' and b.household_id in ("
                "  select b2.household_id from borrowers b2 join accounts a2 using (borrower_id)"
                "  where b2.household_id is not null and b2.household_id <> ''"
                "  group by b2.household_id having count(*) > 1) "
                "order by a.account_id limit 1"
            )
        ).scalar_one()


def test_concurrent_reviews_of_one_household_lose_no_line_update(
    service: Service, trained: Trained
) -> None:
    database = Database(service.url)
    deployment = _deployment(service)
    account = _household_account(database)
    errors: list[BaseException] = []
    t0 = datetime(2026, 11, 28, 12, tzinfo=UTC)

    def one(i: int) -> None:
        try:
            with database.write() as conn:
                review_account(
                    conn,
                    deployment,
                    account,
                    as_of=service.as_of,
                    now=t0 + timedelta(seconds=i),
                    actor=f"thread-{i}",
                    request_id=f"r{i}",
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with database.read() as conn:
        entries = conn.execute(
            sa.text("select payload from audit_log where action = 'decision.create' order by seq")
        ).scalars()
        by_account: dict[str, list[dict]] = {}
        for payload in entries:
            row = json.loads(payload)
            by_account.setdefault(row["account_id"], []).append(row)
        limits = dict(conn.execute(sa.text("select account_id, credit_limit from accounts")).all())
        assert audit.verify(conn).ok
    assert len(by_account[account]) == 8
    for acc, chain in by_account.items():
        # In commit order, each review read the limit the previous one left.
        for before, after in zip(chain, chain[1:], strict=False):
            assert after["old_limit"] == before["new_limit"], acc
        assert limits[acc] == chain[-1]["new_limit"]
    database.dispose()


def test_a_second_review_reads_the_first_as_history(service: Service) -> None:
    database = Database(service.url)
    deployment = _deployment(service)
    with database.read() as conn:
        account = conn.execute(
            sa.text("select account_id from accounts where status = 'active' limit 1")
        ).scalar_one()
    at = datetime(2026, 11, 28, 12, tzinfo=UTC)
    with database.write() as conn:
        first = review_account(
            conn, deployment, account, as_of=service.as_of, now=at, actor="t", request_id="a"
        )[0]
    with database.write() as conn:
        second = review_account(
            conn, deployment, account, as_of=service.as_of, now=at, actor="t", request_id="b"
        )[0]
    trace = json.loads(second["trace"])
    assert second["old_limit"] == first["new_limit"]
    assert first["decision_id"] != second["decision_id"]
    assert trace  # the frozen trace is stored with the decision
    database.dispose()


def test_a_review_decides_every_line_of_the_household_once(service: Service) -> None:
    database = Database(service.url)
    account = _household_account(database)
    with database.write() as conn:
        rows = review_account(
            conn,
            _deployment(service),
            account,
            as_of=service.as_of,
            now=datetime(2026, 11, 28, tzinfo=UTC),
            actor="t",
            request_id="h",
        )
    assert rows[0]["account_id"] == account
    ids = [r["account_id"] for r in rows]
    assert len(ids) == len(set(ids)) > 1
    assert {r["request_id"] for r in rows} == {"h"}
    database.dispose()


def _decide_both(database: Database, deployment, account: str, as_of, snapshot):  # noqa: ANN001, ANN202
    """The household's decisions from the snapshot and from events, nothing kept."""
    out = []
    for source in (snapshot, None):
        with database.write() as conn:
            rows = review_account(
                conn,
                deployment,
                account,
                as_of=as_of,
                now=datetime(2026, 11, 28, tzinfo=UTC),
                actor="t",
                request_id="s",
                snapshot=source,
            )
            conn.rollback()
        out.append([{k: r[k] for k in _COMPARED} for r in rows])
    return out


_COMPARED = ("account_id", "action", "old_limit", "new_limit", "score", "reasons", "inputs_hash")


def test_the_feature_snapshot_gives_the_rows_built_from_events_even_after_changes(
    service: Service,
) -> None:
    database = Database(service.url)
    deployment = _deployment(service)
    snapshot = FeatureSnapshot(service.url, lambda: service.as_of)
    accounts = [_household_account(database), *open_accounts(service.url, 15)]
    for account in accounts:
        fast, slow = _decide_both(database, deployment, account, service.as_of, snapshot)
        assert fast == slow, account
    # A committed review changes lines: the snapshot overlays them from the locked rows.
    changed = None
    for account in accounts:
        with database.write() as conn:
            rows = review_account(
                conn,
                deployment,
                account,
                as_of=service.as_of,
                now=datetime(2026, 11, 28, tzinfo=UTC),
                actor="t",
                request_id="c",
                snapshot=snapshot,
            )
        if any(r["new_limit"] != r["old_limit"] for r in rows):
            changed = account
            break
    assert changed is not None, "no review changed a line"
    fast, slow = _decide_both(database, deployment, changed, service.as_of, snapshot)
    assert fast == slow
    # A load that changes a borrower's income makes the snapshot rebuild.
    portfolio = db.load_portfolio(service.url)
    owner = portfolio.accounts.filter(pl.col("account_id") == changed)["borrower_id"][0]
    richer = portfolio.borrowers.with_columns(
        declared_monthly_income=pl.when(pl.col("borrower_id") == owner)
        .then(pl.col("declared_monthly_income") * 3 + 1000)
        .otherwise(pl.col("declared_monthly_income"))
    )
    before = fast
    db.ingest(replace(portfolio, borrowers=richer), service.url)
    fast, slow = _decide_both(database, deployment, changed, service.as_of, snapshot)
    assert fast == slow
    assert fast[0]["inputs_hash"] != before[0]["inputs_hash"]
    database.dispose()


def test_the_snapshot_is_only_used_for_the_service_day(service: Service) -> None:
    database = Database(service.url)
    snapshot = FeatureSnapshot(service.url, lambda: service.as_of)
    with database.read() as conn:
        ids = open_accounts(service.url, 3)
        assert snapshot(conn, ids, service.as_of).height == 3
        assert snapshot(conn, ids, service.as_of - timedelta(days=1)) is None
    database.dispose()


def test_a_batch_of_reviews_decides_each_household_as_it_would_be_decided_alone(
    service: Service,
) -> None:
    database = Database(service.url)
    deployment = _deployment(service)
    household = _household_account(database)
    with database.read() as conn:
        sibling = next(a for a in household_ids(conn, household) if a != household)
        accounts, seen = [], set()
        for a in [household, *open_accounts(service.url, 20)]:
            ids = set(household_ids(conn, a))
            if not ids & seen:  # one request per household: as the batcher sends them
                accounts.append(a)
                seen |= ids
    at = datetime(2026, 11, 28, tzinfo=UTC)
    alone = {}
    for account in accounts:
        with database.write() as conn:
            rows = review_account(
                conn, deployment, account, as_of=service.as_of, now=at, actor="t", request_id="x"
            )
            conn.rollback()
        alone[account] = [{k: r[k] for k in _COMPARED} for r in rows]
    requests = [ReviewRequest(a, service.as_of, "t", f"r{i}") for i, a in enumerate(accounts)]
    requests += [
        ReviewRequest(sibling, service.as_of, "t", "sib"),  # same household as the first
        ReviewRequest("NO-SUCH", service.as_of, "t", "none"),
    ]
    with database.write() as conn:
        results = review_many(conn, deployment, requests, now=at)
    for account, result in zip(accounts, results, strict=False):
        assert [{k: r[k] for k in _COMPARED} for r in result] == alone[account], account
    assert isinstance(results[-2], Deferred)
    assert isinstance(results[-1], UnknownAccount)
    with database.read() as conn:
        assert audit.verify(conn).ok
        stored = conn.execute(sa.text("select count(*) from decisions")).scalar_one()
    assert stored == sum(len(r) for r in results if isinstance(r, list))
    database.dispose()


def test_a_starting_worker_builds_its_snapshot_before_the_first_review(service: Service) -> None:
    app = service.client.app
    assert app.state.snapshot.built_for is None
    with TestClient(app) as client:  # runs the app's start-up, as uvicorn does
        app.state.warm_up.join(timeout=120)
        assert client.get("/v1/me", headers=service.headers("analyst")).status_code == 200
    with app.state.db.read() as conn:
        version = data_version(conn)
    assert app.state.snapshot.built_for == (app.state.service_day(), version)


def test_lines_are_put_in_the_feature_rows_order_or_left_as_given() -> None:
    import polars as pl

    from clearline.services.line_review import _aligned

    lines = pl.DataFrame(
        {"account_id": ["a", "b", "c"], "credit_limit": [1.0, 2.0, 3.0], "status": ["x"] * 3}
    )
    rows = pl.DataFrame({"account_id": ["c", "a"]})
    assert _aligned(lines, rows)["account_id"].to_list() == ["c", "a"]
    assert _aligned(lines, rows)["credit_limit"].to_list() == [3.0, 1.0]
    assert _aligned(lines, lines) is lines
    missing = pl.DataFrame({"account_id": ["c", "z"]})  # no line row: joined later, as null
    assert _aligned(lines, missing) is lines
