"""Loads through the API as an event feed: a day's events for accounts loaded before,
counted once however often they are sent, and refused whole when one names an account
nobody loaded."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from clearline.api.routes import loads as loads_route
from clearline.core.portfolio import portfolio_of
from clearline.store import db
from tests.service_support import Service, Trained, deploy

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


@pytest.mark.postgres
def test_overlapping_loads_take_turns_and_each_answers_and_audits_its_own_row(
    trained: Trained, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL two loads overlap. The one that starts while this one is writing
    waits for it to commit (loads commit in id order, which the workers' snapshots
    rely on: ``load_scope``), and neither is taken for the other (the route used to
    read the newest ``loads`` row)."""
    service = deploy(trained, pg_url, tmp_path)
    body = _days_events(service, 3, "mine")
    account = body["events"][0]["account_id"]
    others = pl.DataFrame(
        {
            "event_id": ["theirs-0", "theirs-1"],
            "account_id": [account] * 2,
            "ts": [datetime(2025, 6, 2, tzinfo=UTC)] * 2,
            "type": ["purchase"] * 2,
            "amount": [5.0, 6.0],
        }
    )
    theirs = portfolio_of(events=others)
    real = loads_route.ingest_into
    other: dict[str, int] = {}
    started = threading.Thread(
        target=lambda: other.update(db.ingest(theirs, pg_url, source="other", migrate=False))
    )

    def while_another_starts(conn, portfolio, **kw):  # noqa: ANN001, ANN003, ANN202
        loaded = real(conn, portfolio, **kw)
        started.start()
        started.join(timeout=1.0)
        assert started.is_alive()  # waiting for this load to commit
        return loaded

    monkeypatch.setattr(loads_route, "ingest_into", while_another_starts)
    r = service.client.post("/v1/loads", headers=service.headers("admin"), json=body)
    service.client.close()
    started.join(timeout=30)
    assert r.status_code == 201, r.text
    assert other["events"] == 2
    mine = r.json()
    assert mine["counts"]["events"] == 3
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            newest = conn.execute(sa.text("select max(id) from loads")).scalar_one()
            subjects = conn.execute(
                sa.text("select subject from audit_log where action = 'load.create'")
            ).scalars()
            audited = list(subjects)
    finally:
        engine.dispose()
    assert mine["load_id"] == newest - 1  # the other load committed after, the newer row
    assert audited.count(f"load:{mine['load_id']}") == 1
    assert f"load:{newest}" not in audited
