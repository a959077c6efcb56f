"""Loads through the API as an event feed: a day's events for accounts loaded before,
counted once however often they are sent, and refused whole when one names an account
nobody loaded."""

from __future__ import annotations

import json

import polars as pl
import pytest
import sqlalchemy as sa

from tests.service_support import Service

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _stored_events(service: Service) -> int:
    engine = sa.create_engine(service.url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("select count(*) from events")).scalar_one())
    finally:
        engine.dispose()


def _days_events(service: Service, n: int, tag: str) -> dict[str, list[dict]]:
    """``n`` new purchases on the first stored account; no borrower or account rows."""
    listed = service.client.get("/v1/accounts?limit=1", headers=service.headers("admin"))
    account_id = listed.json()["items"][0]["account_id"]
    events = pl.DataFrame(
        {
            "event_id": [f"{tag}-{k}" for k in range(n)],
            "account_id": [account_id] * n,
            "ts": ["2025-06-01T10:00:00+08:00"] * n,
            "type": ["purchase"] * n,
            "amount": [12.5] * n,
            "counterparty": ["shop"] * n,
        }
    )
    return {"borrowers": [], "accounts": [], "events": json.loads(events.write_json())}


def test_a_days_events_load_onto_stored_accounts_and_a_resend_adds_nothing(
    service: Service,
) -> None:
    before = _stored_events(service)
    body = _days_events(service, 3, "day2")
    first = service.client.post("/v1/loads", headers=service.headers("admin"), json=body)
    assert first.status_code == 201, first.text
    assert first.json()["counts"] == {
        "borrowers": 0,
        "accounts": 0,
        "events": 3,
        "links": 0,
        "macro": 0,
    }
    # Sent again without an idempotency key (a feed retrying): the events are known.
    again = service.client.post("/v1/loads", headers=service.headers("admin"), json=body)
    assert again.status_code == 201 and again.json()["counts"]["events"] == 0
    assert _stored_events(service) == before + 3


def test_an_event_for_an_account_nobody_loaded_refuses_the_whole_load(service: Service) -> None:
    before = _stored_events(service)
    body = _days_events(service, 3, "stray")
    body["events"][1]["account_id"] = "NOBODY"
    r = service.client.post("/v1/loads", headers=service.headers("admin"), json=body)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    detail = r.json()["detail"]
    assert "row 2" in detail and "account_id" in detail and "nor already loaded" in detail
    assert _stored_events(service) == before
