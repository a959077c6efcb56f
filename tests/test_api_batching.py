"""Reviews arriving together are decided in one pass: each gets the answer it would get
alone, duplicates and shared households are handled, nothing is lost."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from clearline.api.batcher import Job
from clearline.api.db import Database
from clearline.services import feature_snapshot
from clearline.services.line_review import ReviewRequest
from clearline.store import db
from clearline.store.household import household_ids
from tests.service_support import Service, one_purchase, open_accounts


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


def test_reviews_queued_while_another_writer_holds_sqlite_go_in_one_batch(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The batcher waits for the writer's turn before it takes the queue, so what arrives
    # while the other worker writes is decided in one pass, not in several small ones.
    app = service.client.app
    batcher = app.state.batcher
    accounts = open_accounts(service.url, 8)
    with app.state.db.read() as conn:
        accounts = [a for a in accounts if household_ids(conn, a) == [a]][:4]  # one-line homes
    sizes: list[int] = []
    real = batcher._pass
    monkeypatch.setattr(batcher, "_pass", lambda jobs: sizes.append(len(jobs)) or real(jobs))
    other = Database(service.url)  # the other worker: its own handle on the same file
    with other.writer_turn():
        jobs = [
            batcher.submit(Job(ReviewRequest(a, service.as_of, "key:t", f"r{i}"), "t", None, "x"))
            for i, a in enumerate(accounts)
        ]
        if not service.url.startswith("sqlite"):  # rows are locked, not the file
            assert [j.result(timeout=30)[0] for j in jobs] == [201] * len(accounts)
            other.dispose()
            return
        time.sleep(0.3)
        assert not any(j.done() for j in jobs)  # all waiting for the writer
    answers = [j.result(timeout=30) for j in jobs]
    assert [a[0] for a in answers] == [201] * len(accounts)
    assert sizes == [len(accounts)]
    other.dispose()


def test_a_writer_turn_keeps_sqlite_s_writer_for_its_thread_only(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with database.engine.begin() as conn:
        conn.exec_driver_sql("create table t (x int)")
    other = Database(database.url)
    entered = threading.Event()

    def write_from_the_other_handle() -> None:
        with other.write() as conn:
            entered.set()
            conn.exec_driver_sql("insert into t values (2)")

    with database.writer_turn():
        with database.write() as conn:  # no second lock inside the turn: no deadlock
            conn.exec_driver_sql("insert into t values (1)")
        waiting = threading.Thread(target=write_from_the_other_handle)
        waiting.start()
        assert not entered.wait(0.3)  # the other handle queues behind the turn
    waiting.join(10)
    assert entered.is_set()
    with database.read() as conn:
        assert conn.exec_driver_sql("select x from t order by x").scalars().all() == [1, 2]
    database.dispose()
    other.dispose()


def _reviewed_then_loaded(service: Service, account: str, event_id: str):  # noqa: ANN202
    """Review ``account`` (the worker builds its snapshot), then load one purchase on
    it, which marks its household's rows stale; the load's answer."""
    review = f"/v1/accounts/{account}/review"
    assert service.client.post(review, headers=service.headers("analyst")).status_code == 201
    body = one_purchase(account, event_id)
    loaded = service.client.post("/v1/loads", headers=service.headers("admin"), json=body)
    assert loaded.status_code == 201, loaded.text
    return loaded


def test_the_batcher_builds_its_next_pass_s_stale_rows_before_its_writer_turn(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = service.client.app
    account = open_accounts(service.url, 1)[0]
    review = f"/v1/accounts/{account}/review"
    loaded = _reviewed_then_loaded(service, account, "after-1")
    database = Database(service.url)
    with database.read() as conn:
        household = set(household_ids(conn, account))
    database.dispose()
    stale_at_write: list[set[str]] = []
    write = app.state.db.write

    def watched():  # noqa: ANN202
        stale_at_write.append(household & app.state.snapshot.stale)
        return write()

    monkeypatch.setattr(app.state.db, "write", watched)
    assert service.client.post(review, headers=service.headers("analyst")).status_code == 201
    assert stale_at_write == [set()]
    assert app.state.snapshot.built_for[1] == loaded.json()["load_id"]


def test_a_review_waiting_for_stale_rows_does_not_hold_up_the_others(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = service.client.app
    first, *others = open_accounts(service.url, 40)
    _reviewed_then_loaded(service, first, "stale-1")
    with app.state.db.read() as conn:
        app.state.snapshot.refresh(conn)
        stale = app.state.snapshot.stale
        other = next(a for a in others if stale.isdisjoint(household_ids(conn, a)))
    release, building = threading.Event(), threading.Event()
    real = feature_snapshot.build_features

    def held(p, day):  # noqa: ANN001, ANN202
        building.set()
        release.wait(30)
        return real(p, day)

    monkeypatch.setattr(feature_snapshot, "build_features", held)
    batcher = app.state.batcher
    try:
        waiting = batcher.submit(
            Job(ReviewRequest(first, service.as_of, "key:t", "w"), "t", None, "w")
        )
        assert building.wait(10)  # the builder has the stale rows in hand
        free = batcher.submit(
            Job(ReviewRequest(other, service.as_of, "key:t", "f"), "t", None, "f")
        )
        assert free.result(timeout=10)[0] == 201
        assert not waiting.done()
    finally:
        release.set()
    status, answer, _ = waiting.result(timeout=30)
    assert status == 201 and answer["decision"]["account_id"] == first
    assert first not in app.state.snapshot.stale
