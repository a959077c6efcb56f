"""What one review pass costs in-process, without HTTP (issue 5): the batcher's write
transaction for batches of 1 and 16 random open accounts (CPU, wall time, and the pages
of SQLite write-ahead log it writes), and its steps for one household.

Usage::

    .venv/bin/python benchmarks/bench_review_pass.py [--dir D] [--reps 200] [--against SRC]
    .venv/bin/python benchmarks/bench_review_pass.py --db postgresql+psycopg://... [--dir D]

It deploys a service with the CLI as ``bench_api_load.py`` does (20,000 borrowers) into
``--dir`` (kept, and reused when it already holds one), builds the app in this process
and times ``ReviewBatcher._pass`` directly: wall and CPU time per pass, median of
``--reps``. The passes write real decisions, so each run adds to the database; runs of
two commits compare best on two fresh directories. To compare with another commit, run
this file with ``PYTHONPATH=<worktree>/src``, or give ``--against <worktree>/src``
(``git worktree add /tmp/old <commit>`` gives such a tree): the same run then starts
both codes as two processes, each on its own copy of one deployment, and times them in
turns (``--rounds`` rounds, in the order A B B A, ...), so that the machine's drift over
minutes, which on this shared VM reaches 1.5x between runs, falls on both alike. It
prints the median of each figure over the rounds, the ratio, and the range of the
per-round ratios.

``--db`` takes a PostgreSQL URL: the deployment goes into a schema of its own (its URL
kept in ``--dir``, reused by later runs), and each pass's figures add the CPU the whole
machine spent, the database server's included (from ``/proc/stat``, so run it on an
otherwise quiet machine). ``--against`` is SQLite only; to compare two commits on
PostgreSQL, alternate runs with ``PYTHONPATH=<worktree>/src``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from load_service import deploy, make_db, portfolio_facts


def machine_busy_ms() -> float:
    """CPU milliseconds every process of the machine has used since boot."""
    with open("/proc/stat") as stat:
        ticks = [int(t) for t in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return 1e3 * (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def timed(fn, reps: int) -> tuple[float, float]:  # noqa: ANN001
    """Median wall and mean CPU milliseconds of ``fn()`` over ``reps`` calls."""
    return timed_machine(fn, reps)[:2]


def timed_machine(fn, reps: int) -> tuple[float, float, float]:  # noqa: ANN001
    """:func:`timed`, and the whole machine's mean CPU milliseconds per call."""
    walls = []
    c0, m0 = time.process_time(), machine_busy_ms()
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
    cpu, machine = time.process_time() - c0, machine_busy_ms() - m0
    return 1e3 * statistics.median(walls), 1e3 * cpu / reps, machine / reps


def deployed(tmp: Path, db: str | None = None) -> str:
    """The database URL of the deployment in ``tmp``, made first if it has none
    (``db``: a PostgreSQL URL to deploy into a new schema; SQLite in ``tmp`` if None)."""
    tmp.mkdir(parents=True, exist_ok=True)
    on_pg, has_key = tmp / "postgresql-url", (tmp / "key").exists()
    if (db is not None) != on_pg.exists() and has_key:
        raise SystemExit(f"{tmp} holds a deployment on another database; use another --dir")
    if has_key:
        return on_pg.read_text() if db is not None else f"sqlite:///{tmp / 'clearline.db'}"
    url = make_db(db, tmp)[0]  # PostgreSQL: a new schema, kept for later runs
    (tmp / "key").write_text(deploy(url, tmp, 20_000, 7))
    if db is not None:
        on_pg.write_text(url)
    return url


def setup(tmp: Path, db: str | None = None):  # noqa: ANN201 - closures over the app
    """Deploy into ``tmp`` unless it holds a deployment; build the app in this process."""
    url = deployed(tmp, db)
    as_of, ids = portfolio_facts(url)

    from clearline.api.app import Settings, _warm_up, create_app
    from clearline.api.batcher import Job
    from clearline.services import line_review as LR
    from clearline.store.household import households_of, lock_lines

    app = create_app(
        Settings(db_url=url, registry=tmp / "registry", policies=tmp / "policies", as_of=as_of)
    )
    _warm_up(app)
    batcher, pick = app.state.batcher, random.Random(1).choice

    def review(n: int) -> None:
        jobs = [
            Job(LR.ReviewRequest(pick(ids), as_of, "bench", uuid.uuid4().hex), "k", None, "x")
            for _ in range(n)
        ]
        batcher._pass(jobs)

    def passes(n: int, reps: int) -> tuple[float, float, float]:
        return timed_machine(lambda: review(n), reps)

    def wal_pages(n: int, reps: int) -> float | None:
        """Pages of write-ahead log one pass of ``n`` reviews writes: a reader opened on
        an empty log keeps any checkpoint (SQLite's own or the service's) from copying
        or restarting it, so after ``reps`` passes the log holds all they wrote."""
        if not url.startswith("sqlite"):
            return None
        path = sa.make_url(url).database
        with closing(sqlite3.connect(path, isolation_level=None)) as pin:
            # The service's checkpointer thread may be copying: then TRUNCATE reports
            # busy and leaves the log as it was, and the count below would hold frames
            # written before these passes (seen as 50 pages per pass of 1, not 9).
            for _ in range(1000):
                if pin.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone() == (0, 0, 0):
                    break
                time.sleep(0.01)
            else:
                raise RuntimeError(f"{path}: the write-ahead log could not be emptied in 10 s")
            pin.execute("BEGIN")
            pin.execute("SELECT count(*) FROM loads").fetchone()
            for _ in range(reps):
                review(n)
            with closing(sqlite3.connect(path, isolation_level=None)) as other:
                _busy, frames, _copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            pin.execute("COMMIT")
        return frames / reps

    def steps(reps: int) -> dict[str, float]:
        dep, snap = app.state.deployer.current(), app.state.snapshot
        account = ids[5]
        with app.state.db.read() as conn:
            household = households_of(conn, [account])[account]
            lines = lock_lines(conn, household)  # SQLite: no row locks
            inputs = LR._inputs(conn, household, lines, as_of, snap)
            calls = {
                "households_of": lambda: households_of(conn, [account]),
                "inputs (snapshot, line, history)": lambda: LR._inputs(
                    conn, household, lines, as_of, snap
                ),
                "score + decide (full trace)": lambda: LR._decide_inputs(dep, inputs, as_of),
            }
            return {name: timed(fn, reps)[1] for name, fn in calls.items()}

    return len(ids), passes, steps, wal_pages


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default="/tmp/clearline-review-pass")
    ap.add_argument("--db", help="a PostgreSQL URL (default: SQLite in --dir)")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--against", help="another commit's src folder, measured in the same run")
    ap.add_argument("--rounds", type=int, default=12, help="with --against: turns each")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.db is not None and args.db.startswith("sqlite"):
        ap.error("--db is for PostgreSQL; SQLite is the default (in --dir)")
    if args.against:
        if args.db:
            ap.error("--against is SQLite only (see the docstring)")
        return compare(args)
    import clearline

    accounts, passes, steps, wal_pages = setup(Path(args.dir), args.db)
    if args.serve:
        return serve(passes, steps, wal_pages)
    print(f"clearline from {Path(clearline.__file__).parent}; {accounts:,} open accounts")
    for n in (1, 16, 32):
        passes(n, 20)
        wall, cpu, machine = passes(n, args.reps)
        pages = wal_pages(n, 50)
        wal = "" if pages is None else f"; {pages:.1f} pages of WAL per pass"
        print(
            f"review pass, batch of {n:>2}: {wall:6.2f} ms wall, {cpu:6.2f} ms CPU per pass "
            f"({cpu / n:.2f} ms CPU per review), whole machine {machine:6.2f} ms{wal}"
        )
    print("one household, CPU per call:")
    for name, cpu in steps(args.reps).items():
        print(f"  {name:<34} {cpu:6.3f} ms")
    print(f"done {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    return 0


def serve(passes, steps, wal_pages) -> int:  # noqa: ANN001
    """Answer timing requests on stdin, one JSON line each, for :func:`compare`."""
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        reps = int(line)
        figures = {f"review pass, batch of {n}, ms CPU": passes(n, reps)[1] for n in (1, 16)}
        figures |= {f"review pass, batch of {n}, WAL pages": wal_pages(n, reps) for n in (1, 16)}
        figures |= {f"one household: {k}, ms CPU": v for k, v in steps(reps).items()}
        print(json.dumps(figures), flush=True)
    return 0


def compare(args: argparse.Namespace) -> int:
    """This code and the code at ``--against`` as two processes timed in turns (A B B A
    ...), each on its own copy of one deployment; the median of each figure, the ratio
    (theirs / ours: above 1, ours is faster) and the range of the per-round ratios."""
    base = Path(args.dir) / "deployed"
    deployed(base)  # once, with this code's CLI
    procs = {}
    for name, src in (("this", None), ("against", args.against)):
        env = dict(os.environ)
        if src is not None:
            env["PYTHONPATH"] = str(Path(src).resolve())
        folder = Path(args.dir) / name
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(base, folder)  # the same data and model, no history between runs
        cmd = [sys.executable, __file__, "--dir", str(folder), "--serve"]
        procs[name] = subprocess.Popen(
            cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
    for p in procs.values():
        assert json.loads(p.stdout.readline())["ready"]  # type: ignore[union-attr]
    runs: dict[str, list[dict[str, float]]] = {"this": [], "against": []}
    reps = max(args.reps // 4, 10)
    for turn in range(args.rounds + 1):  # a warm-up turn each, then A B, B A, ...
        order = ("this", "against") if turn % 2 == 0 else ("against", "this")
        for name in order:
            p = procs[name]
            p.stdin.write(f"{reps}\n")  # type: ignore[union-attr]
            p.stdin.flush()  # type: ignore[union-attr]
            got = json.loads(p.stdout.readline())  # type: ignore[union-attr]
            if turn:
                runs[name].append(got)
    for p in procs.values():
        p.stdin.close()  # type: ignore[union-attr]
        p.wait()
    print(f"{'figure':<56}{'this':>9}{'against':>9}{'ratio':>7}  per-round ratios")
    for key in runs["this"][0]:
        ours = [r[key] for r in runs["this"]]
        theirs = [r[key] for r in runs["against"]]
        per_round = sorted(t / o for o, t in zip(ours, theirs, strict=True))
        mo, mt = statistics.median(ours), statistics.median(theirs)
        print(
            f"{key:<56}{mo:>9.3f}{mt:>9.3f}{mt / mo:>6.2f}x  {per_round[0]:.2f}-{per_round[-1]:.2f}"
        )
    print(
        f"against: {args.against}; {len(ours)} rounds of {reps} calls per figure; "
        f"done {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
