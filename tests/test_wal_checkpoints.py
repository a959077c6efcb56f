"""The service's WAL checkpoints run after a write lets go of SQLite's writer, on a thread
of their own, and the log stays bounded when the other worker is always writing
(clearline.api.wal)."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from clearline.api.db import Database
from clearline.api.wal import WalCheckpoints
from clearline.store.db import make_engine

PAGE = 4096


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE scratch (id INTEGER PRIMARY KEY, blob BLOB)")
    engine.dispose()
    return url


def _insert(db: Database, pages: int = 3) -> None:
    with db.write() as conn:
        conn.exec_driver_sql("INSERT INTO scratch (blob) VALUES (?)", (os.urandom(pages * PAGE),))


def _service(url: str, every_s: float = 0.05) -> tuple[Database, WalCheckpoints]:
    """The service's database handle on ``url`` and its checkpoints."""
    db = Database(url, checkpoint_every_s=every_s)
    assert db._wal is not None
    return db, db._wal


def _lock_held(db: Database) -> bool:
    with open(f"{db.engine.url.database}.writer-lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _wal_frames(url: str) -> int:
    """The most pages the log ever held: its file is reused from the start, not cut."""
    size = Path(f"{sa.make_url(url).database}-wal").stat().st_size
    return max(0, (size - 32) // (24 + PAGE))


def test_the_service_switches_off_sqlites_own_checkpoints(url: str) -> None:
    db = Database(url)
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    db.dispose()
    other = make_engine(url)  # the CLI and other processes keep SQLite's default
    with other.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    other.dispose()


def test_a_checkpoint_runs_once_the_writer_is_let_go(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(url, checkpoint_every_s=0.0)
    seen: list[bool] = []
    run = db._wal.run  # type: ignore[union-attr]
    monkeypatch.setattr(db._wal, "run", lambda: (seen.append(_lock_held(db)), run()))
    _insert(db)
    assert db._wal.wait_idle(5)  # type: ignore[union-attr]
    assert seen == [False]
    with db.writer_turn():  # a batch: its writes inside, the checkpoint after the turn
        _insert(db)
        _insert(db)
        assert db._wal.wait_idle(5)  # type: ignore[union-attr]
        assert seen == [False]
    assert db._wal.wait_idle(5)  # type: ignore[union-attr]
    assert seen == [False, False]
    db.dispose()


def test_a_write_does_not_wait_for_its_checkpoint(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, wal = _service(url, 0.0)
    started, release = threading.Event(), threading.Event()
    run = wal.run

    def slow() -> None:
        started.set()
        release.wait(10)
        run()

    monkeypatch.setattr(wal, "run", slow)
    writer = threading.Thread(target=_insert, args=(db,))
    writer.start()
    assert started.wait(5)
    writer.join(5)
    returned_first = not writer.is_alive()
    release.set()
    writer.join()
    assert returned_first, "the write waited for its checkpoint"
    assert wal.wait_idle(5)
    db.dispose()


def test_checkpoints_are_spaced_by_the_interval(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(url, checkpoint_every_s=3600.0)
    calls: list[int] = []
    run = db._wal.run  # type: ignore[union-attr]
    monkeypatch.setattr(db._wal, "run", lambda: (calls.append(1), run()))
    for _ in range(5):
        _insert(db)
    assert db._wal.wait_idle(5)  # type: ignore[union-attr]
    assert calls == [1]  # the first write's; the next is due in an hour
    db.dispose()


def test_a_long_log_is_checkpointed_before_the_writer_is_let_go(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, wal = _service(url, 3600.0)
    _insert(db)  # its checkpoint after the turn; the next is due in an hour
    assert wal.wait_idle(5)
    seen: list[bool] = []
    run = wal.run
    monkeypatch.setattr(wal, "run", lambda: (seen.append(_lock_held(db)), run()))
    wal.frames = wal.limit_frames + 1
    _insert(db)
    assert seen == [True]
    _insert(db)  # wholly copied: this write starts the log again from its beginning
    wal.run()
    assert wal.frames <= 10, wal.frames
    db.dispose()


@pytest.mark.parametrize("bounded", [True, False])
def test_the_log_stays_bounded_while_the_other_worker_always_writes(
    url: str, bounded: bool
) -> None:
    # Two workers; each one's checkpoint runs while the other writes (called here by
    # hand, at that moment, so the interleaving is the same on every run).
    a, b = Database(url, checkpoint_every_s=3600.0), Database(url, checkpoint_every_s=3600.0)
    limit = 60 if bounded else 10**9
    for db in (a, b):
        db._wal.limit_frames = limit  # type: ignore[union-attr]
    for db in (a, b):  # each one's first write asks its thread for a checkpoint, the
        _insert(db)  # last for an hour: done before the hand-called ones begin
        assert db._wal.wait_idle(5)  # type: ignore[union-attr]
    for _ in range(40):
        for me, other in ((a, b), (b, a)):
            with me.write() as conn:
                conn.exec_driver_sql(
                    "INSERT INTO scratch (blob) VALUES (?)", (os.urandom(3 * PAGE),)
                )
                other._wal.run()  # type: ignore[union-attr]
    frames = _wal_frames(url)
    if bounded:
        assert frames <= limit + 20, frames
    else:  # without the checkpoint inside the turn, the log only grows
        assert frames > 200, frames
    a.dispose()
    b.dispose()


def test_a_checkpoint_already_running_in_the_process_is_not_waited_for(url: str) -> None:
    db, wal = _service(url)
    with wal._running:  # another thread of this worker is checkpointing
        wal.run()  # returns at once instead of waiting
        assert wal._last == float("-inf")
    wal.run()
    assert wal._last > float("-inf")
    db.dispose()


def test_the_checkpointer_thread_outlives_a_failed_checkpoint(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, wal = _service(url, 0.0)
    calls: list[int] = []

    def failing() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk went away")

    monkeypatch.setattr(wal, "run", failing)
    _insert(db)
    assert wal.wait_idle(5)
    _insert(db)
    assert wal.wait_idle(5)
    assert calls == [1, 1]
    db.dispose()
