"""Whole builds shared by the helpers of one service's workers, through a file.

Each worker of ``clearline serve`` keeps a snapshot of its own, so at start and after a
long feed of small loads both would build every row from the same database state at
about the same time: two helpers reading every event, on a machine of two cores. The
helpers take turns under a file lock instead. The first to come builds and leaves the
frame in a file named after the day and the newest load it saw; the next answers from
that file when its worker asks for a state no newer than it. A load is named by its id
and its time, so a database made again under the same URL, whose ids start over, never
answers from the old one's file.

The files live in the system's temporary folder, one folder per database URL, and only
the newest is kept; :func:`forget` removes the folder when a worker stops. The lock
only saves work: a build is written to a file of its own and renamed into place, so a
reader never sees half of one, whoever holds the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from clearline.store import arrow_read
from clearline.store.db import make_engine
from clearline.store.tables import loads

#: (id, time) of a load, the time as the database gives it.
Stamp = tuple[int, str]


def shared(url: str, as_of: date, at_least: int, build: Callable[[], bytes]) -> bytes:
    """The whole build at ``as_of`` of a state at least as new as load ``at_least``,
    as Arrow IPC: from the file another helper left, or ``build()`` and left for them.
    Where no file can be written (a full disk, say) it builds and shares nothing."""
    folder = _folder(url)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / "lock", "a+b")
    except OSError:
        return build()
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        kept = _kept(url, folder, as_of, at_least)
        if kept is not None:
            return kept
        newest = _stamp(url, None)  # before the build: the rows are at least as new
        data = build()
        if newest is not None:
            with contextlib.suppress(OSError):
                _keep(folder, f"{as_of.isoformat()}-{newest[0]}-{_digest(newest)}.arrow", data)
    return data


def forget(url: str) -> None:
    """Remove the builds kept for ``url``, and their lock. Another worker's helper may
    still be at work: it loses the build kept, and would at worst build at the same
    time as a third one, each into a file of its own."""
    shutil.rmtree(_folder(url), ignore_errors=True)


def _kept(url: str, folder: Path, as_of: date, at_least: int) -> bytes | None:
    """The build kept in ``folder`` for ``as_of``, if it includes load ``at_least`` and
    was made from this database."""
    for kept in folder.glob(f"{as_of.isoformat()}-*.arrow"):
        load_id, digest = kept.stem.split("-")[-2:]
        if int(load_id) >= at_least and _digest(_stamp(url, int(load_id))) == digest:
            with contextlib.suppress(FileNotFoundError):  # removed by a worker that stopped
                return kept.read_bytes()
    return None


def _folder(url: str) -> Path:
    name = hashlib.sha256(url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"clearline-builds-{os.getuid()}" / name


def _keep(folder: Path, name: str, data: bytes) -> None:
    """Write ``name`` whole (a reader never sees half a file) and drop the older ones."""
    part = folder / f"{name}.{os.getpid()}.part"
    try:
        part.write_bytes(data)
        os.replace(part, folder / name)
    except OSError:
        part.unlink(missing_ok=True)
        raise
    for old in folder.glob("*.arrow"):
        if old.name != name:
            old.unlink(missing_ok=True)


def _digest(stamp: Stamp | None) -> str:
    return hashlib.sha256(repr(stamp).encode()).hexdigest()[:12]


def _stamp(url: str, load_id: int | None) -> Stamp | None:
    """(id, time) of load ``load_id``, or of the newest load; None when there is none.
    A SQLite database is read through Arrow, as the helper reads it for the build."""
    if sa.make_url(url).get_backend_name() == "sqlite":
        return arrow_read.load_stamp(url, load_id)
    query = sa.select(loads.c.id, loads.c.loaded_at).order_by(loads.c.id.desc()).limit(1)
    if load_id is not None:
        query = query.where(loads.c.id == load_id)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(query).first()
    finally:
        engine.dispose()
    return None if row is None else (int(row[0]), str(row[1]))
