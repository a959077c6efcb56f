"""Drafted decisions: decided before the write transaction, kept only where the inputs
read again under the locks are exactly the same."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from clearline.api.db import Database
from clearline.services import line_review
from clearline.services.line_review import ReviewRequest, draft_many, review_account, review_many
from clearline.store.tables import loads
from tests.service_support import Service, open_accounts
from tests.test_line_review import _COMPARED, _deployment

AT = datetime(2026, 11, 28, 12, tzinfo=UTC)


@pytest.fixture
def decide_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many accounts each ``decide`` pass of the review use case was given."""
    calls: list[int] = []
    real = line_review._decide_inputs

    def counting(deployment, inputs, as_of):  # noqa: ANN001, ANN202
        calls.append(inputs.height)
        return real(deployment, inputs, as_of)

    monkeypatch.setattr(line_review, "_decide_inputs", counting)
    return calls


def _compared(results: list) -> list:
    return [[{k: r[k] for k in _COMPARED} for r in res] for res in results]


def test_an_unchanged_draft_is_kept_and_equals_deciding_under_the_lock(
    service: Service, decide_calls: list[int]
) -> None:
    database = Database(service.url)
    deployment = _deployment(service)
    accounts = open_accounts(service.url, 12)
    requests = [ReviewRequest(a, service.as_of, "t", f"r{i}") for i, a in enumerate(accounts)]
    with database.write() as conn:
        locked = review_many(conn, deployment, requests, now=AT)
        conn.rollback()
    with database.read() as conn:
        draft = draft_many(conn, deployment, requests)
    decide_calls.clear()
    with database.write() as conn:
        kept = review_many(conn, deployment, requests, now=AT, draft=draft)
    assert decide_calls == []  # nothing decided again: every household's inputs matched
    assert _compared(kept) == _compared(locked)
    database.dispose()


def test_a_draft_overtaken_by_another_review_is_decided_again_from_the_new_line(
    service: Service, decide_calls: list[int]
) -> None:
    database = Database(service.url)
    deployment = _deployment(service)
    account = open_accounts(service.url, 1)[0]
    request = ReviewRequest(account, service.as_of, "t", "late")
    with database.read() as conn:
        draft = draft_many(conn, deployment, [request])
    with database.write() as conn:  # another worker's review commits in between
        between = review_account(
            conn, deployment, account, as_of=service.as_of, now=AT, actor="t", request_id="x"
        )[0]
    decide_calls.clear()
    with database.write() as conn:
        fresh = review_many(conn, deployment, [request], now=AT)
        conn.rollback()
    with database.write() as conn:
        (late,) = review_many(conn, deployment, [request], now=AT, draft=draft)
    assert len(decide_calls) == 2  # the stale draft was not used
    assert late[0]["old_limit"] == between["new_limit"]
    assert _compared([late]) == _compared(fresh)
    database.dispose()


def test_a_draft_made_with_another_deployment_is_not_used(
    service: Service, decide_calls: list[int]
) -> None:
    database = Database(service.url)
    requests = [ReviewRequest(open_accounts(service.url, 1)[0], service.as_of, "t", "r")]
    with database.read() as conn:
        draft = draft_many(conn, _deployment(service), requests)
    decide_calls.clear()
    with database.write() as conn:
        review_many(conn, _deployment(service), requests, now=AT, draft=draft)
    assert len(decide_calls) == 1
    database.dispose()


def test_a_draft_keeps_its_households_until_a_load_lands(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only a load changes who belongs to a household; after one the households are read
    # again under the lock, not taken from the draft.
    database = Database(service.url)
    deployment = _deployment(service)
    accounts = open_accounts(service.url, 6)
    requests = [ReviewRequest(a, service.as_of, "t", f"h{i}") for i, a in enumerate(accounts)]
    reads: list[int] = []
    real = line_review.households_of

    def counting(conn, ids):  # noqa: ANN001, ANN202
        reads.append(len(ids))
        return real(conn, ids)

    monkeypatch.setattr(line_review, "households_of", counting)
    with database.write() as conn:
        locked = review_many(conn, deployment, requests, now=AT)
        conn.rollback()
    with database.read() as conn:
        draft = draft_many(conn, deployment, requests)
    reads.clear()
    with database.write() as conn:
        kept = review_many(conn, deployment, requests, now=AT, draft=draft)
        conn.rollback()
    assert reads == [] and _compared(kept) == _compared(locked)
    with database.write() as conn:  # a load lands (its loads row is what marks it)
        conn.execute(
            loads.insert().values(
                loaded_at=datetime.now(UTC) if conn.dialect.name != "sqlite" else 1,
                source="test",
                counts={},
            )
        )
    with database.write() as conn:
        again = review_many(conn, deployment, requests, now=AT, draft=draft)
    assert reads == [len(accounts)]
    assert _compared(again) == _compared(locked)
    database.dispose()


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
