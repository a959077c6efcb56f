"""`clearline keys ...` and `clearline audit ...`: API keys and the audit trail of the service.

Key changes and pruning are written in one transaction with their audit entry, so the
trail never misses a change that happened (nor records one that did not).
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer

from clearline.cli_support import DEFAULT_DB, JsonOpt, emit, err, fail, guarded, show
from clearline.store import audit, keys
from clearline.store.db import DatabaseNotReady, make_engine, upgrade
from clearline.store.service_tables import audit_log

keys_app = typer.Typer(
    help="Create, list and revoke API keys (stored hashed).", no_args_is_help=True
)
audit_app = typer.Typer(
    help="Verify, list and prune the hash-chained audit trail.", no_args_is_help=True
)

DbOpt = Annotated[str, typer.Option("--db", envvar="CLEARLINE_DB", help="Database URL.")]

#: The EU AI Act asks deployers to keep logs for at least six months (Art. 26(6)).
MIN_RETENTION_DAYS = 183


def actor() -> str:
    """Who runs the command, as recorded in the audit trail."""
    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - KeyError/OSError when the uid has no name
        name = ""
    return f"cli:{name or 'cli'}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@contextmanager
def _writing(url: str) -> Iterator[sa.Connection]:
    """One write transaction (migrated first; SQLite takes its write lock up front)."""
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect().execution_options(clearline_write=True) as conn, conn.begin():
            yield conn
    finally:
        engine.dispose()


_FIRST = "run `clearline ingest` or `clearline keys create` first"


@contextmanager
def _reading(url: str) -> Iterator[sa.Connection]:
    """One read transaction on a consistent snapshot; never creates or migrates."""
    parsed = sa.engine.make_url(url)
    db_file = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and db_file not in ("", ":memory:"):
        if not Path(db_file).exists():
            raise DatabaseNotReady(f"no database at {db_file}; {_FIRST}")
    engine = make_engine(url)
    try:
        conn = engine.connect()
        if conn.dialect.name == "postgresql":
            # Head and entries must come from one snapshot, or an append committed
            # between the two reads would look like a broken chain.
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn, conn.begin():
            if not sa.inspect(conn).has_table("audit_head"):
                shown = engine.url.render_as_string(hide_password=True)
                raise DatabaseNotReady(f"no service tables in {shown}; {_FIRST}")
            yield conn
    finally:
        engine.dispose()


# ---- keys ----------------------------------------------------------------------------


@keys_app.command("create")
@guarded
def create_key(
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(keys.ROLES)}.")],
    borrower: Annotated[
        str | None, typer.Option("--borrower", help="Borrower id (borrower keys only).")
    ] = None,
    label: Annotated[str, typer.Option("--label", help="What the key is for.")] = "",
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Print a new key. Only its hash is stored: this is the one time it is shown."""
    with _writing(db) as conn:
        who, text = keys.create(
            conn,
            role=role,
            borrower_id=borrower,
            label=label,
            at=datetime.now(UTC),
            actor=actor(),
        )
    payload = {"key": text, "key_id": who.key_id, "role": who.role, "borrower_id": who.borrower_id}

    def human() -> None:
        sys.stdout.write(text + "\n")  # alone on stdout, so `$(clearline keys create ...)` works
        show({k: v for k, v in payload.items() if k != "key"})
        err.print("store the key now: it cannot be shown again", highlight=False)

    emit(payload, as_json, human)


@keys_app.command("list")
@guarded
def list_keys(db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Every key, oldest first, with its role and state (never its secret or hash)."""
    with _reading(db) as conn:
        rows = keys.listing(conn)
    out = [
        {
            "key_id": r["key_id"],
            "role": r["role"],
            "borrower_id": r["borrower_id"],
            "label": r["label"],
            "created_at": _iso(r["created_at"]),
            "revoked_at": _iso(r["revoked_at"]),
        }
        for r in rows
    ]

    def human() -> None:
        if not out:
            err.print("no keys")
        for r in out:
            state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "live"
            whose = f" {r['borrower_id']}" if r["borrower_id"] else ""
            err.print(
                f"{r['key_id']}  {r['role']}{whose}  created {r['created_at']}  {state}"
                f"  {r['label']}",
                highlight=False,
                soft_wrap=True,
            )

    emit({"keys": out}, as_json, human)


@keys_app.command("revoke")
@guarded
def revoke_key(
    key_id: Annotated[str, typer.Argument(help="The key id (as in `clearline keys list`).")],
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a key: every later request with it is refused."""
    at = datetime.now(UTC)
    with _writing(db) as conn:
        keys.revoke(conn, key_id, at=at, actor=actor())
    payload = {"key_id": key_id, "revoked_at": at.isoformat()}
    emit(payload, as_json, lambda: show(payload))


# ---- audit ---------------------------------------------------------------------------


@audit_app.command("verify")
@guarded
def verify_audit(db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Walk the whole chain; exit 1 naming the first edited, deleted or reordered entry."""
    with _reading(db) as conn:
        verdict = audit.verify(conn)
    if verdict.ok:
        payload = {"ok": True, "entries": verdict.entries}
        emit(payload, as_json, lambda: show(payload))
        return
    if as_json:
        sys.stdout.write(json.dumps(verdict.as_dict()) + "\n")
    where = f" at entry {verdict.first_bad_seq}" if verdict.first_bad_seq is not None else ""
    fail(f"audit trail broken{where}: {verdict.problem}", code=1)


@audit_app.command("prune")
@guarded
def prune_audit(
    retention_days: Annotated[
        int,
        typer.Option("--retention-days", help=f"Keep this many days (>= {MIN_RETENTION_DAYS})."),
    ] = audit.DEFAULT_RETENTION.days,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Delete entries older than the retention period; the chain keeps verifying."""
    if retention_days < MIN_RETENTION_DAYS:
        raise ValueError(
            f"--retention-days {retention_days} is below the legal minimum of "
            f"{MIN_RETENTION_DAYS} days (EU AI Act: 6 months)"
        )
    with _writing(db) as conn:
        removed = audit.prune(
            conn,
            now=datetime.now(UTC),
            retention=timedelta(days=retention_days),
            actor=actor(),
        )
    payload = {"removed": removed, "retention_days": retention_days}
    emit(payload, as_json, lambda: show(payload))


@audit_app.command("list")
@guarded
def list_audit(
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="How many of the last entries.")
    ] = 20,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """The last entries of the trail, oldest first."""
    with _reading(db) as conn:
        rows = conn.execute(
            sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
        ).all()
    entries: list[dict[str, Any]] = [
        {
            "seq": int(r.seq),
            "at": _iso(r.at),
            "actor": r.actor,
            "action": r.action,
            "subject": r.subject,
            "payload": json.loads(r.payload),
        }
        for r in reversed(rows)
    ]

    def human() -> None:
        if not entries:
            err.print("no audit entries")
        for e in entries:
            details = json.dumps(e["payload"], ensure_ascii=False, sort_keys=True)
            err.print(
                f"{e['seq']:>8}  {e['at']}  {e['actor']}  {e['action']}  {e['subject']}  {details}",
                highlight=False,
                soft_wrap=True,
            )

    emit({"entries": entries}, as_json, human)
