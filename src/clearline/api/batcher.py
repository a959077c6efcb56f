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

After a load, the feature rows it may have changed are built again by a second thread
per worker (see :meth:`ReviewBatcher._build`), beside the passes: only the requests
whose households have such rows wait for it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clearline.api.db import Database, store_answer, stored_answer
from clearline.api.problems import ProblemError, not_found
from clearline.api.schemas import DecisionRead, ReviewRead
from clearline.services.deployment import Deployer, NotDeployable
from clearline.services.household_index import HouseholdIndex
from clearline.services.line_review import (
    Deferred,
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
        members: HouseholdIndex | None = None,
        max_batch: int = 64,
    ) -> None:
        self._db, self._deployer, self._snapshot, self._clock = db, deployer, snapshot, clock
        self._members = members
        self._max = max_batch
        self._queue: deque[Job] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        # The accounts of held-back requests' households, for the builder; guarded by
        # ``_ready``.
        self._wanted: list[str] = []
        self._wake = threading.Event()
        self._builder: threading.Thread | None = None
        self._builder_failed = False

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
            if not self._takeable():
                with self._ready:  # every queued request waits for the builder
                    self._ready.wait(0.05)
                continue
            try:
                with self._db.writer_turn():
                    jobs = self._take()
                    if jobs:
                        self._run(jobs)
            except Exception as exc:  # noqa: BLE001 - the turn itself failed: answer, never hang
                for job in self._take():
                    job.future.set_exception(exc)

    def _catch_up(self) -> None:
        """Bring the feature snapshot (marking the rows loads may have changed) and the
        household index up to the newest load before the pass waits for its turn at the
        writer; after a load without a scope that is a whole build, seconds, which
        inside the pass would hold the one SQLite writer from every other pass."""
        if self._snapshot is None or self._members is None:
            return
        try:
            with self._db.read() as conn:
                self._members(conn, [])
                self._snapshot.refresh(conn)
        except Exception:  # noqa: BLE001 - the pass brings them up to date itself, or reports
            log.warning("could not bring the snapshot up to date before a pass", exc_info=True)
            return
        if self._snapshot.stale:
            self._start_builder()

    def _held_back(self) -> set[str]:
        """The queued requests (by account) whose households have stale feature rows,
        left queued while the builder thread makes them: a build takes tens of
        milliseconds, which inside a pass would hold every other request of the batch
        and, on SQLite, the one writer. (Not under ``_ready``: the snapshot's lock may
        be held by a whole build, and ``submit`` must never wait for one.)"""
        if self._snapshot is None or self._members is None or self._builder_failed:
            return set()
        stale = self._snapshot.stale
        if not stale:
            return set()
        with self._ready:
            asked = [j.request.account_id for j in self._queue]
        households = self._members.held(asked)
        waiting = {a: ids for a, ids in households.items() if not stale.isdisjoint(ids)}
        if waiting:
            with self._ready:
                self._wanted = sorted({a for ids in waiting.values() for a in ids})
            self._start_builder()
            self._wake.set()
        return set(waiting)

    def _takeable(self) -> bool:
        held = self._held_back()
        with self._ready:
            return any(j.request.account_id not in held for j in self._queue)

    def _take(self) -> list[Job]:
        held = self._held_back()
        with self._ready:
            taken: list[Job] = []
            left: deque[Job] = deque()
            for job in self._queue:
                if len(taken) < self._max and job.request.account_id not in held:
                    taken.append(job)
                else:
                    left.append(job)
            self._queue = left
            return taken

    def _start_builder(self) -> None:
        if self._builder is None:
            self._builder = threading.Thread(target=self._build, name="stale-rows", daemon=True)
            self._builder.start()

    def _build(self) -> None:
        """The builder thread: makes stale feature rows while passes go on (polars and
        the database driver let go of the interpreter lock while they work), at once
        when a queued request waits for them, else once they have settled."""
        assert self._snapshot is not None
        while True:
            self._wake.wait(timeout=0.1)
            self._wake.clear()
            if not self._snapshot.stale:
                continue
            with self._ready:
                wanted = list(self._wanted)
            try:
                with self._db.read() as conn:
                    self._snapshot.warm(conn, wanted)
                self._builder_failed = False
            except Exception:  # noqa: BLE001 - held-back requests then build their own rows
                log.warning("could not build stale feature rows", exc_info=True)
                self._builder_failed = True
            with self._ready:
                self._ready.notify_all()

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
