"""The audit trail: append-only and hash-chained, verifiable end to end.

Entry ``n`` stores ``hash = sha256(canonical([seq, at, actor, action, subject, payload,
prev_hash]))`` where ``prev_hash`` is entry ``n-1``'s hash (64 zeros for the first).
Editing, deleting or reordering any entry breaks the chain at that entry; deleting the
tail is caught by ``audit_head``, which every append updates in the same transaction.

Appends lock the single ``audit_head`` row (``SELECT ... FOR UPDATE`` in PostgreSQL; the
write transaction in SQLite), so concurrent writers serialise and the chain stays linear.
Retention pruning removes whole old prefixes only and records where the chain now starts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from clearline.store.bulk import insert_rows
from clearline.store.service_tables import GENESIS, audit_head, audit_log

#: default retention: 5 years covers US Reg B (25 months), the EU AI Act (6 months) and
#: China's PIPL (3 years).
DEFAULT_RETENTION = timedelta(days=5 * 366)


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
).encode  # what json.dumps builds per call with these options


def canonical(value: Any) -> str:
    """One text for one value: sorted keys, no spaces, UTF-8 kept."""
    return _CANONICAL(value)


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    seq: int, at: datetime, actor: str, action: str, subject: str, payload: str, prev: str
) -> str:
    return _chained(seq, _unchained(_instant(at), actor, action, subject, payload), prev)


# The hashed text is canonical([seq, at, actor, action, subject, payload, prev]), built
# in two parts so that append can write the middle before it locks the chain's head.
def _unchained(instant: str, actor: str, action: str, subject: str, payload: str) -> str:
    """The hashed text's middle: all but the entry's place in the chain."""
    return canonical([instant, actor, action, subject, payload])[1:-1]


def _chained(seq: int, middle: str, prev: str) -> str:
    return hashlib.sha256(f"[{int(seq)},{middle},{canonical(prev)}]".encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One thing to record: who did what to which subject, with the details."""

    actor: str
    action: str
    subject: str
    payload: Mapping[str, Any]


# Built once: every decision batch runs both.
_HEAD = sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
_MOVE_HEAD = (
    audit_head.update()
    .where(audit_head.c.id == 1)
    .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)


def append(conn: sa.Connection, entries: Iterable[Entry], *, at: datetime) -> list[int]:
    """Append entries in order inside the caller's transaction; returns their seq."""
    items = list(entries)
    if not items:
        return []
    # All of an entry's hashed text but its place in the chain is written before the
    # head is locked: the lock makes every other writer wait, so it covers only the
    # chaining.
    instant = _instant(at)
    payloads = [canonical(dict(item.payload)) for item in items]
    middles = [
        _unchained(instant, item.actor, item.action, item.subject, payload)
        for item, payload in zip(items, payloads, strict=True)
    ]
    head = conn.execute(_HEAD).one()
    seq, prev = int(head.seq), str(head.hash)
    rows = []
    for item, payload, middle in zip(items, payloads, middles, strict=True):
        seq += 1
        digest = _chained(seq, middle, prev)
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": item.actor,
                "action": item.action,
                "subject": item.subject,
                "payload": payload,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    insert_rows(conn, audit_log, rows)
    conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})
    return [r["seq"] for r in rows]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
        }


def verify(conn: sa.Connection, *, batch: int = 10_000) -> Verdict:
    """Walk the chain from its base to the head; name the first entry that is wrong."""
    head = conn.execute(sa.select(audit_head).where(audit_head.c.id == 1)).one_or_none()
    if head is None:
        return Verdict(False, 0, None, "audit_head row is missing")
    expected_seq, prev, n = int(head.base_seq) + 1, str(head.base_hash), 0
    last = int(head.base_seq)
    while True:
        rows = conn.execute(
            sa.select(audit_log)
            .where(audit_log.c.seq > last)
            .order_by(audit_log.c.seq)
            .limit(batch)
        ).all()
        for r in rows:
            seq = int(r.seq)
            if seq != expected_seq:
                return Verdict(False, n, expected_seq, f"entry {expected_seq} is missing")
            if r.prev_hash != prev:
                return Verdict(False, n, seq, f"entry {seq} does not link to entry {seq - 1}")
            digest = entry_hash(seq, r.at, r.actor, r.action, r.subject, r.payload, r.prev_hash)
            if digest != r.hash:
                return Verdict(False, n, seq, f"entry {seq} was changed after it was written")
            prev, expected_seq, n, last = r.hash, seq + 1, n + 1, seq
        if len(rows) < batch:
            break
    if last != int(head.seq) or prev != head.hash:
        bad = last + 1 if last < int(head.seq) else int(head.seq) + 1
        return Verdict(False, n, bad, f"chain ends at entry {last}, head says {int(head.seq)}")
    return Verdict(True, n)


def prune(
    conn: sa.Connection,
    *,
    now: datetime,
    retention: timedelta = DEFAULT_RETENTION,
    actor: str = "system",
) -> int:
    """Delete entries older than ``retention`` (a whole prefix) and record it; returns
    how many were removed. The chain keeps verifying from the new base."""
    cutoff = now - retention
    head = conn.execute(sa.select(audit_head).where(audit_head.c.id == 1).with_for_update()).one()
    last_old = conn.execute(
        sa.select(audit_log.c.seq, audit_log.c.hash)
        .where(audit_log.c.at < cutoff)
        .order_by(audit_log.c.seq.desc())
        .limit(1)
    ).one_or_none()
    if last_old is None:
        return 0
    removed = conn.execute(audit_log.delete().where(audit_log.c.seq <= last_old.seq)).rowcount
    conn.execute(
        audit_head.update()
        .where(audit_head.c.id == 1)
        .values(base_seq=last_old.seq, base_hash=last_old.hash)
    )
    payload = {"removed": removed, "through_seq": int(last_old.seq), "cutoff": _instant(cutoff)}
    append(conn, [Entry(actor, "audit.prune", f"audit:{int(head.base_seq)}", payload)], at=now)
    return int(removed)


__all__ = ["DEFAULT_RETENTION", "GENESIS", "Entry", "Verdict", "append", "prune", "verify"]
