"""The service under load: deployed with the CLI into a fresh database, served by
``clearline serve`` on a free loopback port (used by ``bench_api_load.py``)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


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


def _ids_and_audited(
    url: str, ids_sql: str, params: dict[str, str], action: str
) -> tuple[set[str], Counter[str]]:
    """The ids ``ids_sql`` selects, and how many ``action`` audit entries name each
    subject."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            ids = set(conn.execute(sa.text(ids_sql), params).scalars())
            subjects = sa.text("select subject from audit_log where action = :a")
            return ids, Counter(conn.execute(subjects, {"a": action}).scalars())
    finally:
        engine.dispose()


def stored(url: str) -> tuple[set[str], Counter[str]]:
    """Decision ids in the table, and how many audit entries name each as subject."""
    return _ids_and_audited(url, "select decision_id from decisions", {}, "decision.create")


def stored_feed(url: str, prefix: str) -> tuple[set[str], Counter[str]]:
    """Event ids in the table that start with ``prefix``, and how many ``load.create``
    audit entries name each load (subject ``load:<id>``)."""
    query = "select event_id from events where event_id like :p"
    return _ids_and_audited(url, query, {"p": prefix + "%"}, "load.create")


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
