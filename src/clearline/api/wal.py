"""The service copies SQLite's write-ahead log into the database after a write has let go
of the writer's turn, not inside the commit that holds it.

SQLite's automatic checkpoint runs inside the commit that takes the log past 1,000
pages. With ``synchronous=NORMAL`` it syncs the log and the database file to disk, about
10 ms on this machine, while the writer's turn is held and the other worker waits (in
process, a 16-review pass's commit took 0.6 ms at the median and 11 ms at the 90th
percentile). So the service's own connections switch it off, and each write, once it
has let go of the turn, asks for a passive checkpoint if the last one is ``every_s``
old. A thread of its own runs it, so the copy and the syncs overlap the other worker's
pass and this worker's next one (sqlite3 lets go of the interpreter lock while it
works). When the writing thread ran it, a checkpoint of about 4 ms held up the review
batcher's next turn about every other pass under load, and the answer of a plain write
(a load, a key).

A passive checkpoint copies what is committed and leaves the log where it is; the log
starts again from its beginning only when a write finds it wholly copied. With two
workers one is nearly always writing while the other checkpoints, so that seldom
happens and the log would grow. Once a checkpoint finds more than ``limit_frames``
pages in the log, the next write checkpoints before it lets go of the turn, when no one
else can write, and the write after it starts the log again.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any

import sqlalchemy as sa

log = logging.getLogger(__name__)


class WalCheckpoints:
    def __init__(self, engine: sa.Engine, *, every_s: float = 0.05, limit_frames: int = 4000):
        self._path = str(engine.url.database)
        self.every_s, self.limit_frames = every_s, limit_frames
        self._last = float("-inf")
        self.frames = 0  # pages in the log at the last checkpoint, copied or not
        # A connection of its own, not one from the pool: a checkpoint is never worth
        # waiting for a pooled connection that requests need.
        self._conn: sqlite3.Connection | None = None
        self._running = threading.Lock()
        # Checkpoints asked for and done, counted, so a wait sees every one through.
        self._asked = self._done = 0
        self._changed = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        sa.event.listen(engine, "connect", _no_automatic_checkpoint)

    def before_release(self) -> None:
        """While the writer's turn is still held: checkpoint if the log grew too long."""
        if self.frames > self.limit_frames:
            self.run()

    def after_release(self) -> None:
        """Once the turn is let go: ask the checkpointer thread for a checkpoint if the
        last one is old enough."""
        if time.monotonic() - self._last < self.every_s:
            return
        self._last = time.monotonic()  # spaced from the asking: one per interval
        with self._changed:
            if self._closed:
                return
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._checkpointer, name="wal-checkpoint", daemon=True
                )
                self._thread.start()
            self._asked += 1
            self._changed.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every checkpoint asked for is done (False on timeout)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._done == self._asked, timeout)

    def _checkpointer(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._done < self._asked or self._closed)
                if self._closed:
                    return
                asked = self._asked  # one checkpoint serves every ask made before it
            try:
                self.run()
            except Exception:  # noqa: BLE001 - a dead thread would stop every later checkpoint
                log.warning("WAL checkpoint failed", exc_info=True)
            finally:
                with self._changed:
                    self._done = asked
                    self._changed.notify_all()

    def run(self) -> None:
        if not self._running.acquire(blocking=False):
            return  # another thread of this process is checkpointing
        try:
            self._last = time.monotonic()
            if self._conn is None:
                self._conn = sqlite3.connect(
                    self._path, isolation_level=None, check_same_thread=False
                )
            _busy, frames, _copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # the write before it has committed: never fail it
            log.warning("WAL checkpoint failed: %s", exc)
            return
        finally:
            self._running.release()
        if frames >= 0:  # -1: another process was checkpointing
            self.frames = frames

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()
        with self._running:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _no_automatic_checkpoint(dbapi: Any, _record: Any) -> None:
    dbapi.execute("PRAGMA wal_autocheckpoint=0")
