"""Load benchmark of the REST API on loopback (issue 5): the review endpoint, the
account read endpoint as a second, separately labelled figure, and the event endpoint
(a day's events sent as small loads).

Usage::

    .venv/bin/python benchmarks/bench_api_load.py [--borrowers 20000] [--workers 2]
        [--seconds 20] [--concurrency 32 64 128] [--db URL] [--keep]

It deploys a fresh service with the CLI (simulate, ingest + train in parallel, approve,
publish, an analyst key), starts ``clearline serve`` on a free loopback port and drives it
with its own asyncio client (raw keep-alive HTTP/1.1 over asyncio streams, one process,
one thread). Phases, each ``--seconds`` long after a short warm-up:

1. peak: a closed loop on random open accounts at each ``--concurrency`` level (number
   of connections), each for ``--seconds``; the peak is the best of their rates. The
   service decides the reviews that arrive together in one pass, so it shows its
   capacity only with enough requests in flight (on this machine the review rate rose
   from 32 to 64 to 128 connections, see benchmarks/README.md);
2. 70 % of peak: open loop at a fixed rate, on up to as many connections as the peak
   had (more only add contention: reads, which are not batched, lose rate with more);
   latency runs from each request's *scheduled* start, so a stalled server is charged
   for the requests it delayed (no coordinated omission); the client's own dispatch lag
   is printed beside it.

Then the same two phases for ``GET /v1/accounts/{id}``, and for ``POST /v1/loads`` as an
event feed (an admin key): each load brings 5 new purchases for one random open account
and no other rows; every tenth resends an earlier load unchanged, as a feed retrying
does, which must add nothing (``--no-events`` leaves this out, e.g. against a commit
whose loads could not refer to stored accounts). Last, reviews at half their peak and
the feed at ``--feed-rate`` loads/s (default 10) run together, an open loop each: after
every load each worker brings its feature snapshot up to date, and this shows what
that costs the reviews (``--feed-rate 0`` leaves it out; ``--beside-rate`` sets the
reviews' rate, the same for both codes with ``--against``). Afterwards it checks that every
response was 2xx, that the ``decisions`` table holds exactly the decisions the 201
responses returned (1 + household each; no lost and no unacknowledged writes), that
each has its audit entry, that the ``events`` table holds exactly the events sent, each
once, and that the loads' counts add up to them, each load with its audit entry, and
that ``clearline audit verify`` passes. Exit 0 when the run is clean even if targets are
missed (it is a measurement); 1 on errors or lost writes.

``--against SRC`` (another commit's ``src`` folder, e.g. from ``git worktree add``) runs
the whole benchmark for both codes in this run (``PYTHONPATH=SRC`` for the other's CLI
and server), ``--turns`` pairs in mirrored order (this, that, that, this, ...), and
prints the mean of each headline figure per code, their ratio and every run's figure.

``--db`` defaults to SQLite in a temp dir; a PostgreSQL URL gets a throw-away schema
(``?options=-csearch_path%3D<schema>``), dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from load_client import Result, closed_loop, open_loop, phase, phases
from load_service import (
    HOST,
    cli,
    deploy,
    free_port,
    make_db,
    portfolio_facts,
    run_cli,
    start_server,
    stop_server,
    stored,
    stored_feed,
)

TARGET_RATE = 2000.0  # decisions/s (issue 5)
TARGET_P99_MS = 5.0  # at 70 % of peak


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


class EventFeed:
    """``POST /v1/loads`` requests, each with 5 new purchases for one account ``pick()``
    gives and no other rows; every tenth resends an earlier load as it was."""

    PREFIX = "feed-"

    def __init__(self, pick: Callable[[], str], head: str, day: date) -> None:
        self.pick, self.head, self.day = pick, head, day.isoformat()
        self.loads: list[bytes] = []
        self.event_ids: set[str] = set()
        self.sent = self.resends = 0
        self.again = random.Random(11).choice

    def request(self) -> bytes:
        self.sent += 1
        if self.sent % 10 == 0:  # a feed retrying: the load must add nothing
            self.resends += 1
            body = self.again(self.loads)
        else:
            n, account = len(self.loads), self.pick()
            events = [
                {
                    "event_id": f"{self.PREFIX}{n}-{j}",
                    "account_id": account,
                    "ts": f"{self.day}T12:00:0{j}Z",
                    "type": "purchase",
                    "amount": 12.5,
                    "counterparty": "shop",
                }
                for j in range(5)
            ]
            body = json.dumps({"borrowers": [], "accounts": [], "events": events}).encode()
            self.loads.append(body)
            self.event_ids.update(e["event_id"] for e in events)
        return f"{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body


def show(res: Result, unit: str) -> None:
    extra = ""
    if res.bodies and unit == "reviews":
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
    ap.add_argument(
        "--concurrency",
        type=_connections,
        nargs="+",
        default=[32, 64, 128],
        help="connections of each closed loop the peak is the best of",
    )
    ap.add_argument("--db", help="database URL (default: SQLite in the temp dir)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (and PG schema)")
    ap.add_argument("--against", help="another commit's src folder, measured in the same run")
    ap.add_argument("--turns", type=int, default=2, help="with --against: A B, then B A, ...")
    ap.add_argument("--no-events", action="store_true", help="leave the event feed out")
    ap.add_argument(
        "--feed-rate",
        type=float,
        default=10.0,
        help="loads/s of the feed beside reviews at half their peak (0: leave that out)",
    )
    ap.add_argument(
        "--beside-rate",
        type=_rate,
        help="reviews/s beside the feed (default: half their peak); give one rate to "
        "compare codes with --against, since each run measures its own peak",
    )
    ap.add_argument("--summary", help=argparse.SUPPRESS)  # JSON of the headline figures
    args = ap.parse_args()
    if args.against:
        return compare(args)
    t_start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="clearline-load-"))
    url, drop = make_db(args.db, tmp)
    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    print(
        f"clearline API load benchmark: {args.workers} uvicorn workers, peak sought at "
        f"{' / '.join(map(str, sorted(set(args.concurrency))))} connections, "
        f"{args.seconds:g} s per phase, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f}\ndb {shown}"
        f"\nthe client (one asyncio process) shares the machine's cores with the server "
        f"and the database: every figure below is client + server on {os.cpu_count()} cores",
        flush=True,
    )
    server = None
    try:
        key = deploy(url, tmp, args.borrowers, args.seed)
        admin = run_cli("keys", "create", "--role", "admin", "--label", "event feed", "--db", url)
        as_of, ids = portfolio_facts(url)
        before, _ = stored(url)
        port = free_port()
        server = start_server(url, tmp, port, args.workers, as_of)
        print(f"serving on {HOST}:{port}; as_of {as_of}; {len(ids):,} open accounts", flush=True)
        code = measure(args, (key, admin["key"]), as_of, ids, port, server.pid, url, before)
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
    keys: tuple[str, str],
    as_of: date,
    ids: list[str],
    port: int,
    pid: int,
    url: str,
    before: set[str],
) -> int:
    pick = random.Random(args.seed).choice
    key, admin = keys
    auth = f"Host: {HOST}:{port}\r\nAuthorization: Bearer {key}\r\n"
    body = json.dumps({"as_of": as_of.isoformat()})
    post = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"

    def review() -> bytes:
        return f"POST /v1/accounts/{pick(ids)}/review HTTP/1.1\r\n{auth}{post}".encode()

    def read() -> bytes:
        return f"GET /v1/accounts/{pick(ids)} HTTP/1.1\r\n{auth}\r\n".encode()

    me = f"GET /v1/me HTTP/1.1\r\n{auth}\r\n".encode()
    levels, s = sorted(set(args.concurrency)), args.seconds
    c = levels[-1]  # the ceiling, warm-up and idle phases
    short = min(5.0, s)
    done: list[Result] = []

    def closed(
        name: str, make: Callable[[], bytes], secs: float, keep: bool = False, conns: int = c
    ) -> Result:
        how = f"closed loop, {conns} connections"
        run = lambda r, cs: closed_loop(r, cs, make, secs, keep)  # noqa: E731
        done.append(phase(run, name, how, port, conns, pid))
        return done[-1]

    def peak_of(
        name: str, make: Callable[[], bytes], unit: str, keep: bool = False
    ) -> tuple[Result, int]:
        """A closed loop at each level; the one with the best rate, and its level."""
        runs = []
        for conns in levels:
            runs.append((closed(f"{name} {conns}", make, s, keep, conns), conns))
            show(runs[-1][0], unit)
        best, conns = max(runs, key=lambda run: run[0].rate)
        print(f"{'':<14} peak: {best.rate:,.1f} {unit}/s ({best.how})", flush=True)
        return best, conns

    def opened(
        name: str,
        make: Callable[[], bytes],
        rate: float,
        keep: bool = False,
        what: str = "70 % of peak",
        secs: float = s,
        conns: int = c,
    ) -> Result:
        how = f"open loop at {rate:,.1f}/s ({what}), up to {conns} connections"
        run = lambda r, cs: open_loop(r, cs, make, rate, secs, keep)  # noqa: E731
        done.append(phase(run, name, how, port, conns, pid))
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
    peak, conns = peak_of("review peak", review, "reviews", keep=True)
    at70 = opened("review 70 %", review, max(0.7 * peak.rate, 1.0), keep=True, conns=conns)
    show(at70, "reviews")
    print("\n-- READ (second figure, no target in issue 5): GET /v1/accounts/{id}")
    rpeak, conns = peak_of("read peak", read, "reads")
    r70 = opened("read 70 %", read, max(0.7 * rpeak.rate, 1.0), conns=conns)
    show(r70, "reads")
    feed = None
    if not args.no_events:
        print("\n-- EVENTS: POST /v1/loads, 5 new events for one account per load, no other rows")
        head = (
            f"POST /v1/loads HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer "
            f"{admin}\r\nContent-Type: application/json\r\n"
        )
        accounts = random.Random(args.seed + 1)
        feed = EventFeed(lambda: accounts.choice(ids), head, as_of)
        show(closed("warm-up events", feed.request, min(2.0, s), keep=True), "loads")
        epeak, conns = peak_of("events peak", feed.request, "loads", keep=True)
        e70 = opened(
            "events 70 %", feed.request, max(0.7 * epeak.rate, 1.0), keep=True, conns=conns
        )
        show(e70, "loads")
        if args.feed_rate > 0:
            rate, what = 0.5 * peak.rate, "50 % of peak"
            if args.beside_rate:
                rate, what = args.beside_rate, "asked"
            print(
                f"\n-- REVIEWS BESIDE THE FEED: reviews at {rate:,.1f}/s ({what}) while "
                f"{args.feed_rate:g} event loads/s arrive (each worker brings its feature "
                f"snapshot up to date after every load)"
            )
            # After the feed above, thousands of feature rows are stale in each worker:
            # the first reviews catch up (a whole build of the snapshot, seconds), which
            # is not the steady state measured next. Three times the short phase, so
            # that a catch-up ends inside it (one by slices, reverted, took longer).
            show(closed("warm-up review again", review, 3 * short, keep=True), "reviews")
            both = phases(
                [
                    (
                        lambda r, cs: open_loop(r, cs, review, rate, s, True),
                        "review beside feed",
                        f"open loop at {rate:,.1f}/s ({what}), {c} connections",
                        c,
                    ),
                    (
                        lambda r, cs: open_loop(r, cs, feed.request, args.feed_rate, s, True),
                        "events beside reviews",
                        f"open loop at {args.feed_rate:g}/s, 8 connections",
                        8,
                    ),
                ],
                port,
                pid,
            )
            done.extend(both)
            show(both[0], "reviews")
            show(both[1], "loads")
    code = check(done, url, before, peak, at70, rpeak, r70, feed)
    if args.summary:
        idle = next(r for r in done if r.name == "review idle")
        figures = {
            "review peak, reviews/s": peak.rate,
            "review p99 at 70 %, ms": pct(at70.latencies, 99),
            "one review alone, p50 ms": pct(idle.latencies, 50),
            "server CPU per review at peak, ms": 1e3 * peak.cpu_server / max(peak.done, 1),
            **_event_figures(done),
            "clean (0 errors, 0 lost writes, chain ok)": float(code == 0),
        }
        Path(args.summary).write_text(json.dumps(figures))
    return code


def _event_figures(done: list[Result]) -> dict[str, float]:
    """The event feed's headline figures, when it ran."""
    at70 = [r for r in done if r.name.startswith("events 70")]
    if not at70:
        return {}
    epeak = max((r for r in done if r.name.startswith("events peak")), key=lambda r: r.rate)
    figures = {
        "event loads peak, loads/s": epeak.rate,
        "event loads p99 at 70 %, ms": pct(at70[0].latencies, 99),
    }
    beside = [r for r in done if r.name == "review beside feed"]
    if beside:
        figures["reviews beside the feed, reviews/s"] = beside[0].rate
        figures["review p99 beside the feed, ms"] = pct(beside[0].latencies, 99)
    return figures


def compare(args: argparse.Namespace) -> int:
    """Whole runs of this benchmark for this code and the code at ``--against``, in the
    order A B B A (``--turns`` 2) or A B B A A B ... (each run deploys afresh); prints
    each run's figures, the mean per code and the ratio (above 1: this code is better).
    On this VM the speed drifts over minutes; the mirrored order puts the drift on both."""
    forwarded = _without(sys.argv[1:], "--against", "--turns")
    order = [("this", "against") if k % 2 == 0 else ("against", "this") for k in range(args.turns)]
    runs: dict[str, list[dict[str, float]]] = {"this": [], "against": []}
    for name in [n for pair in order for n in pair]:
        src = args.against if name == "against" else None
        env = dict(os.environ)
        if src is not None:
            env["PYTHONPATH"] = str(Path(src).resolve())
        out = Path(tempfile.mkdtemp(prefix="clearline-ab-")) / "summary.json"
        print(f"\n==== {name}: {src or 'this checkout'}", flush=True)
        done = subprocess.run(
            [sys.executable, __file__, *forwarded, "--summary", str(out)], env=env
        )
        if done.returncode != 0 or not out.exists():
            print(f"!!! the {name} run failed (exit {done.returncode})", flush=True)
            return 1
        runs[name].append(json.loads(out.read_text()))
    better_high = {
        "review peak, reviews/s",
        "event loads peak, loads/s",
        "clean (0 errors, 0 lost writes, chain ok)",
    }
    print(f"\n{'figure':<44}{'this':>10}{'against':>10}{'ratio':>8}  (above 1: this is better)")
    for key in runs["this"][0]:
        ours = statistics.fmean(r[key] for r in runs["this"])
        theirs = statistics.fmean(r[key] for r in runs["against"])
        if not (ours and theirs):
            ratio = math.nan
        else:
            ratio = ours / theirs if key in better_high else theirs / ours
        each = " / ".join(f"{r[key]:.1f}" for r in runs["this"])
        other = " / ".join(f"{r[key]:.1f}" for r in runs["against"])
        print(f"{key:<44}{ours:>10.1f}{theirs:>10.1f}{ratio:>7.2f}x  runs: {each} vs {other}")
    return 0


def _connections(text: str) -> int:
    """A ``--concurrency`` level: a whole number of connections, at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a level is a number of connections >= 1, got {text!r}")
    return int(text)


def _rate(text: str) -> float:
    """A ``--beside-rate``: reviews per second, above 0."""
    try:
        rate = float(text)
    except ValueError:
        rate = math.nan
    if not rate > 0 or math.isinf(rate):
        raise argparse.ArgumentTypeError(f"a rate is a number of reviews/s above 0, got {text!r}")
    return rate


def _without(argv: list[str], *options: str) -> list[str]:
    """``argv`` less each of ``options`` with its value (``--x V`` or ``--x=V``); by
    position, so a level of ``--concurrency`` equal to a removed value stays."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in options:
            skip = True
        elif not arg.startswith(tuple(f"{o}=" for o in options)):
            out.append(arg)
    return out


def check_feed(feed: EventFeed, done: list[Result], url: str) -> bool:
    """The events table holds each event the feed sent exactly once, the loads' counts
    add up to them (a resend counts 0), and each load has one audit entry."""
    loads = [json.loads(b) for r in done if "events" in r.name for b in r.bodies]
    ids, audited = stored_feed(url, EventFeed.PREFIX)
    counted = sum(load["counts"]["events"] for load in loads)
    load_ids = [load["load_id"] for load in loads]
    unaudited = [i for i in load_ids if audited[f"load:{i}"] != 1]
    print(
        f"event feed: {len(feed.loads):,} loads sent and {feed.resends:,} resent; "
        f"{len(feed.event_ids):,} distinct events sent, {len(ids):,} stored "
        f"(missing {len(feed.event_ids - ids)}, unexpected {len(ids - feed.event_ids)}); "
        f"the 201 answers count {counted:,} added in {len(load_ids):,} loads "
        f"({'equal' if counted == len(ids) else 'DIFFERENT'}); loads without exactly one "
        f"audit entry: {len(unaudited)}"
    )
    return (
        ids == feed.event_ids
        and counted == len(ids)
        and not unaudited
        and len(set(load_ids)) == len(load_ids)
    )


def check(
    done: list[Result],
    url: str,
    before: set[str],
    peak: Result,
    at70: Result,
    rpeak: Result,
    r70: Result,
    feed: EventFeed | None,
) -> int:
    print("\n-- after the load")
    errors = sum(r.bad + sum(r.failures.values()) + r.dropped for r in done)
    reviewed = [
        b for r in done if r.name.startswith(("review", "warm-up review")) for b in r.bodies
    ]
    acked = household_rows(reviewed)
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
    if feed is not None:
        writes_ok = check_feed(feed, done, url) and writes_ok
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
    rows += [(name, value, None, None) for name, value in _event_figures(done).items()]
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
