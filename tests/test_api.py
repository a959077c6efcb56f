"""The REST API end to end on the test database (SQLite, or PostgreSQL in CI's second
pass): reviews, frozen decisions, scoping, idempotency, problem details, limits."""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa

from clearline.core.policy import load_policy
from clearline.core.scoring.artefact import load_model
from clearline.services.review import review_decisions
from clearline.store import db
from tests.service_support import BASELINE, Service, open_accounts

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _review(svc: Service, account: str, role: str = "analyst", **headers: str):  # noqa: ANN202
    return svc.client.post(
        f"/v1/accounts/{account}/review",
        headers=svc.headers(role, **headers),
        json={"as_of": svc.as_of.isoformat()},
    )


def test_the_openapi_document_is_served_and_every_route_is_versioned(service: Service) -> None:
    doc = service.client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert doc["paths"] and all(p.startswith("/v1/") for p in doc["paths"])


def test_a_review_decides_as_the_batch_review_does_and_is_stored_frozen(
    service: Service, trained
) -> None:  # noqa: ANN001
    accounts = open_accounts(service.url, 12)
    portfolio = db.load_portfolio(service.url)
    model, artefact = load_model(trained.model_dir)
    batch = review_decisions(
        portfolio, service.as_of, model, artefact["model_version"], load_policy(BASELINE)
    )
    for account in accounts:
        r = _review(service, account)
        assert r.status_code == 201, r.text
        got = r.json()["decision"]
        want = batch.filter(pl.col("account_id") == account).row(0, named=True)
        for key in ("action", "new_limit", "grade", "layer", "model_version"):
            assert got[key] == want[key], (account, key)
        assert got["reasons"] == [c for c in want["reasons"].split(";") if c]
        assert got["score"] == pytest.approx(want["score"])
        frozen = service.client.get(
            f"/v1/decisions/{got['decision_id']}", headers=service.headers("reviewer")
        )
        assert frozen.status_code == 200
        assert frozen.json() == got
        assert got["trace"] and len(got["inputs_hash"]) == 64


def test_a_review_changes_the_line_and_the_account_shows_the_latest_decision(
    service: Service,
) -> None:
    for account in open_accounts(service.url, 40):
        r = _review(service, account)
        decision = r.json()["decision"]
        if decision["new_limit"] != decision["old_limit"]:
            break
    else:
        pytest.fail("no review changed a line among 40 accounts")
    shown = service.client.get(f"/v1/accounts/{account}", headers=service.headers("analyst"))
    body = shown.json()
    assert body["credit_limit"] == decision["new_limit"]
    assert body["latest_decision"]["decision_id"] == decision["decision_id"]
    audit = service.client.get("/v1/audit?limit=500", headers=service.headers("admin")).json()
    changes = [e for e in audit if e["action"] == "line.change" and e["subject"] == account]
    assert changes and changes[-1]["payload"]["decision_id"] == decision["decision_id"]


def test_a_replayed_idempotency_key_returns_the_first_response_and_decides_once(
    service: Service,
) -> None:
    account = open_accounts(service.url, 1)[0]
    first = _review(service, account, **{"Idempotency-Key": "review-1"})
    again = _review(service, account, **{"Idempotency-Key": "review-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotency-Replayed") == "true"
    listed = service.client.get(
        f"/v1/accounts/{account}/decisions", headers=service.headers("analyst")
    ).json()
    assert len(listed["items"]) == 1


def test_an_idempotency_key_reused_for_another_request_is_a_conflict(service: Service) -> None:
    a, b = open_accounts(service.url, 2)
    assert _review(service, a, **{"Idempotency-Key": "k"}).status_code == 201
    r = _review(service, b, **{"Idempotency-Key": "k"})
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")


def test_a_borrower_sees_only_its_own_accounts_and_decisions(service: Service) -> None:
    mine = service.client.get("/v1/accounts", headers=service.headers("borrower")).json()
    assert mine["items"] and {a["borrower_id"] for a in mine["items"]} == {service.borrower_id}
    other = service.client.get(
        f"/v1/accounts?borrower_id={service.other_borrower_id}",
        headers=service.headers("borrower"),
    ).json()
    assert other["items"] == []
    theirs = service.client.get("/v1/accounts", headers=service.headers("other_borrower")).json()[
        "items"
    ][0]["account_id"]
    hidden = service.client.get(f"/v1/accounts/{theirs}", headers=service.headers("borrower"))
    assert hidden.status_code == 404
    decision = _review(service, theirs).json()["decision"]["decision_id"]
    assert (
        service.client.get(
            f"/v1/decisions/{decision}", headers=service.headers("borrower")
        ).status_code
        == 404
    )
    assert (
        service.client.get(
            f"/v1/decisions/{decision}", headers=service.headers("other_borrower")
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer nonsense"}, 401),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
    ],
)
def test_requests_without_a_valid_key_are_refused_with_a_problem(
    service: Service, headers: dict, status: int
) -> None:
    r = service.client.get("/v1/accounts", headers=headers)
    assert r.status_code == status
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]


def test_a_revoked_key_stops_working(service: Service) -> None:
    from clearline.api.db import Database
    from clearline.store import keys
    from tests.service_support import NOW

    database = Database(service.url)
    with database.write() as conn:
        who, token = keys.create(conn, role="analyst", at=NOW)
    ok = service.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    with database.write() as conn:
        keys.revoke(conn, who.key_id, at=NOW)
    database.dispose()
    gone = service.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/v1/accounts/NOPE/review", {}, 404),
        ("/v1/accounts/{a}/review", {"as_of": "2999-01-01"}, 422),
        ("/v1/accounts/{a}/review", {"as_of": "yesterday"}, 422),
        ("/v1/accounts/{a}/review", {"as_of": "1990-01-01"}, 422),
        ("/v1/accounts/{a}/review", {"unknown": 1}, 422),
        ("/v1/accounts/{a}/review", [1, 2], 422),
    ],
)
def test_bad_review_requests_get_a_4xx_problem_and_write_nothing(
    service: Service, path: str, body: object, status: int
) -> None:
    a = open_accounts(service.url, 1)[0]
    r = service.client.post(path.format(a=a), headers=service.headers("analyst"), json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in r.text
    engine = db.make_engine(service.url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from decisions")).scalar_one() == 0
    engine.dispose()


def test_a_body_over_the_size_limit_is_refused_before_it_is_read(service: Service) -> None:
    big = b'{"yaml": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    r = service.client.post(
        "/v1/policies",
        headers=service.headers("admin", **{"content-type": "application/json"}),
        content=big,
    )
    assert r.status_code == 413
    assert r.json()["status"] == 413


def test_page_size_is_capped(service: Service) -> None:
    r = service.client.get("/v1/accounts?limit=501", headers=service.headers("analyst"))
    assert r.status_code == 422
    ok = service.client.get("/v1/accounts?limit=500", headers=service.headers("analyst"))
    assert ok.status_code == 200 and len(ok.json()["items"]) <= 500


def test_a_query_parameter_given_twice_is_refused_naming_it(service: Service) -> None:
    analyst = service.headers("analyst")
    r = service.client.get("/v1/accounts?offset=5&limit=2&offset=0", headers=analyst)
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == "query.offset: given more than once"
    assert service.client.get("/v1/accounts?offset=0&limit=2", headers=analyst).status_code == 200


def test_every_write_through_the_api_leaves_a_verifiable_audit_chain(service: Service) -> None:
    for account in open_accounts(service.url, 5):
        assert _review(service, account).status_code == 201
    verdict = service.client.get("/v1/audit/verify", headers=service.headers("admin")).json()
    assert verdict["ok"] is True and verdict["entries"] >= 5 + 5  # keys + decisions


def test_the_key_cache_answers_within_its_ttl_and_reads_the_database_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import clearline.api.auth as auth_module
    from clearline.api.auth import KeyCache
    from clearline.store.keys import Principal

    reads: list[str] = []

    class FakeDb:
        def read(self):  # noqa: ANN202
            from contextlib import nullcontext

            reads.append("read")
            return nullcontext(None)

    who = Principal(key_id="k1", role="analyst", borrower_id=None)
    clock = [100.0]
    cache = KeyCache(ttl=2.0)
    cache._clock = lambda: clock[0]
    fake = lambda conn, token: who if token == "good" else None  # noqa: E731
    monkeypatch.setattr(auth_module.keys, "authenticate", fake)
    assert cache.cached("good") is None  # nothing looked up yet
    assert cache.get("good", FakeDb()) == who and reads == ["read"]
    clock[0] = 101.9
    assert cache.cached("good") == who  # within the ttl: no database read
    clock[0] = 102.1
    assert cache.cached("good") is None  # expired: the next check reads again
    assert cache.get("bad", FakeDb()) is None and cache.cached("bad") is None
    never = KeyCache(ttl=0.0)
    never.get("good", FakeDb())
    assert never.cached("good") is None  # ttl 0: every request reads the database
