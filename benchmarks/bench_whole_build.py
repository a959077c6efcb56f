"""Review passes beside a whole build of the feature snapshot (issue 5): the build in a
thread of the deciding process, as before, against the build in the helper process
(``services/whole_build.py``), and against no build at all, in the same run; then two
workers' helpers asked for one state at once, sharing one build
(``services/build_cache.py``) against each building its own.

Usage::

    .venv/bin/python benchmarks/bench_whole_build.py [--dir D] [--rounds 2] [--batch 16]
        [--pair-rounds 3]

It deploys (or reuses) the 20,000-borrower service of ``bench_review_pass.py`` in
``--dir``, builds the app in this process and, in each round and for each way, runs
review passes of ``--batch`` accounts back to back in this thread while the whole
build runs (for "none", for 6 s): how long the build took, and the passes' wall
time (p50, p90, max). Passes keep this thread busy as the review batcher does at peak.
For the pair, two helpers are asked at once: with the same URL they share one build,
with two spellings of the database's path (``/./``) they keep their builds apart, as
before; it prints when both had answered.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from bench_review_pass import deployed, setup
from load_service import portfolio_facts

from clearline.services import build_cache
from clearline.services.feature_snapshot import build_whole
from clearline.services.whole_build import HelperBuilds

Start = Callable[[threading.Event], Callable[[], float]]


def beside(passes: Callable[[int, int], object], batch: int, start: Start) -> dict[str, float]:
    """Passes back to back until the build ``start`` began is done (at least 20)."""
    walls: list[float] = []
    done = threading.Event()
    finish = start(done)
    while not done.is_set() or len(walls) < 20:
        t = time.perf_counter()
        passes(batch, 1)
        walls.append(1e3 * (time.perf_counter() - t))
    took = finish()
    walls.sort()
    return {
        "build s": took,
        "passes": len(walls),
        "p50 ms": statistics.median(walls),
        "p90 ms": walls[int(0.9 * len(walls))],
        "max ms": walls[-1],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default="/tmp/clearline-review-pass")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--pair-rounds", type=int, default=3)
    args = ap.parse_args()
    url = deployed(Path(args.dir))
    as_of, _ = portfolio_facts(url)
    _accounts, passes, _steps, _wal = setup(Path(args.dir))
    helper = HelperBuilds()
    helper(url, as_of)  # started once, as a worker's warm-up does

    def timed_build(build: Callable[[], object], done: threading.Event) -> Callable[[], float]:
        took: list[float] = []

        def run() -> None:
            t = time.perf_counter()
            build()
            took.append(time.perf_counter() - t)
            done.set()

        thread = threading.Thread(target=run)
        thread.start()
        return lambda: (thread.join(), took[0])[1]

    def idle(done: threading.Event) -> Callable[[], float]:
        threading.Timer(6.0, done.set).start()
        return lambda: 0.0

    ways: dict[str, Start] = {
        "none": idle,
        "thread": lambda done: timed_build(lambda: build_whole(url, as_of), done),
        "helper": lambda done: timed_build(lambda: fresh(helper, url, as_of), done),
    }
    passes(args.batch, 20)
    got: dict[str, list[dict[str, float]]] = {k: [] for k in ways}
    try:
        for _ in range(args.rounds):
            for name, start in ways.items():
                got[name].append(beside(passes, args.batch, start))
    finally:
        helper.close()
    print(f"review passes of {args.batch} beside a whole build, {args.rounds} rounds (medians):")
    mid = {k: {f: statistics.median(r[f] for r in rs) for f in rs[0]} for k, rs in got.items()}
    for name, m in mid.items():
        print(
            f"  {name:<7} build {m['build s']:6.2f} s; {m['passes']:5.0f} passes: p50 "
            f"{m['p50 ms']:6.1f} ms, p90 {m['p90 ms']:6.1f}, max {m['max ms']:8.1f}"
        )
    t, h = mid["thread"], mid["helper"]
    print(
        f"  thread / helper: build {t['build s'] / h['build s']:.2f}x, pass p50 "
        f"{t['p50 ms'] / h['p50 ms']:.2f}x, pass max {t['max ms'] / h['max ms']:.2f}x"
    )
    pair(url, as_of, args.pair_rounds)
    print(f"done {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    return 0


def fresh(helper: HelperBuilds, url: str, as_of: date) -> object:
    """A build by ``helper``, not an answer from one kept earlier."""
    build_cache.forget(url)
    return helper(url, as_of)


def pair(url: str, as_of: date, rounds: int) -> None:
    """Seconds until two helpers asked at once for one state have both answered."""
    path = sa.make_url(url).database
    assert path is not None and "/" in path, url
    head, name = path.rsplit("/", 1)
    apart = str(sa.make_url(url).set(database=f"{head}/./{name}"))
    helpers = HelperBuilds(), HelperBuilds()
    for h, u in zip(helpers, (url, apart), strict=True):
        fresh(h, u, as_of)  # started, as after a worker's warm-up

    def both(urls: tuple[str, str]) -> float:
        for u in set(urls):
            build_cache.forget(u)
        threads = [
            threading.Thread(target=h, args=(u, as_of)) for h, u in zip(helpers, urls, strict=True)
        ]
        t = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - t

    got: dict[str, list[float]] = {"shared": [], "apart": []}
    try:
        for _ in range(rounds):
            got["shared"].append(both((url, url)))
            got["apart"].append(both((url, apart)))
    finally:
        for h in helpers:
            h.close()
    mid = {k: statistics.median(v) for k, v in got.items()}
    print(f"two helpers asked for one state at once, {rounds} rounds (medians, both answered):")
    for k, v in got.items():
        print(f"  {k:<6} {mid[k]:6.2f} s  ({', '.join(f'{x:.2f}' for x in v)})")
    print(f"  apart / shared: {mid['apart'] / mid['shared']:.2f}x")


if __name__ == "__main__":
    raise SystemExit(main())
