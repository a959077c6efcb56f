"""What one review pass costs in-process, without HTTP (issue 5): the batcher's write
transaction for batches of 1 and 16 random open accounts, and its steps for one
household.

Usage::

    .venv/bin/python benchmarks/bench_review_pass.py [--dir D] [--reps 200] [--against SRC]

It deploys a service with the CLI as ``bench_api_load.py`` does (20,000 borrowers) into
``--dir`` (kept, and reused when it already holds one), builds the app in this process
and times ``ReviewBatcher._pass`` directly: wall and CPU time per pass, median of
``--reps``. The passes write real decisions, so each run adds to the database; runs of
two commits compare best on two fresh directories. To compare with another commit, run
this file with ``PYTHONPATH=<worktree>/src``, or give ``--against <worktree>/src``: the
same run then measures both, each in a fresh directory under ``--dir``, and prints the
ratio of every figure (``git worktree add /tmp/old <commit>`` gives such a tree).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from load_service import deploy, portfolio_facts


def timed(fn, reps: int) -> tuple[float, float]:  # noqa: ANN001
    """Median wall and mean CPU milliseconds of ``fn()`` over ``reps`` calls."""
    walls = []
    c0 = time.process_time()
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
    return 1e3 * statistics.median(walls), 1e3 * (time.process_time() - c0) / reps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default="/tmp/clearline-review-pass")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--against", help="another commit's src folder, measured in the same run")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.against:
        return compare(args)
    tmp = Path(args.dir)
    tmp.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp / 'clearline.db'}"
    if not (tmp / "key").exists():
        (tmp / "key").write_text(deploy(url, tmp, 20_000, 7))
    as_of, ids = portfolio_facts(url)

    import clearline
    from clearline.api.app import Settings, _warm_up, create_app
    from clearline.api.batcher import Job
    from clearline.services import line_review as LR
    from clearline.store.household import households_of, read_lines

    say = (lambda *a, **k: None) if args.json else print
    figures: dict[str, float] = {}
    say(f"clearline from {Path(clearline.__file__).parent}; {len(ids):,} open accounts")
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

    for n in (1, 16):
        for _ in range(20):
            review(n)
        wall, cpu = timed(lambda n=n: review(n), args.reps)
        figures[f"review pass, batch of {n}, ms CPU"] = cpu
        say(
            f"review pass, batch of {n:>2}: {wall:6.2f} ms wall, {cpu:6.2f} ms CPU per pass "
            f"({cpu / n:.2f} ms CPU per review)"
        )

    dep, snap = app.state.deployer.current(), app.state.snapshot
    account = ids[5]
    with app.state.db.read() as conn:
        household = households_of(conn, [account])[account]
        lines = read_lines(conn, household, lock=False)
        inputs = LR._inputs(conn, household, lines, as_of, snap)
        steps = {
            "households_of": lambda: households_of(conn, [account]),
            "inputs (snapshot, line, history)": lambda: LR._inputs(
                conn, household, lines, as_of, snap
            ),
            "score + decide (full trace)": lambda: LR._decide_inputs(dep, inputs, as_of),
        }
        say(f"one household of {len(household)} accounts, CPU per call:")
        for name, fn in steps.items():
            figures[f"one household: {name}, ms CPU"] = cpu = timed(fn, args.reps)[1]
            say(f"  {name:<34} {cpu:6.3f} ms")
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"done {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    return 0


def compare(args: argparse.Namespace) -> int:
    """This code and the code at ``--against``, one after the other in this run, each in
    a fresh directory; the ratio of every figure (theirs / ours: above 1, ours is
    faster)."""
    runs = {}
    for name, src in (("this", None), ("against", args.against)):
        env = dict(os.environ)
        if src is not None:
            env["PYTHONPATH"] = str(Path(src).resolve())
        folder = Path(args.dir) / name
        cmd = [sys.executable, __file__, "--dir", str(folder), "--reps", str(args.reps)]
        done = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{name} run failed: {done.stderr[-2000:]}")
        runs[name] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{'figure':<56}{'this':>10}{'against':>10}{'ratio':>8}")
    for key, ours in runs["this"].items():
        theirs = runs["against"][key]
        print(f"{key:<56}{ours:>10.3f}{theirs:>10.3f}{theirs / ours:>7.2f}x")
    print(f"against: {args.against}; done {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    return 0


if __name__ == "__main__":
    sys.exit(main())
