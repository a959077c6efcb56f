"""Who may call what: one permission table, one check per route.

Every route depends on exactly one :func:`permit`; a test walks every route with every
role against :data:`PERMISSIONS`, and ``docs/service.md`` shows the same table.
Borrower keys are further scoped to their own borrower's data by the routes
(someone else's account is "not found", so ids cannot be probed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio
from anyio.lowlevel import RunVar
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clearline.api.problems import ProblemError
from clearline.store import keys
from clearline.store.keys import Principal

ALL = ("borrower", "analyst", "reviewer", "admin")
STAFF = ("analyst", "reviewer", "admin")

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "me.read": ALL,
    "accounts.read": ALL,  # borrowers: their own only
    "decisions.read": ALL,  # borrowers: their own only
    "borrowers.read": ALL,  # borrowers: themselves only
    "reviews.create": ("analyst", "admin"),
    "loads.read": ("analyst", "admin"),
    "loads.create": ("admin",),
    "policies.read": STAFF,
    "policies.publish": ("admin",),
    "models.read": STAFF,
    "models.sign_off": ("admin",),
    "audit.read": ("admin",),
}

_bearer = HTTPBearer(auto_error=False)


async def principal(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    # Async, so a cached key is checked on the event loop: a sync dependency is a hop to
    # the thread pool and back on every request. Only a cache miss reads the database,
    # on threads of its own: the few of the shared pool may all be held by loads that
    # wait for the SQLite writer, and a review whose key the cache let go would wait
    # behind them.
    if creds is None or creds.scheme.lower() != "bearer":
        raise ProblemError(401, "Unauthorized", "send Authorization: Bearer <key>")
    cache: KeyCache = request.app.state.keys
    found = cache.cached(creds.credentials)
    if found is None:
        found = await anyio.to_thread.run_sync(
            cache.get, creds.credentials, request.app.state.db, limiter=_key_threads()
        )
    if found is None:
        raise ProblemError(401, "Unauthorized", "unknown or revoked key")
    return found


#: The threads that look keys up, one limiter per event loop (as anyio keeps its own
#: default one): a limiter made on one loop hangs a request on another, and a
#: TestClient used without ``with`` runs each request on a loop of its own.
_KEY_THREADS: RunVar[anyio.CapacityLimiter] = RunVar("clearline_key_threads")


def _key_threads() -> anyio.CapacityLimiter:
    try:
        return _KEY_THREADS.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(2)
        _KEY_THREADS.set(limiter)
        return limiter


async def cached_principal(request: Request) -> Principal | None:
    """The caller when its key is in the cache, else None: what :func:`principal`
    finds without reading the database (``api/review_shortcut.py``)."""
    creds = await _bearer(request)
    if creds is None:  # no bearer key: HTTPBearer's own reading of the header
        return None
    found: Principal | None = request.app.state.keys.cached(creds.credentials)
    return found


def permit(permission: str) -> Callable[..., Awaitable[Principal]]:
    roles = PERMISSIONS[permission]

    async def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if who.role not in roles:
            raise ProblemError(
                403, "Forbidden", f"role {who.role} does not have permission {permission}"
            )
        return who

    check.permission = permission  # type: ignore[attr-defined]
    return check


def own_borrower(who: Principal, borrower_id: str, what: str, ident: str) -> None:
    """A borrower key sees only its borrower's data; anything else does not exist."""
    if who.role == "borrower" and who.borrower_id != borrower_id:
        raise ProblemError(404, "Not found", f"no {what} {ident!r}")


class KeyCache:
    """Looks keys up in the database; a hit is kept for ``ttl`` seconds so a busy
    service does not read the same row on every request (a revocation takes effect
    within ``ttl``; 0 disables the cache)."""

    def __init__(self, ttl: float = 2.0) -> None:
        import time

        self._ttl, self._clock = ttl, time.monotonic
        self._hits: dict[str, tuple[float, Principal]] = {}

    def cached(self, token: str) -> Principal | None:
        """The key's principal if a lookup within ``ttl`` found it, else None."""
        hit = self._hits.get(token)
        if hit is not None and self._clock() - hit[0] < self._ttl:
            return hit[1]
        return None

    def get(self, token: str, db: object) -> Principal | None:
        now = self._clock()
        hit = self.cached(token)
        if hit is not None:
            return hit
        with db.read() as conn:  # type: ignore[attr-defined]
            found = keys.authenticate(conn, token)
        if found is not None and self._ttl > 0:
            if len(self._hits) > 10_000:
                self._hits.clear()
            self._hits[token] = (now, found)
        return found
