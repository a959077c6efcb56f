"""Who may call what (issue #5): every route carries exactly one permission check, every
route is called by every role (and with no key, and with a revoked key) and answers as
``PERMISSIONS`` says, borrower keys see only their own borrower, and docs/service.md
shows the table the code enforces.

One service is deployed for the whole module (a deployment per test would cost half a
second each across some 120 tests); every call is still its own test, named by route and
caller, so a failure says which endpoint let whom in or kept whom out.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clearline.api import Settings, create_app
from clearline.api.auth import PERMISSIONS
from clearline.api.db import Database
from clearline.api.permissions_doc import (
    api_routes,
    documented_table,
    endpoints,
    permission_table,
    permissions_of,
)
from clearline.core.portfolio import Portfolio
from clearline.store import keys
from clearline.store.files import read_portfolio, read_raw, write_portfolio
from clearline.store.policies import PolicyStore
from clearline.store.registry import Registry
from tests.service_support import BASELINE, NOW, ROOT, Service, Trained, deploy

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DOC = ROOT / "docs" / "service.md"
ROLES = keys.ROLES
CALLERS = (*ROLES, "no key", "revoked key")


@dataclass(frozen=True)
class Case:
    """One call of one route: its placeholders are filled from the deployed data (and
    ``fill``), and a role the route permits gets ``ok`` (the handler ran)."""

    method: str
    path: str  # as the route declares it
    ok: int
    body: str | None = None  # a key of Walk.bodies
    fill: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path.format_map(_Keep(self.fill))}"


class _Keep(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


CASES = (
    Case("GET", "/v1/me", 200),
    Case("GET", "/v1/accounts", 200),
    Case("GET", "/v1/accounts/{account_id}", 200),
    Case("GET", "/v1/accounts/{account_id}/decisions", 200),
    Case("GET", "/v1/decisions/{decision_id}", 200),
    Case("GET", "/v1/borrowers/{borrower_id}", 200),
    Case("POST", "/v1/accounts/{account_id}/review", 201, "review"),
    Case("GET", "/v1/loads", 200),
    Case("POST", "/v1/loads", 201, "load"),
    Case("GET", "/v1/policies", 200),
    Case("GET", "/v1/policies/{ref}", 200),
    Case("POST", "/v1/policies", 200, "policy"),  # the same text again: not a new release
    Case("GET", "/v1/models", 200),
    Case("GET", "/v1/models/{model_version}", 200),
    # The deployed model is already approved, so approving it is a conflict the
    # handler reports; retiring it works (the walk's app pins the model by folder,
    # so reviews keep working whatever order the calls run in).
    Case("POST", "/v1/models/{model_version}/{move}", 409, "sign_off", {"move": "approve"}),
    Case("POST", "/v1/models/{model_version}/{move}", 200, "sign_off", {"move": "retire"}),
    Case("GET", "/v1/audit", 200),
    Case("GET", "/v1/audit/verify", 200),
)


@dataclass
class Walk:
    svc: Service
    ids: dict[str, str]  # path placeholder -> a real id the borrower key may see
    bodies: dict[str, Any]
    callers: dict[str, dict[str, str]]  # caller -> request headers
    permission: dict[tuple[str, str], str]  # (method, path) -> the route's permission
    other: dict[str, str]  # the other borrower's ids


# ---- fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def bare_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The routes only: an app on an empty database (no model, no keys)."""
    root = tmp_path_factory.mktemp("bare")
    app = create_app(
        Settings(db_url=f"sqlite:///{root / 'clearline.db'}", registry=root, policies=root)
    )
    yield app
    app.state.db.dispose()


@pytest.fixture(scope="module")
def walk(
    trained: Trained, module_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Walk]:
    root = tmp_path_factory.mktemp("walk")
    svc = deploy(trained, module_db_url, root)
    svc.client.app.state.db.dispose()  # never started; replaced by the pinned app below
    pinned = Settings(
        db_url=module_db_url,
        registry=svc.registry,
        policies=svc.policies,
        model=str(trained.model_dir),
        clock=lambda: NOW,
        key_cache_seconds=0,
    )
    svc.client = TestClient(create_app(pinned), raise_server_exceptions=False)
    database = Database(module_db_url)
    with database.write() as conn:
        who, revoked = keys.create(conn, role="admin", at=NOW)
        keys.revoke(conn, who.key_id, at=NOW)
        mine = _first_account(conn, svc.borrower_id)
        theirs = _first_account(conn, svc.other_borrower_id)
    database.dispose()
    ids = {
        "account_id": mine,
        "decision_id": _decide(svc, mine),
        "borrower_id": svc.borrower_id,
        "ref": PolicyStore(svc.policies).list()[0].version,
        "model_version": Registry(svc.registry).list()[0].model_version,
    }
    other = {
        "account_id": theirs,
        "decision_id": _decide(svc, theirs),
        "borrower_id": svc.other_borrower_id,
    }
    bodies = {
        "review": {"as_of": svc.as_of.isoformat()},
        "load": _load_body(trained, svc.borrower_id, root / "load"),
        "policy": {"yaml": BASELINE.read_text(encoding="utf-8")},
        "sign_off": {},
    }
    callers = {role: svc.headers(role) for role in ROLES}
    callers["no key"] = {}
    callers["revoked key"] = {"Authorization": f"Bearer {revoked}"}
    permission = {(m, p): perm for m, p, perm in endpoints(svc.client.app)}
    with svc.client:
        yield Walk(svc, ids, bodies, callers, permission, other)


def _first_account(conn: sa.Connection, borrower_id: str) -> str:
    return str(
        conn.execute(
            sa.text("select min(account_id) from accounts where borrower_id = :b"),
            {"b": borrower_id},
        ).scalar_one()
    )


def _decide(svc: Service, account_id: str) -> str:
    r = svc.client.post(
        f"/v1/accounts/{account_id}/review",
        headers=svc.headers("analyst"),
        json={"as_of": svc.as_of.isoformat()},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["decision"]["decision_id"])


def _load_body(trained: Trained, borrower_id: str, folder: Path) -> dict[str, Any]:
    """One borrower's rows as the contract's CSV text: already loaded, so the load adds
    no events and upserts the same borrower and account rows (valid, and harmless)."""
    p = read_portfolio(trained.portfolio_dir)
    accounts = p.accounts.filter(pl.col("borrower_id") == borrower_id)
    write_portfolio(
        Portfolio(
            borrowers=p.borrowers.filter(pl.col("borrower_id") == borrower_id),
            accounts=accounts,
            events=p.events.filter(pl.col("account_id").is_in(accounts["account_id"].to_list())),
            links=p.links.clear(),
            macro=p.macro.clear(),
        ),
        folder,
        fmt="csv",
    )
    raw, _ = read_raw(folder)
    return {name: raw[name].to_dicts() for name in ("borrowers", "accounts", "events")}


def _audit_seq(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("select seq from audit_head")).scalar_one())
    finally:
        engine.dispose()


# ---- every route is checked ----------------------------------------------------------


def test_every_route_checks_exactly_one_known_permission(bare_app: FastAPI) -> None:
    routes = api_routes(bare_app)
    documented = {
        (method.upper(), path)
        for path, ops in bare_app.openapi()["paths"].items()
        for method in ops
    }
    # The routes looked at are the ones served (so an empty list cannot pass).
    assert documented
    assert {(m, r.path) for r in routes for m in r.methods - {"HEAD"}} == documented
    for route in routes:
        found = permissions_of(route)
        assert len(found) == 1, f"{sorted(route.methods)} {route.path} has permits {found}"
        assert found[0] in PERMISSIONS, f"{route.path}: unknown permission {found[0]}"


def test_every_dependency_of_every_route_is_async(bare_app: FastAPI) -> None:
    # FastAPI runs a plain-def dependency on its thread pool: about 0.4 ms per request,
    # and a fight for the interpreter lock with the review batcher. Endpoints that read
    # the database may be plain def (that is what the pool is for); their checks not.
    def sync_dependencies(dependant: Any) -> Iterator[str]:
        for dep in dependant.dependencies:
            call = dep.call
            if call is not None and not (
                inspect.iscoroutinefunction(call)
                or inspect.iscoroutinefunction(type(call).__call__)  # an object with async __call__
            ):
                yield getattr(call, "__qualname__", repr(call))
            yield from sync_dependencies(dep)

    routes = api_routes(bare_app)
    assert routes
    found = {(r.path, name) for r in routes for name in sync_dependencies(r.dependant)}
    assert not found, sorted(found)


def test_every_permission_guards_a_route_and_names_known_roles(bare_app: FastAPI) -> None:
    used = {perm for _, _, perm in endpoints(bare_app)}
    assert used == set(PERMISSIONS)
    for perm, roles in PERMISSIONS.items():
        assert roles and set(roles) <= set(ROLES), perm


def test_the_walk_calls_every_route(bare_app: FastAPI) -> None:
    assert {(c.method, c.path) for c in CASES} == {(m, p) for m, p, _ in endpoints(bare_app)}


def test_the_documented_permission_table_is_the_enforced_one(bare_app: FastAPI) -> None:
    documented = documented_table(DOC.read_text(encoding="utf-8"))
    assert documented == permission_table(bare_app), (
        "docs/service.md is out of date: run "
        "`.venv/bin/python -m clearline.api.permissions_doc docs/service.md`"
    )


# ---- every route x every caller -------------------------------------------------------


@pytest.mark.db
@pytest.mark.parametrize(
    ("case", "caller"),
    [pytest.param(c, who, id=f"{c.label} as {who}") for c in CASES for who in CALLERS],
)
def test_a_caller_gets_exactly_what_the_permission_table_allows(
    walk: Walk, case: Case, caller: str
) -> None:
    permission = walk.permission[(case.method, case.path)]
    url = case.path.format(**walk.ids, **case.fill)
    body = walk.bodies[case.body] if case.body else None
    before = _audit_seq(walk.svc.url) if case.method != "GET" else None
    r = walk.svc.client.request(case.method, url, headers=walk.callers[caller], json=body)
    if caller in ("no key", "revoked key"):
        expected = 401
    elif caller in PERMISSIONS[permission]:
        expected = case.ok
    else:
        expected = 403
    assert r.status_code == expected, f"{permission}: {r.text[:500]}"
    if expected in (401, 403):
        problem = r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
        assert problem["status"] == expected and problem["detail"]
        if before is not None:  # a refused write leaves no trace
            assert _audit_seq(walk.svc.url) == before


# ---- borrower keys see only their own borrower ------------------------------------------

SCOPED = (
    "/v1/accounts/{account_id}",
    "/v1/accounts/{account_id}/decisions",
    "/v1/decisions/{decision_id}",
    "/v1/borrowers/{borrower_id}",
)


@pytest.mark.db
@pytest.mark.parametrize("path", SCOPED)
def test_a_borrower_key_reads_its_own_data(walk: Walk, path: str) -> None:
    r = walk.svc.client.get(path.format(**walk.ids), headers=walk.callers["borrower"])
    assert r.status_code == 200, r.text
    body = r.json()
    rows = body["items"] if "items" in body else [body]
    assert rows and {row["borrower_id"] for row in rows} == {walk.svc.borrower_id}


@pytest.mark.db
@pytest.mark.parametrize("path", SCOPED)
def test_another_borrowers_data_is_not_found_for_a_borrower_key(walk: Walk, path: str) -> None:
    client, borrower = walk.svc.client, walk.callers["borrower"]
    theirs = client.get(path.format(**walk.other), headers=borrower)
    assert theirs.status_code == 404, theirs.text
    # Indistinguishable from an id that does not exist, so ids cannot be probed.
    missing = {k: "no-such-id" for k in walk.other}
    absent = client.get(path.format(**missing), headers=borrower)
    assert absent.status_code == 404
    ident = next(v for k, v in walk.other.items() if "{" + k + "}" in path)
    assert theirs.json()["title"] == absent.json()["title"]
    assert theirs.json()["detail"].replace(ident, "?") == absent.json()["detail"].replace(
        "no-such-id", "?"
    )
    # ...and the data is there: the other borrower's own key reads it.
    own_key = walk.svc.headers("other_borrower")
    assert client.get(path.format(**walk.other), headers=own_key).status_code == 200
