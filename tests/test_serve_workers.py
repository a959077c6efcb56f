"""`clearline serve --workers N`: a listening socket per worker on one port, a worker
that dies is replaced, a taken port is a clear error, and stopping stops them all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_serve import _free_port, _get

CLI = str(Path(sys.executable).with_name("clearline"))


def _listeners(port: int) -> int:
    """Listening TCP sockets on ``port`` (state 0A in /proc/net/tcp)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for r in rows if r.split()[1].endswith(f":{port:04X}") and r.split()[3] == "0A")


def _workers(pid: int) -> list[int]:
    found = []
    for kid in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            if b"spawn_main" in Path(f"/proc/{kid}/cmdline").read_bytes():
                found.append(int(kid))
        except FileNotFoundError:  # reaped between the two reads
            pass
    return found


def _until(what: str, check, seconds: float = 30) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} within {seconds} s")


def _answers(port: int) -> bool:
    try:
        return _get(f"http://127.0.0.1:{port}/openapi.json")[0] == 200
    except OSError:
        return False


@pytest.fixture
def serving(tmp_path: Path):  # noqa: ANN201
    port = _free_port()
    args = [CLI, "serve", "--db", f"sqlite:///{tmp_path / 'c.db'}", "--port", str(port)]
    args += ["--workers", "2", "--registry", str(tmp_path)]
    log = (tmp_path / "serve.log").open("w")  # a file: an unread pipe could fill and block
    server = subprocess.Popen(args, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        _until("two workers listening", lambda: _listeners(port) == 2 and _answers(port), 60)
        yield server, port
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
        log.close()


def test_each_worker_listens_and_stopping_stops_them_all(serving) -> None:  # noqa: ANN001
    server, port = serving
    workers = _workers(server.pid)
    assert len(workers) == 2
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=30) == 0
    for pid in workers:
        assert (
            not Path(f"/proc/{pid}").exists()
            or b"zombie" in Path(f"/proc/{pid}/status").read_bytes().lower()
        )
    assert _listeners(port) == 0


def test_a_worker_that_dies_is_replaced(serving) -> None:  # noqa: ANN001
    from clearline.api.workers import STARTUP_SECONDS

    server, port = serving
    first = _workers(server.pid)
    time.sleep(STARTUP_SECONDS)  # past its start, so its death is not a failure to start
    os.kill(first[0], signal.SIGKILL)
    _until(
        "a new worker listening",
        lambda: (
            first[0] not in _workers(server.pid)
            and len(_workers(server.pid)) == 2
            and _listeners(port) == 2
        ),
    )
    assert server.poll() is None and _answers(port)


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = [CLI, "serve", "--db", f"sqlite:///{tmp_path / 'c.db'}", "--port", str(port)]
        done = subprocess.run(
            [*args, "--workers", "2", "--registry", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def _exit_at_once(_host: str, _port: int, _options: dict) -> None:
    raise SystemExit(1)


def test_a_worker_that_cannot_start_stops_the_service() -> None:
    from clearline.api.workers import supervise

    started = time.monotonic()
    assert supervise("127.0.0.1", _free_port(), 2, {}, target=_exit_at_once) == 3
    assert time.monotonic() - started < 30
