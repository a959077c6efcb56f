"""Run the API in several uvicorn worker processes, each with a listening socket of its
own on the same port (``SO_REUSEPORT``), so the kernel spreads connections evenly.

Why not uvicorn's own ``--workers``: its workers share one listening socket, and asyncio
accepts every pending connection at each wake-up, so a burst of new connections lands
mostly on whichever worker woke first. Measured with ``benchmarks/bench_api_load.py``
(32 connections, 2 workers): splits of 23/9, 26/6 and 26/1, so one worker queued while
the other idled. With a socket each, the kernel hashes every new connection to one of
the workers' sockets: splits of 16/16 to 19/13 (figures in benchmarks/README.md).

The supervisor is small on purpose: start the workers, restart one that dies, stop them
all on SIGINT/SIGTERM. A worker that dies within its first seconds is taken as a failure
to start (a bad setting, say), which would only repeat, so then everything stops.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger("clearline.serve")

APP = "clearline.api.app:app_from_env"
STARTUP_SECONDS = 10.0  # a worker gone sooner than this did not start


class PortTaken(OSError):
    """Something else is bound to the port."""


def listening_socket(host: str, port: int, *, shared: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def check_port_free(host: str, port: int) -> None:
    """Fail now, with a clear message, when the port is in use. Workers join one another
    on the port, and would also join another clearline server of the same user: this
    plain bind refuses that case too."""
    try:
        listening_socket(host, port, shared=False).close()
    except OSError as exc:
        raise PortTaken(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def worker(host: str, port: int, options: dict[str, Any]) -> None:  # pragma: no cover - child
    import uvicorn

    sock = listening_socket(host, port, shared=True)
    config = uvicorn.Config(APP, factory=True, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])


def supervise(
    host: str, port: int, workers: int, options: dict[str, Any], target: Any = worker
) -> int:
    """Run ``workers`` processes of ``target`` until SIGINT/SIGTERM; returns the exit
    status (3 when a worker could not start)."""
    check_port_free(host, port)
    spawn = multiprocessing.get_context("spawn")  # no forked copies of our threads or locks

    def start() -> tuple[BaseProcess, float]:
        proc = spawn.Process(target=target, args=(host, port, options), name="clearline-worker")
        proc.start()
        return proc, time.monotonic()

    stopping = False

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    running = dict(start() for _ in range(workers))
    status = 0
    try:
        while not stopping:
            ended = wait([p.sentinel for p in running], timeout=0.5)
            for proc in [p for p in running if p.sentinel in ended]:
                started = running.pop(proc)
                proc.join()
                if stopping:
                    break
                if time.monotonic() - started < STARTUP_SECONDS:
                    log.error("a worker exited (%s) while starting; stopping", proc.exitcode)
                    status, stopping = 3, True
                    break
                log.warning("a worker exited (%s); starting another", proc.exitcode)
                new, at = start()
                running[new] = at
    finally:
        for proc in running:
            proc.terminate()  # SIGTERM: uvicorn finishes the requests it has, then exits
        for proc in running:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
        for s, handler in previous.items():
            signal.signal(s, handler)
    return status
