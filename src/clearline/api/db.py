"""The service's database handle: short read transactions, write transactions, and the
idempotency record that makes a replayed write return the first response."""

from __future__ import annotations

import fcntl
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from clearline.api.problems import ProblemError
from clearline.api.wal import WalCheckpoints
from clearline.store.db import make_engine
from clearline.store.service_tables import idempotency


class Database:
    def __init__(self, url: str, *, checkpoint_every_s: float = 0.05) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._turn = threading.local()  # .held: this thread is inside writer_turn()
        self._wal = (
            WalCheckpoints(self.engine, every_s=checkpoint_every_s)
            if self._writer_lock_path() is not None
            else None
        )

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        with self._queue_for_sqlite_writes():
            with self.engine.connect().execution_options(clearline_write=True) as conn:
                with conn.begin():
                    yield conn

    @contextmanager
    def writer_turn(self) -> Iterator[None]:
        """Wait for SQLite's one writer and keep it: this thread's writes inside then
        take no lock of their own. Elsewhere (rows are locked, not the file) a no-op."""
        with self._queue_for_sqlite_writes():
            before, self._turn.held = getattr(self._turn, "held", False), True
            try:
                yield
            finally:
                self._turn.held = before

    def _writer_lock_path(self) -> str | None:
        path = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not path or path == ":memory:":
            return None
        return f"{path}.writer-lock"

    @contextmanager
    def _queue_for_sqlite_writes(self) -> Iterator[None]:
        """SQLite has one writer at a time, and a writer that finds the database locked
        polls with sleeps of up to 100 ms: under load, workers starve each other. A
        blocking file lock makes them queue and wakes the next one at once."""
        lock = self._writer_lock_path()
        if lock is None or getattr(self._turn, "held", False):
            yield
            return
        with open(lock, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
                if self._wal is not None:
                    self._wal.before_release()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        if self._wal is not None:  # see clearline.api.wal
            self._wal.after_release()

    def dispose(self) -> None:
        if self._wal is not None:
            self._wal.close()
        self.engine.dispose()


def request_digest(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def stored_answer(
    conn: sa.Connection, key_id: str, idem_key: str, digest: str
) -> tuple[int, Any, bool] | None:
    """The stored response of an earlier request with this key (``replayed`` True), None
    when there is none; a 409 problem when the key was used for another request."""
    row = conn.execute(
        sa.select(idempotency).where(
            idempotency.c.key_id == key_id, idempotency.c.idem_key == idem_key
        )
    ).first()
    if row is None:
        return None
    if row.request_sha256 != digest:
        raise ProblemError(
            409, "Idempotency-Key reused", "this Idempotency-Key was used for a different request"
        )
    return row.status_code, json.loads(row.body), True


def store_answer(
    conn: sa.Connection,
    key_id: str,
    idem_key: str,
    digest: str,
    answer: tuple[int, Any],
    now: datetime,
) -> None:
    conn.execute(
        idempotency.insert().values(
            key_id=key_id,
            idem_key=idem_key,
            request_sha256=digest,
            status_code=answer[0],
            body=json.dumps(answer[1], default=str),
            created_at=now,
        )
    )


def idempotent_write(
    db: Database,
    *,
    key_id: str,
    idem_key: str | None,
    digest: str,
    now: datetime,
    work: Callable[[sa.Connection], tuple[int, Any]],
) -> tuple[int, Any, bool]:
    """Run ``work`` in one write transaction; with an Idempotency-Key, store its response
    in the same transaction, and answer a replay with the stored response instead.
    Returns ``(status, body, replayed)``."""
    for attempt in (1, 2):
        try:
            with db.write() as conn:
                if idem_key is not None:
                    stored = stored_answer(conn, key_id, idem_key, digest)
                    if stored is not None:
                        return stored
                status, body = work(conn)
                if idem_key is not None:
                    store_answer(conn, key_id, idem_key, digest, (status, body), now)
                return status, body, False
        except sa.exc.IntegrityError:
            # Two requests with the same key raced; the loser replays the winner's answer.
            if attempt == 2 or idem_key is None:
                raise
    raise AssertionError("unreachable")
