"""The whole portfolio's feature rows, built in a helper process of the worker's own.

A whole build reads every event (2 million rows for 20,000 borrowers) into Python
objects and then into polars, holding the interpreter lock most of the time. On a
thread of a worker that is deciding reviews at the same time, each starves the other:
with review passes of 16 running back to back beside it, the build took 26 s instead
of 6.7 s in a helper, and the passes' p50 rose 1.5x and their longest stall from 0.3
to 1.8 s (``benchmarks/bench_whole_build.py``).

The helper reads a SQLite database through Arrow (:mod:`clearline.store.arrow_read`),
which it may do because it opens the file no other way: its build took 3.15 s against
6.66 s reading through sqlite3 (``bench_whole_build.py``, one run each, the machine
slower in the Arrow run: passes alone p50 8.3 against 6.6 ms). Over HTTP
(``bench_api_load.py --against`` the code before the helper, one run): the first
reviews after the workers start waited p50 57.5 ms against 6.3 s, and after a long
event feed the longest wait was 4.0 against 7.7 s (benchmarks/README.md).

The helpers of a service's workers share their builds through a file
(:mod:`clearline.services.build_cache`): when both workers need the whole snapshot of
one state, one helper builds it and the other reads it. The helper is started on the
first build and kept for the next ones (starting Python with polars costs about a
second). For 20,000 borrowers it peaks near 1.1 GB during a build and holds about 240
MB a few seconds after (the allocator returns the rest). It reads an as-of day, the
load its rows must include and a database URL per line on stdin and answers the frame
in Arrow IPC, length first. When it cannot answer (it failed to start, died, or the
build raised) the caller builds in its own thread, as before, so a helper problem
costs speed, never a wrong or missing row.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import threading
from datetime import date
from functools import partial
from typing import IO

import polars as pl
import sqlalchemy as sa

from clearline.core.features import build_features
from clearline.services import build_cache
from clearline.services.feature_snapshot import build_whole
from clearline.store import arrow_read

log = logging.getLogger(__name__)


class HelperBuilds:
    """``builds(url, as_of, at_least)`` gives what :func:`build_whole` gives, built in
    the helper (or by another worker's) from a state that includes load ``at_least``.
    Safe to share between threads: builds take turns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._helper: subprocess.Popen[bytes] | None = None
        self._urls: set[str] = set()

    def __call__(self, url: str, as_of: date, at_least: int = 0) -> pl.DataFrame:
        try:
            with self._lock:
                self._urls.add(url)
                data = self._ask(url, as_of, at_least)
            return pl.read_ipc(io.BytesIO(data))
        except (OSError, ValueError, RuntimeError):
            log.warning("the build helper did not answer; building in this thread", exc_info=True)
            return build_whole(url, as_of)

    def close(self) -> None:
        """Stop the helper and remove the builds it kept for other workers."""
        with self._lock:
            self._stop()
            for url in self._urls:
                build_cache.forget(url)

    def _ask(self, url: str, as_of: date, at_least: int) -> bytes:
        helper = self._helper
        if helper is None or helper.poll() is not None:
            helper = self._helper = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        stdin, stdout = _pipes(helper)
        try:
            stdin.write(f"{as_of.isoformat()} {at_least} {url}\n".encode())
            stdin.flush()
            head = stdout.readline().decode().split(" ", 1)
            if head[0] == "error":
                raise RuntimeError(f"the build helper failed: {head[1].strip()}")
            size = int(head[0])
            data = stdout.read(size)
            if len(data) != size:
                raise RuntimeError("the build helper stopped in the middle of an answer")
            return data
        except BaseException:
            self._stop()  # its pipes may be mid-message: a new helper next time
            raise

    def _stop(self) -> None:
        helper, self._helper = self._helper, None
        if helper is not None:
            helper.kill()
            helper.wait()
            for pipe in (helper.stdin, helper.stdout):
                if pipe is not None:
                    pipe.close()


def _pipes(helper: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    assert helper.stdin is not None and helper.stdout is not None
    return helper.stdin, helper.stdout


def build_in_helper(url: str, as_of: date) -> pl.DataFrame:
    """:func:`build_whole` as the helper makes it: a SQLite database read through Arrow
    (:mod:`clearline.store.arrow_read`, safe here: this process opens it no other way)."""
    if sa.make_url(url).get_backend_name() != "sqlite":
        return build_whole(url, as_of)
    return build_features(arrow_read.load_portfolio(url), as_of)


def main() -> None:
    """The helper: ``<as-of day> <load id> <database url>`` per line in, an answer per
    line out."""
    answers = sys.stdout.buffer
    sys.stdout = sys.stderr  # anything else printed must not reach the answers
    for line in sys.stdin:
        day, at_least, url = line.strip().split(" ", 2)
        as_of = date.fromisoformat(day)
        try:
            data = build_cache.shared(url, as_of, int(at_least), partial(_ipc, url, as_of))
        except Exception as exc:  # noqa: BLE001 - reported to the caller, who builds itself
            answers.write(f"error {type(exc).__name__}: {exc}".replace("\n", " ").encode())
            answers.write(b"\n")
        else:
            answers.write(f"{len(data)}\n".encode())
            answers.write(data)
        answers.flush()


def _ipc(url: str, as_of: date) -> bytes:
    buffer = io.BytesIO()
    build_in_helper(url, as_of).write_ipc(buffer)
    return buffer.getvalue()


if __name__ == "__main__":
    main()
