"""Reviews arriving together are decided in one pass: each gets the answer it would get
alone, duplicates and shared households are handled, nothing is lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from clearline.api import batcher as batcher_module
from clearline.api.batcher import Job
from clearline.api.db import Database
from clearline.services import line_review
from clearline.services.line_review import ReviewRequest
from clearline.store import db
from clearline.store.household import household_ids
from tests.service_support import Service, open_accounts


def _count(svc: Service, table: str) -> int:
    engine = db.make_engine(svc.url)
    with engine.connect() as conn:
        n = conn.execute(sa.text(f"select count(*) from {table}")).scalar_one()
    engine.dispose()
    return int(n)


def test_one_pass_over_many_jobs_answers_each_and_defers_shared_households(
    service: Service,
) -> None:
    app = service.client.app
    batcher = app.state.batcher
    accounts, seen = [], set()
    with app.state.db.read() as conn:
        for a in open_accounts(service.url, 30):
            ids = set(household_ids(conn, a))
            if not ids & seen:  # distinct households, so only the repeat below waits
                accounts.append(a)
                seen |= ids
        first_household = household_ids(conn, accounts[0])
    jobs = [
        Job(ReviewRequest(a, service.as_of, "key:t", f"r{i}"), "t", None, f"d{i}")
        for i, a in enumerate(accounts)
    ]
    jobs.append(Job(ReviewRequest(accounts[0], service.as_of, "key:t", "again"), "t", None, "x"))
    jobs.append(Job(ReviewRequest("NOPE", service.as_of, "key:t", "nope"), "t", None, "y"))
    deferred = batcher._pass(jobs)
    # The repeated account shares its household with the first job: it waits a pass.
    assert deferred == [jobs[-2]]
    assert jobs[-1].future.exception().status == 404
    bodies = [j.future.result(timeout=0)[1] for j in jobs[:-2]]
    for body, job in zip(bodies, jobs[:-2], strict=True):
        assert body["decision"]["account_id"] == job.request.account_id
    assert _count(service, "decisions") == sum(1 + len(b["household"]) for b in bodies)
    # The deferred job, run next, sees the first job's decision as history.
    batcher._pass(deferred)
    status, body, _ = jobs[-2].future.result()
    first = jobs[0].future.result()[1]["decision"]
    assert status == 201 and body["decision"]["old_limit"] == first["new_limit"]
    assert len(first_household) == 1 + len(body["household"])


def test_concurrent_reviews_over_http_are_all_answered_and_recorded_once(
    service: Service,
) -> None:
    accounts = open_accounts(service.url, 16)
    requests = [(a, None) for a in accounts] + [(accounts[0], "same-key")] * 3

    def post(item: tuple[str, str | None]):  # noqa: ANN202
        account, key = item
        extra = {"Idempotency-Key": key} if key else {}
        return service.client.post(
            f"/v1/accounts/{account}/review",
            headers=service.headers("analyst", **extra),
            json={"as_of": service.as_of.isoformat()},
        )

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(post, requests))
    assert [r.status_code for r in responses] == [201] * len(requests), [
        r.text for r in responses if r.status_code != 201
    ]
    replays = [r.json() for r in responses[-3:]]
    assert replays[0] == replays[1] == replays[2]  # one decision for the three retries
    unique = responses[:-3] + responses[-1:]
    assert _count(service, "decisions") == sum(1 + len(r.json()["household"]) for r in unique)
    verdict = service.client.get("/v1/audit/verify", headers=service.headers("admin")).json()
    assert verdict["ok"]


def test_a_pass_that_finds_the_writer_busy_decides_before_locking_and_answers_the_same(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = service.client.app
    batcher = app.state.batcher
    accounts = open_accounts(service.url, 8)
    with app.state.db.read() as conn:
        accounts = [a for a in accounts if household_ids(conn, a) == [a]][:4]  # one-line homes
    requests = [ReviewRequest(a, service.as_of, "key:t", f"r{i}") for i, a in enumerate(accounts)]
    deployment = app.state.deployer.current()
    with app.state.db.write() as conn:
        alone = line_review.review_many(conn, deployment, requests, now=app.state.clock())
        conn.rollback()
    calls: list[int] = []
    real = line_review._decide_inputs
    monkeypatch.setattr(
        line_review,
        "_decide_inputs",
        lambda d, inputs, as_of: calls.append(inputs.height) or real(d, inputs, as_of),
    )
    monkeypatch.setattr(app.state.db, "writer_busy", lambda: True)
    drafts: list[int] = []
    real_draft = batcher_module.draft_many
    monkeypatch.setattr(
        batcher_module,
        "draft_many",
        lambda conn, dep, reqs, **kw: drafts.append(len(reqs)) or real_draft(conn, dep, reqs, **kw),
    )
    jobs = [Job(r, "t", None, f"d{i}") for i, r in enumerate(requests)]
    assert batcher._pass(jobs) == []
    assert drafts == [len(accounts)]
    assert calls == [len(accounts)]  # decided once, in the draft; the write kept it
    for job, expected in zip(jobs, alone, strict=True):
        got = job.future.result(timeout=0)[1]["decision"]
        for k in ("account_id", "action", "old_limit", "new_limit", "score"):
            assert got[k] == expected[0][k], k
        assert ";".join(got["reasons"]) == expected[0]["reasons"]  # stored joined by ";"


def test_the_sqlite_writer_is_busy_only_while_someone_holds_it(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'w.db'}")
    assert not database.writer_busy()
    with database.write():
        assert database.writer_busy()
    assert not database.writer_busy()
    database.dispose()
