"""Reviews that arrive together are decided together.

Each worker runs one batcher thread. A review request is queued with a future; the
thread takes everything queued (up to ``max_batch``), reviews it with
:func:`~clearline.services.line_review.review_many` in one write transaction, stores
each idempotent response in the same transaction, commits, then answers every request.
On SQLite, which has one writer, the thread first waits for the writer's turn and only
then takes the queue: while the other worker writes, this one's event loop keeps
accepting requests, which then go in one batch instead of several small ones. (Deciding
ahead from an unlocked read and checking again under the lock, as an earlier version
did, cost more CPU than it saved: 2.5-2.7 against 1.8-2.0 ms per review, measured with
``benchmarks/bench_api_load.py``.)

An idle service decides a request as soon as it arrives (a batch of one). Under load,
requests that arrive while a batch is being decided share the next one, so the fixed
cost of a pass (locking, scoring, deciding, committing) is paid once per batch rather
than once per request. A request whose household is already in the batch waits for the
next one, so it sees this batch's decisions; a request that breaks a batch is retried
alone, so it cannot take others down with it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from clearline.api.db import Database, store_answer, stored_answer
from clearline.api.problems import ProblemError, not_found
from clearline.api.schemas import DecisionRead, ReviewRead
from clearline.services.deployment import Deployer, NotDeployable
from clearline.services.line_review import (
    Deferred,
    MemberSource,
    NotReviewable,
    ReviewRequest,
    UnknownAccount,
    review_many,
)
from clearline.store import decisions

#: (status, JSON body, replayed)
Answer = tuple[int, Any, bool]


log = logging.getLogger("clearline.api")


@dataclass
class Job:
    request: ReviewRequest
    key_id: str
    idem_key: str | None
    digest: str
    future: Future[Answer] = field(default_factory=Future)


class ReviewBatcher:
    def __init__(
        self,
        db: Database,
        deployer: Deployer,
        snapshot: Any,
        clock: Callable[[], datetime],
        *,
        members: MemberSource | None = None,
        max_batch: int = 64,
    ) -> None:
        self._db, self._deployer, self._snapshot, self._clock = db, deployer, snapshot, clock
        self._members = members
        self._max = max_batch
        self._queue: deque[Job] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, job: Job) -> Future[Answer]:
        with self._ready:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="reviews", daemon=True)
                self._thread.start()
            self._queue.append(job)
            self._ready.notify()
        return job.future

    def _loop(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
            self._catch_up()
            try:
                with self._db.writer_turn():
                    self._run(self._take())
            except Exception as exc:  # noqa: BLE001 - the turn itself failed: answer, never hang
                for job in self._take():
                    job.future.set_exception(exc)

    def _catch_up(self) -> None:
        """Bring the feature snapshot and the household index up to the newest load,
        with the rows the next pass will read, before the pass waits for its turn at the
        writer. After a load that takes tens of milliseconds (a whole build, seconds),
        which inside the pass would hold the one SQLite writer from every other pass and
        load; the pass then finds them current, or a load newer at most."""
        if self._snapshot is None or self._members is None:
            return
        try:
            with self._db.read() as conn:
                self._members(conn, [])
                self._snapshot.warm(conn)
                if self._snapshot.stale:
                    with self._ready:
                        asked = [j.request.account_id for j in islice(self._queue, self._max)]
                    households = self._members(conn, asked).values()
                    self._snapshot.warm(conn, [a for ids in households for a in ids])
        except Exception:  # noqa: BLE001 - the pass brings them up to date itself, or reports
            log.warning("could not bring the snapshot up to date before a pass", exc_info=True)

    def _take(self) -> list[Job]:
        with self._ready:
            return [self._queue.popleft() for _ in range(min(self._max, len(self._queue)))]

    def _run(self, jobs: list[Job]) -> None:
        try:
            deferred = self._pass(jobs)
        except Exception as exc:  # noqa: BLE001 - answered below, never lost
            if len(jobs) == 1:
                jobs[0].future.set_exception(exc)
                return
            for job in jobs:  # find the one that broke the batch; the others go through
                self._run([job])
            return
        if deferred:
            with self._ready:
                self._queue.extendleft(reversed(deferred))
                self._ready.notify()

    def _pass(self, jobs: list[Job]) -> list[Job]:
        """One transaction for the batch; returns the jobs to run in the next one."""
        try:
            deployment = self._deployer.current()
        except (NotDeployable, ValueError) as exc:
            for job in jobs:
                job.future.set_exception(ProblemError(503, "Not deployable", str(exc)))
            return []
        now = self._clock()
        answers: list[tuple[Job, Answer | Exception]] = []
        deferred: list[Job] = []
        with self._db.write() as conn:
            fresh, keys = [], set()
            for job in jobs:
                if job.idem_key is None:
                    fresh.append(job)
                elif (job.key_id, job.idem_key) in keys:
                    deferred.append(job)  # same key twice in a batch: replay it next time
                else:
                    keys.add((job.key_id, job.idem_key))
                    try:
                        stored = stored_answer(conn, job.key_id, job.idem_key, job.digest)
                    except ProblemError as exc:
                        answers.append((job, exc))
                        continue
                    if stored is None:
                        fresh.append(job)
                    else:
                        answers.append((job, stored))
            outcomes = review_many(
                conn,
                deployment,
                [j.request for j in fresh],
                now=now,
                snapshot=self._snapshot,
                members=self._members,
            )
            for job, out in zip(fresh, outcomes, strict=True):
                if isinstance(out, Deferred):
                    deferred.append(job)
                elif isinstance(out, UnknownAccount):
                    answers.append((job, not_found("account", job.request.account_id)))
                elif isinstance(out, NotReviewable):
                    answers.append((job, ProblemError(422, "Not reviewable", str(out))))
                elif isinstance(out, Exception):
                    raise out
                else:
                    reads = [DecisionRead(**decisions.readable(r)) for r in out]
                    body = ReviewRead(decision=reads[0], household=reads[1:])
                    answer = (201, body.model_dump(mode="json"), False)
                    if job.idem_key is not None:
                        store_answer(conn, job.key_id, job.idem_key, job.digest, answer[:2], now)
                    answers.append((job, answer))
        for job, answer in answers:  # only after the commit
            if isinstance(answer, Exception):
                job.future.set_exception(answer)
            else:
                job.future.set_result(answer)
        return deferred
