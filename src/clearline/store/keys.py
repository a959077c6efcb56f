"""API keys: created, listed and revoked by `clearline keys`, checked on every request.

A key reads ``cl_<key_id>_<secret>``. Only the secret's SHA-256 is stored, so a copy of
the database does not give anyone a working key; the key id lets a request find its row
with one primary-key lookup. Key changes are audited; the secret never is.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from clearline.store import audit
from clearline.store.service_tables import api_keys
from clearline.store.tables import borrowers

ROLES = ("borrower", "analyst", "reviewer", "admin")


class KeyProblem(ValueError):
    """A key operation that cannot be done, with the reason."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, its role and, for borrowers, whose data it sees."""

    key_id: str
    role: str
    borrower_id: str | None = None


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(
    conn: sa.Connection,
    *,
    role: str,
    at: datetime,
    borrower_id: str | None = None,
    label: str = "",
    actor: str = "cli",
) -> tuple[Principal, str]:
    """A new key; returns who it is and the only copy of the key text."""
    if role not in ROLES:
        raise KeyProblem(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if role == "borrower":
        if not borrower_id:
            raise KeyProblem("a borrower key needs --borrower ID")
        found = conn.execute(
            sa.select(borrowers.c.borrower_id).where(borrowers.c.borrower_id == borrower_id)
        ).first()
        if found is None:
            raise KeyProblem(f"no borrower {borrower_id!r} in the database")
    elif borrower_id:
        raise KeyProblem(f"--borrower is only for borrower keys, not {role}")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    conn.execute(
        api_keys.insert().values(
            key_id=key_id,
            secret_sha256=_sha(secret),
            role=role,
            borrower_id=borrower_id,
            label=label,
            created_at=at,
        )
    )
    who = Principal(key_id, role, borrower_id)
    payload = {"role": role, "borrower_id": borrower_id, "label": label}
    audit.append(conn, [audit.Entry(actor, "key.create", f"key:{key_id}", payload)], at=at)
    return who, f"cl_{key_id}_{secret}"


def authenticate(conn: sa.Connection, token: str) -> Principal | None:
    """The principal of a live key, or None (unknown, malformed, wrong secret, revoked)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "cl" or not parts[1] or not parts[2]:
        return None
    row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == parts[1])).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_sha256, _sha(parts[2])):
        return None
    return Principal(row.key_id, row.role, row.borrower_id)


def revoke(conn: sa.Connection, key_id: str, *, at: datetime, actor: str = "cli") -> None:
    row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).first()
    if row is None:
        raise KeyProblem(f"no key {key_id!r}")
    if row.revoked_at is not None:
        raise KeyProblem(f"key {key_id} was already revoked at {row.revoked_at:%Y-%m-%d %H:%M}")
    conn.execute(api_keys.update().where(api_keys.c.key_id == key_id).values(revoked_at=at))
    audit.append(conn, [audit.Entry(actor, "key.revoke", f"key:{key_id}", {})], at=at)


def listing(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every key without its secret hash, oldest first."""
    rows = conn.execute(
        sa.select(
            api_keys.c.key_id,
            api_keys.c.role,
            api_keys.c.borrower_id,
            api_keys.c.label,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
        ).order_by(api_keys.c.created_at, api_keys.c.key_id)
    ).all()
    return [dict(r._mapping) for r in rows]
