"""The review shortcut (``api/review_shortcut.py``) answers what the FastAPI route would:
the same requests sent to an app with it and to one without it get the same status and
body, and hand the batcher the same job; the common case really takes the shortcut,
and everything else is passed on to the FastAPI route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clearline.api import Settings, create_app, review_shortcut
from clearline.api.batcher import Job
from tests.service_support import Service, Trained, deploy, open_accounts

ANSWER = {"decision": {"account_id": "x"}, "household": []}


class Recorder:
    """Stands in for the review batcher: records each job, answers at once."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def submit(self, job: Job) -> Future[tuple[int, Any, bool]]:
        self.jobs.append(job)
        done: Future[tuple[int, Any, bool]] = Future()
        done.set_result((201, ANSWER, False))
        return done


@dataclass
class Pair:
    svc: Service
    clients: dict[bool, TestClient]  # with the shortcut or not
    recorders: dict[bool, Recorder]
    account: str


def _app(svc: Service, *, shortcut: bool, recorder: Recorder | None) -> TestClient:
    app = create_app(
        Settings(
            db_url=svc.url,
            registry=svc.registry,
            policies=svc.policies,
            clock=svc.client.app.state.clock,
            key_cache_seconds=600,  # the shortcut serves cached keys only
            review_shortcut=shortcut,
        )
    )
    if recorder is not None:
        app.state.batcher = recorder
    client = TestClient(app, raise_server_exceptions=False)
    for role in ("analyst", "admin", "reviewer", "borrower"):  # fill the key cache
        assert client.get("/v1/me", headers=svc.headers(role)).status_code == 200
    return client


@pytest.fixture
def pair(trained: Trained, db_url: str, tmp_path: Path) -> Iterator[Pair]:
    svc = deploy(trained, db_url, tmp_path)
    recorders = {True: Recorder(), False: Recorder()}
    clients = {s: _app(svc, shortcut=s, recorder=recorders[s]) for s in (True, False)}
    yield Pair(svc, clients, recorders, open_accounts(svc.url, 1)[0])
    for c in clients.values():
        c.close()
    svc.client.close()


def _cases(p: Pair) -> dict[str, tuple[dict[str, Any], bool]]:
    """name -> (request, whether the shortcut serves it)."""
    day = p.svc.as_of.isoformat()
    json_type = {"content-type": "application/json"}
    path = f"/v1/accounts/{p.account}/review"

    def req(
        role: str | None = "analyst",
        body: Any = None,
        raw: bytes | None = None,
        url: str = path,
        headers: dict[str, str] | None = None,
        typed: bool = True,  # a JSON content type with any body, unless headers say another
    ) -> dict[str, Any]:
        sent = {} if role is None else p.svc.headers(role)
        content = raw if raw is not None else None if body is None else json.dumps(body).encode()
        if content and typed:
            sent.update(json_type)
        sent.update(headers or {})
        return {"url": url, "headers": sent, "content": content}

    long_id = "a" * 201
    return {
        "as_of in the body": (req(body={"as_of": day}), True),
        "no body, admin": (req("admin"), True),
        "empty object": (req(body={}), True),
        "as_of null": (req(body={"as_of": None}), True),
        "JSON null": (req(raw=b"null"), True),
        "empty body with a JSON type": (req(raw=b"", headers=json_type), True),
        "Idempotency-Key": (req(body={"as_of": day}, headers={"Idempotency-Key": "k-1"}), True),
        "lower-case scheme": (
            req(None, body={}, headers={"Authorization": f"bearer {p.svc.tokens['analyst']}"}),
            True,
        ),
        "unknown account (the batcher's to refuse)": (req(url="/v1/accounts/NOPE/review"), True),
        "as_of in the future": (
            req(body={"as_of": (p.svc.as_of + timedelta(days=4000)).isoformat()}),
            True,
        ),
        "reviewer may not review": (req("reviewer"), False),
        "borrower may not review": (req("borrower"), False),
        "no key": (req(None), False),
        "basic scheme": (req(None, headers={"Authorization": "Basic abc"}), False),
        "unknown key": (req(None, headers={"Authorization": "Bearer nope"}), False),
        "id too long": (req(url=f"/v1/accounts/{long_id}/review"), False),
        "NUL in the id": (req(url="/v1/accounts/a%00b/review"), False),
        "empty Idempotency-Key": (req(headers={"Idempotency-Key": ""}), False),
        "long Idempotency-Key": (req(headers={"Idempotency-Key": "k" * 201}), False),
        "as_of before 1900": (req(body={"as_of": "1899-12-31"}), False),
        "unknown field": (req(body={"x": 1}), False),
        "as_of a number": (req(body={"as_of": 20000}), False),
        "a list": (req(body=[]), False),
        "not JSON": (req(raw=b"{as_of"), False),
        "text/plain": (req(body={"as_of": day}, headers={"content-type": "text/plain"}), False),
        "JSON with a charset": (
            req(body={"as_of": day}, headers={"content-type": "application/json; charset=utf-8"}),
            False,
        ),
        "no content type": (req(raw=b"{}", typed=False), False),
        "a query parameter, ignored": (req(url=f"{path}?x=1"), True),
        "a query parameter given twice": (req(url=f"{path}?x=1&x=2"), False),
    }


def _job(job: Job) -> tuple[Any, ...]:
    r = job.request  # the request id is random: everything else must agree
    return (r.account_id, r.as_of, r.actor, job.key_id, job.idem_key, job.digest)


def test_every_request_gets_the_same_answer_and_job_with_and_without_the_shortcut(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    passed_on: list[str] = []
    real = review_shortcut._pass_on

    async def counting(scope, body, receive, send):  # noqa: ANN001, ANN202
        passed_on.append(scope["path"])
        await real(scope, body, receive, send)

    monkeypatch.setattr(review_shortcut, "_pass_on", counting)
    for name, (request, served) in _cases(pair).items():
        answers = {}
        for shortcut, client in pair.clients.items():
            before, jobs = len(passed_on), pair.recorders[shortcut].jobs
            n = len(jobs)
            got = client.post(**request)
            job = _job(jobs[-1]) if len(jobs) > n else None
            answers[shortcut] = (got.status_code, got.json(), job)
            if shortcut:
                assert (len(passed_on) == before) == served, f"{name}: shortcut {served}"
        assert answers[True] == answers[False], name
        assert answers[True][0] in (201, 401, 403, 422), name


def test_a_review_through_the_shortcut_is_decided_stored_and_replayed(
    trained: Trained, db_url: str, tmp_path: Path
) -> None:
    svc = deploy(trained, db_url, tmp_path)
    client = _app(svc, shortcut=True, recorder=None)
    account = open_accounts(svc.url, 1)[0]
    headers = svc.headers("analyst", **{"Idempotency-Key": "once"})
    body = {"as_of": svc.as_of.isoformat()}
    first = client.post(f"/v1/accounts/{account}/review", json=body, headers=headers)
    assert first.status_code == 201, first.text
    decision = first.json()["decision"]
    assert decision["account_id"] == account
    stored = client.get(f"/v1/decisions/{decision['decision_id']}", headers=svc.headers("analyst"))
    assert stored.status_code == 200 and stored.json()["action"] == decision["action"]
    again = client.post(f"/v1/accounts/{account}/review", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotency-Replayed"] == "true"
    assert again.json() == first.json()
    client.close()
    svc.client.close()
