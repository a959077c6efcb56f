"""The load client: raw keep-alive HTTP/1.1 over asyncio streams, closed and open
loops, and CPU accounting from /proc (used by ``bench_api_load.py``)."""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from load_service import HOST

IDLE_S = 3.0  # reopen a connection idle this long (uvicorn closes them after 5 s)
GRACE_S = 60.0  # in-flight requests may finish this long after a phase; then it fails
CLK = os.sysconf("SC_CLK_TCK")


# ---- CPU accounting (Linux /proc; zeros elsewhere) ----------------------------------


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by ``root`` and its live descendants (the uvicorn workers).
    The database server's own CPU (PostgreSQL) is only in the whole-machine figure: its
    backends are shared with other users and come and go, so they cannot be summed."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLK
    family, grew = {root}, True
    while grew:
        more = {p for p, pp in parents.items() if pp in family} - family
        family |= more
        grew = bool(more)
    return sum(times.get(p, 0.0) for p in family)


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine (every process, other users included)."""
    try:
        parts = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return 0.0
    return (sum(parts[:8]) - parts[3] - parts[4]) / CLK  # less idle and iowait


# ---- the client ----------------------------------------------------------------------


class ProtocolError(Exception):
    pass


class Conn:
    """One keep-alive HTTP/1.1 connection; requests are sent one at a time."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def send(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None or time.perf_counter() - self.used > IDLE_S:
            self.close()
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        self.writer.write(request)
        head = (await self.reader.readuntil(b"\r\n\r\n")).lower()
        at = head.find(b"\r\ncontent-length:")
        if not head.startswith(b"http/1.1 ") or at < 0:
            raise ProtocolError(head[:200].decode(errors="replace"))
        size = int(head[at + 17 : head.index(b"\r\n", at + 2)])
        body = await self.reader.readexactly(size)
        if b"\r\nconnection: close" in head:
            self.close()
        self.used = time.perf_counter()
        return int(head[9:12]), body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Result:
    name: str
    how: str
    latencies: list[float] = field(default_factory=list)  # seconds
    lags: list[float] = field(default_factory=list)  # open loop: send time - scheduled
    timer: list[float] = field(default_factory=list)  # open loop: pacer wake-up - scheduled
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)  # a few non-2xx bodies
    bodies: list[bytes] = field(default_factory=list)  # 201 review bodies, parsed after
    dropped: int = 0  # open loop: never sent (the phase overran its grace)
    start: float = 0.0
    end: float = math.inf  # closed loop: the rate counts completions up to here
    in_window: int = 0
    last: float = 0.0
    wall: float = 0.0  # the whole phase, drain included; CPU seconds over the same span
    cpu_client: float = 0.0
    cpu_server: float = 0.0
    cpu_machine: float = 0.0

    @property
    def done(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        """Closed loop: completions within the phase / its length (the requests still in
        flight at the end are drained and checked, not counted). Open loop: completions /
        (last completion - first scheduled start), so a server that falls behind shows."""
        if self.end < math.inf:
            return self.in_window / (self.end - self.start)
        return self.done / (self.last - self.start) if self.last > self.start else 0.0

    @property
    def bad(self) -> int:
        return sum(n for s, n in self.statuses.items() if not 200 <= s < 300)

    async def one(self, conn: Conn, request: bytes, t0: float, keep: bool) -> None:
        sent = time.perf_counter()
        try:
            status, body = await conn.send(request)
        except (OSError, asyncio.IncompleteReadError, ProtocolError, ValueError) as exc:
            conn.close()
            self.failures[type(exc).__name__] += 1
            return
        now = time.perf_counter()
        self.latencies.append(now - t0)
        self.lags.append(sent - t0)
        self.last = max(self.last, now)
        self.in_window += now <= self.end
        self.statuses[status] += 1
        if not 200 <= status < 300:
            if len(self.samples) < 3:
                self.samples.append(f"{status} {body[:300].decode(errors='replace')}")
        elif keep:
            self.bodies.append(body)


async def closed_loop(
    res: Result, conns: list[Conn], make: Callable[[], bytes], seconds: float, keep: bool
) -> None:
    res.start = time.perf_counter()
    end = res.end = res.start + seconds

    async def user(conn: Conn) -> None:
        while (t0 := time.perf_counter()) < end:
            await res.one(conn, make(), t0, keep)

    await asyncio.wait_for(asyncio.gather(*(user(c) for c in conns)), seconds + GRACE_S)


async def open_loop(
    res: Result,
    conns: list[Conn],
    make: Callable[[], bytes],
    rate: float,
    seconds: float,
    keep: bool,
) -> None:
    queue: asyncio.Queue[float | None] = asyncio.Queue()
    res.start = time.perf_counter() + 0.05
    deadline = res.start + seconds + GRACE_S

    async def pace() -> None:
        for i in range(max(1, int(seconds * rate))):
            due = res.start + i / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            res.timer.append(time.perf_counter() - due)
            queue.put_nowait(due)
        for _ in conns:
            queue.put_nowait(None)

    async def user(conn: Conn) -> None:
        while (due := await queue.get()) is not None:
            if time.perf_counter() > deadline:
                res.dropped += 1
            else:
                await res.one(conn, make(), due, keep)

    work = asyncio.gather(pace(), *(user(c) for c in conns))
    await asyncio.wait_for(work, seconds + 2 * GRACE_S)


Run = Callable[[Result, list[Conn]], object]


def phase(run: Run, name: str, how: str, port: int, n: int, server: int) -> Result:
    """Run one phase on ``n`` fresh connections, with the CPU it cost each side."""
    return phases([(run, name, how, n)], port, server)[0]


def phases(specs: list[tuple[Run, str, str, int]], port: int, server: int) -> list[Result]:
    """Run phases at once, each ``(run, name, how, n)`` on ``n`` fresh connections of
    its own; the CPU figures are those of the whole span, in each result."""
    made = [(run, Result(name, how), [Conn(port) for _ in range(n)]) for run, name, how, n in specs]

    async def go() -> None:
        try:
            await asyncio.gather(*(run(res, conns) for run, res, conns in made))  # type: ignore[misc]
        finally:
            for _, _, conns in made:
                for c in conns:
                    c.close()

    s0, m0 = tree_cpu(server), machine_busy()  # before the client's clock: not its cost
    c0, w0 = time.process_time(), time.perf_counter()
    results = [res for _, res, _ in made]
    try:
        asyncio.run(go())
    except TimeoutError:
        for res in results:
            res.failures["phase overran its grace (requests abandoned)"] += 1
    cpu_client, wall = time.process_time() - c0, time.perf_counter() - w0
    cpu_server, cpu_machine = tree_cpu(server) - s0, machine_busy() - m0
    for res in results:
        res.cpu_client, res.wall = cpu_client, wall
        res.cpu_server, res.cpu_machine = cpu_server, cpu_machine
    return results
