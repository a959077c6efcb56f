"""Load benchmark of the REST API on loopback (issue 5): the review endpoint, and the
account read endpoint as a second, separately labelled figure.

Usage::

    .venv/bin/python benchmarks/bench_api_load.py [--borrowers 20000] [--workers 2]
        [--seconds 20] [--concurrency 32] [--db URL] [--keep]

It deploys a fresh service with the CLI (simulate, ingest + train in parallel, approve,
publish, an analyst key), starts ``clearline serve`` on a free loopback port and drives it
with its own asyncio client (raw keep-alive HTTP/1.1 over asyncio streams, one process,
one thread). Phases, each ``--seconds`` long after a short warm-up:

1. peak: closed loop, ``--concurrency`` connections, random open accounts;
2. 70 % of peak: open loop at a fixed rate; latency runs from each request's *scheduled*
   start, so a stalled server is charged for the requests it delayed (no coordinated
   omission); the client's own dispatch lag is printed beside it.

Then the same two phases for ``GET /v1/accounts/{id}``. Afterwards it checks that every
response was 2xx, that the ``decisions`` table holds exactly the decisions the 201
responses returned (1 + household each; no lost and no unacknowledged writes), that
each has its audit entry, and that ``clearline audit verify`` passes. Exit 0 when the
run is clean even if targets are missed (it is a measurement); 1 on errors or lost writes.

``--db`` defaults to SQLite in a temp dir; a PostgreSQL URL gets a throw-away schema
(``?options=-csearch_path%3D<schema>``), dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
TARGET_RATE = 2000.0  # decisions/s (issue 5)
TARGET_P99_MS = 5.0  # at 70 % of peak
IDLE_S = 3.0  # reopen a connection idle this long (uvicorn closes them after 5 s)
GRACE_S = 60.0  # in-flight requests may finish this long after a phase; then it fails
CLK = os.sysconf("SC_CLK_TCK")


def cli() -> list[str]:
    here = Path(sys.executable).with_name("clearline")
    return [str(here)] if here.exists() else [shutil.which("clearline") or "clearline"]


def run_cli(*args: str) -> dict:
    """One `clearline ... --json` command; its JSON answer."""
    done = subprocess.run([*cli(), *args, "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"clearline {args[0]} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


# ---- database ------------------------------------------------------------------------


def make_db(given: str | None, tmp: Path) -> tuple[str, Callable[[], None]]:
    """The URL to deploy on and how to drop it (a fresh schema for PostgreSQL)."""
    if given is None or given.startswith("sqlite"):
        return given or f"sqlite:///{tmp / 'clearline.db'}", lambda: None
    schema = "bench_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(given)
    with admin.begin() as conn:
        conn.execute(sa.text(f'create schema "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(sa.text(f'drop schema "{schema}" cascade'))
        admin.dispose()

    sep = "&" if "?" in given else "?"
    return f"{given}{sep}options=-csearch_path%3D{schema}", drop


def portfolio_facts(url: str) -> tuple[date, list[str]]:
    """The as-of date train used (the last event's day) and the accounts open then."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            last = conn.execute(sa.text("select max(ts) from events")).scalar_one()
            sqlite = conn.dialect.name == "sqlite"  # timestamps are epoch microseconds
            if sqlite:
                last = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=last)
            as_of = last.astimezone(UTC).date()
            cut = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), UTC)
            cutoff: object = (
                (cut - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
                if sqlite
                else cut
            )
            ids = conn.execute(
                sa.text(
                    "select account_id from accounts where status <> 'closed'"
                    " and opened_at < :cut order by account_id"
                ),
                {"cut": cutoff},
            ).scalars()
            return as_of, list(ids)
    finally:
        engine.dispose()


def stored(url: str) -> tuple[set[str], Counter[str]]:
    """Decision ids in the table, and how many audit entries name each as subject."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            ids = set(conn.execute(sa.text("select decision_id from decisions")).scalars())
            audited = Counter(
                conn.execute(
                    sa.text("select subject from audit_log where action = 'decision.create'")
                ).scalars()
            )
            return ids, audited
    finally:
        engine.dispose()


def deploy(url: str, tmp: Path, borrowers: int, seed: int) -> str:
    """Simulate, ingest and train (those two in parallel), approve, publish; the key."""
    folder, model, reg = tmp / "portfolio", tmp / "model", tmp / "registry"
    t0 = time.perf_counter()
    run_cli("simulate", "--out", str(folder), "--borrowers", str(borrowers), "--seed", str(seed))
    t1 = time.perf_counter()
    jobs = {
        name: subprocess.Popen(
            [*cli(), *args, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, args in (
            ("ingest", ["ingest", str(folder), "--db", url]),
            (
                "train",
                ["train", "--data", str(folder), "--out", str(model), "--registry", str(reg)],
            ),
        )
    }
    answers = {}
    try:
        for name, job in jobs.items():
            out, errs = job.communicate()
            if job.returncode != 0:
                raise SystemExit(f"clearline {name} failed: {errs.strip()[-2000:]}")
            answers[name] = json.loads(out)
    finally:
        for job in jobs.values():  # the other one, when one failed
            if job.poll() is None:
                job.kill()
                job.wait()
    t2 = time.perf_counter()
    version = answers["train"]["model_version"]
    run_cli("models", "approve", version, "--registry", str(reg), "--by", "bench")
    policy = ROOT / "policies" / "baseline.yaml"
    run_cli("policy", "publish", str(policy), "--store", str(tmp / "policies"), "--by", "bench")
    key = run_cli("keys", "create", "--role", "analyst", "--label", "load bench", "--db", url)
    ing = answers["ingest"]
    print(
        f"deployed: {ing['borrowers']:,} borrowers, {ing['accounts']:,} accounts, "
        f"{ing['events']:,} events; model {version} (AUC {answers['train']['auc']}); "
        f"simulate {t1 - t0:.0f} s, ingest+train {t2 - t1:.0f} s, "
        f"rest {time.perf_counter() - t2:.0f} s",
        flush=True,
    )
    return str(key["key"])


# ---- server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(url: str, tmp: Path, port: int, workers: int, as_of: date) -> subprocess.Popen:
    # The service day is the data's last day, as for a lender reviewing today's data: the
    # workers then keep that day's feature snapshot (services/feature_snapshot.py).
    args = [*cli(), "serve", "--db", url, "--host", HOST, "--port", str(port)]
    args += ["--as-of", as_of.isoformat()]
    args += ["--workers", str(workers), "--registry", str(tmp / "registry")]
    args += ["--store", str(tmp / "policies")]
    log = (tmp / "serve.log").open("w")
    # Its own session, so the workers are stopped with it (by its process group id).
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"clearline serve exited: {(tmp / 'serve.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/openapi.json", timeout=2):
                return proc
        except OSError:
            time.sleep(0.2)
    stop_server(proc)
    raise SystemExit("clearline serve did not answer /openapi.json within 120 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


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


def phase(
    run: Callable[[Result, list[Conn]], object], name: str, how: str, port: int, n: int, server: int
) -> Result:
    """Run one phase on ``n`` fresh connections, with the CPU it cost each side."""
    res, conns = Result(name, how), [Conn(port) for _ in range(n)]

    async def go() -> None:
        try:
            await run(res, conns)  # type: ignore[misc]
        finally:
            for c in conns:
                c.close()

    s0, m0 = tree_cpu(server), machine_busy()  # before the client's clock: not its cost
    c0, w0 = time.process_time(), time.perf_counter()
    try:
        asyncio.run(go())
    except TimeoutError:
        res.failures["phase overran its grace (requests abandoned)"] += 1
    res.cpu_client, res.wall = time.process_time() - c0, time.perf_counter() - w0
    res.cpu_server = tree_cpu(server) - s0
    res.cpu_machine = machine_busy() - m0
    return res


# ---- reporting -----------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return 1000 * ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def household_rows(bodies: list[bytes]) -> list[str]:
    ids = []
    for body in bodies:
        answer = json.loads(body)
        ids.append(answer["decision"]["decision_id"])
        ids.extend(d["decision_id"] for d in answer["household"])
    return ids


def show(res: Result, unit: str) -> None:
    extra = ""
    if res.bodies:
        rows = len(household_rows(res.bodies))
        extra = f", {rows / len(res.bodies) * res.rate:,.1f} decision rows/s incl. household"
        extra += f" ({rows / len(res.bodies):.2f} rows per review)"
    lat = res.latencies
    if res.end < math.inf:
        window = f"{res.in_window:,} of them within the {res.end - res.start:.1f} s window"
    else:
        window = f"the last done {res.last - res.start:.1f} s after the first was due"
    print(
        f"{res.name:<14} {res.how}: {res.done:,} {unit}, {window} = "
        f"{res.rate:,.1f} {unit}/s{extra}\n"
        f"{'':<14} latency ms p50 {pct(lat, 50):,.1f}  p90 {pct(lat, 90):,.1f}  "
        f"p99 {pct(lat, 99):,.1f}  max {pct(lat, 100):,.1f}",
        flush=True,
    )
    if res.how.startswith("open"):
        print(
            f"{'':<14} included above, before sending: client timer late ms p50 "
            f"{pct(res.timer, 50):.2f} p99 {pct(res.timer, 99):.2f} (the client's own "
            f"delay); due to sent, incl. waiting for a free connection, p50 "
            f"{pct(res.lags, 50):.2f} p99 {pct(res.lags, 99):.2f}"
        )
    n, w = max(res.done, 1), res.wall
    print(
        f"{'':<14} CPU cores used: client {res.cpu_client / w:.2f} "
        f"({res.cpu_client / n * 1e6:,.0f} us/request), clearline server "
        f"{res.cpu_server / w:.2f} ({res.cpu_server / n * 1e3:,.2f} ms/request), "
        f"whole machine (everyone) {res.cpu_machine / w:.2f} of {os.cpu_count()}"
    )
    if res.bad or res.failures or res.dropped:
        print(
            f"{'':<14} !!! ERRORS: statuses {dict(res.statuses)}, transport {dict(res.failures)}, "
            f"dropped {res.dropped}; samples: {res.samples}",
            flush=True,
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--borrowers", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    ap.add_argument("--seconds", type=float, default=20.0, help="per measured phase")
    ap.add_argument("--concurrency", type=int, default=32, help="connections (peak phase)")
    ap.add_argument("--db", help="database URL (default: SQLite in the temp dir)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (and PG schema)")
    args = ap.parse_args()
    t_start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="clearline-load-"))
    url, drop = make_db(args.db, tmp)
    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    print(
        f"clearline API load benchmark: {args.workers} uvicorn workers, {args.concurrency} "
        f"connections, {args.seconds:g} s per phase, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f}\ndb {shown}"
        f"\nthe client (one asyncio process) shares the machine's cores with the server "
        f"and the database: every figure below is client + server on {os.cpu_count()} cores",
        flush=True,
    )
    server = None
    try:
        key = deploy(url, tmp, args.borrowers, args.seed)
        as_of, ids = portfolio_facts(url)
        before, _ = stored(url)
        port = free_port()
        server = start_server(url, tmp, port, args.workers, as_of)
        print(f"serving on {HOST}:{port}; as_of {as_of}; {len(ids):,} open accounts", flush=True)
        code = measure(args, key, as_of, ids, port, server.pid, url, before)
    finally:
        if server is not None:
            stop_server(server)
        if args.keep:
            print(f"kept {tmp} (db {url})")
        else:
            drop()
            shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"total wall time {time.perf_counter() - t_start:.0f} s; load average now "
        f"{os.getloadavg()[0]:.2f}; exit {code}"
    )
    return code


def measure(
    args: argparse.Namespace,
    key: str,
    as_of: date,
    ids: list[str],
    port: int,
    pid: int,
    url: str,
    before: set[str],
) -> int:
    pick = random.Random(args.seed).choice
    auth = f"Host: {HOST}:{port}\r\nAuthorization: Bearer {key}\r\n"
    body = json.dumps({"as_of": as_of.isoformat()})
    post = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"

    def review() -> bytes:
        return f"POST /v1/accounts/{pick(ids)}/review HTTP/1.1\r\n{auth}{post}".encode()

    def read() -> bytes:
        return f"GET /v1/accounts/{pick(ids)} HTTP/1.1\r\n{auth}\r\n".encode()

    me = f"GET /v1/me HTTP/1.1\r\n{auth}\r\n".encode()
    c, s = args.concurrency, args.seconds
    short = min(5.0, s)
    done: list[Result] = []

    def closed(name: str, make: Callable[[], bytes], secs: float, keep: bool = False) -> Result:
        how = f"closed loop, {c} connections"
        run = lambda r, cs: closed_loop(r, cs, make, secs, keep)  # noqa: E731
        done.append(phase(run, name, how, port, c, pid))
        return done[-1]

    def opened(
        name: str,
        make: Callable[[], bytes],
        rate: float,
        keep: bool = False,
        what: str = "70 % of peak",
        secs: float = s,
    ) -> Result:
        how = f"open loop at {rate:,.1f}/s ({what}), up to {c} connections"
        run = lambda r, cs: open_loop(r, cs, make, rate, secs, keep)  # noqa: E731
        done.append(phase(run, name, how, port, c, pid))
        return done[-1]

    print("\n-- client ceiling (GET /v1/me: key check only, no database work)")
    ceiling = closed("me", lambda: me, short)
    show(ceiling, "requests")
    per = ceiling.cpu_client / max(ceiling.done, 1)
    print(
        f"{'':<14} the client alone could send about {1 / per if per else math.inf:,.0f} "
        f"requests/s on one core (from its CPU time per request)"
    )
    print("\n-- warm-up (each worker loads the model and policy on first use; not measured)")
    show(closed("warm-up review", review, short, keep=True), "reviews")
    show(closed("warm-up read", read, min(2.0, s)), "reads")
    print("\n-- WRITE: POST /v1/accounts/{id}/review (decisions/s = reviews/s)")
    # One request at a time, far below capacity: the latency of a single review.
    show(opened("review idle", review, 10.0, keep=True, what="idle", secs=short), "reviews")
    peak = closed("review peak", review, s, keep=True)
    show(peak, "reviews")
    at70 = opened("review 70 %", review, max(0.7 * peak.rate, 1.0), keep=True)
    show(at70, "reviews")
    print("\n-- READ (second figure, no target in issue 5): GET /v1/accounts/{id}")
    rpeak = closed("read peak", read, s)
    show(rpeak, "reads")
    r70 = opened("read 70 %", read, max(0.7 * rpeak.rate, 1.0))
    show(r70, "reads")
    return check(done, url, before, peak, at70, rpeak, r70)


def check(
    done: list[Result],
    url: str,
    before: set[str],
    peak: Result,
    at70: Result,
    rpeak: Result,
    r70: Result,
) -> int:
    print("\n-- after the load")
    errors = sum(r.bad + sum(r.failures.values()) + r.dropped for r in done)
    acked = household_rows([b for r in done for b in r.bodies])
    now, audited = stored(url)
    new = now - before
    lost, unacked = set(acked) - now, new - set(acked)
    unaudited = [d for d in new if audited[d] != 1]
    verdict = subprocess.run(
        [*cli(), "audit", "verify", "--db", url, "--json"], capture_output=True, text=True
    )
    chain_ok = verdict.returncode == 0 and json.loads(verdict.stdout).get("ok") is True
    print(
        f"responses not 2xx or failed: {errors}\n"
        f"decisions: row count {len(before):,} -> {len(now):,}, {len(new):,} new; "
        f"{len(acked):,} acknowledged by 201 responses (sum of 1 + len(household), "
        f"{len(set(acked)):,} distinct ids): {'equal' if len(new) == len(acked) else 'DIFFERENT'}\n"
        f"lost writes (acknowledged, not stored): {len(lost)}; stored but not acknowledged: "
        f"{len(unacked)}; without exactly one audit entry: {len(unaudited)}\n"
        f"audit verify: {verdict.stdout.strip() or verdict.stderr.strip()}"
    )
    writes_ok = not lost and not unacked and not unaudited and len(acked) == len(set(acked))
    rows = [
        ("review peak, decisions/s", peak.rate, TARGET_RATE, peak.rate / TARGET_RATE),
        (
            "review p99 at 70 %, ms",
            pct(at70.latencies, 99),
            TARGET_P99_MS,
            TARGET_P99_MS / pct(at70.latencies, 99),
        ),
        ("read peak, reads/s", rpeak.rate, None, None),
        ("read p99 at 70 %, ms", pct(r70.latencies, 99), None, None),
    ]
    print(f"\n{'metric':<28}{'measured':>12}{'target':>10}{'ratio':>9}  met")
    for name, got, target, ratio in rows:
        met = "n/a" if ratio is None else ("yes" if ratio >= 1 else "no")
        tgt = "-" if target is None else f"{target:,.0f}"
        rat = "-" if ratio is None else f"{ratio:.4f}"
        print(f"{name:<28}{got:>12,.1f}{tgt:>10}{rat:>9}  {met}")
    for name, ok in (
        ("errors (non-2xx, failed)", errors == 0),
        ("lost writes", writes_ok),
        ("audit chain", chain_ok),
    ):
        word, met = ("ok", "yes") if ok else ("FAILED", "NO")
        print(f"{name:<28}{word:>12}{'0 / ok':>10}{'':>9}  {met}")
    if errors or not writes_ok or not chain_ok:
        print("!!! the run is NOT clean: see above", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
