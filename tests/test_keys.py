"""API keys on SQLite and PostgreSQL: only a hash is stored, revoked and wrong keys are
refused, borrower keys belong to a real borrower, and every change is audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
import sqlalchemy as sa

from clearline.cli import main
from clearline.core.portfolio import Portfolio
from clearline.sim import SimConfig, simulate
from clearline.store import audit, db, keys
from clearline.store.service_tables import api_keys, audit_log
from tests.service_support import writing

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def url(migrated_url: str) -> str:
    return migrated_url


@cache
def tiny_portfolio() -> Portfolio:
    return simulate(SimConfig(borrowers=3, months=1, seed=1)).portfolio


@pytest.fixture
def borrower_url(url: str) -> str:
    """A database holding three borrowers (B000001..B000003)."""
    db.ingest(tiny_portfolio(), url, source="test")
    return url


def new_key(url: str, role: str = "analyst", **kw: object) -> tuple[keys.Principal, str]:
    with writing(url) as conn:
        return keys.create(conn, role=role, at=T0, **kw)  # type: ignore[arg-type]


def who(url: str, token: str) -> keys.Principal | None:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return keys.authenticate(conn, token)
    finally:
        engine.dispose()


def rows(url: str, table: sa.Table) -> list[dict[str, object]]:
    engine = db.make_engine(url)
    with engine.connect() as conn:
        found = [dict(r._mapping) for r in conn.execute(sa.select(table))]
    engine.dispose()
    return found


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --- store ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["analyst", "reviewer", "admin"])
def test_a_new_key_authenticates_as_its_role(url: str, role: str) -> None:
    principal, token = new_key(url, role, label="ops")
    assert token.startswith(f"cl_{principal.key_id}_")
    assert who(url, token) == keys.Principal(principal.key_id, role, None)


def test_two_keys_are_distinct_and_each_authenticates_as_itself(url: str) -> None:
    a, token_a = new_key(url, "analyst")
    b, token_b = new_key(url, "admin")
    assert a.key_id != b.key_id and token_a != token_b
    assert who(url, token_a) == a
    assert who(url, token_b) == b


def test_the_secret_is_never_stored_in_clear(url: str) -> None:
    principal, token = new_key(url, "admin", label="root")
    secret = token.split("_", 2)[2]
    for table in (api_keys, audit_log):
        for row in rows(url, table):
            for column, value in row.items():
                assert secret not in str(value), (table.name, column)
    (stored,) = rows(url, api_keys)
    assert stored["secret_sha256"] != secret
    assert len(str(stored["secret_sha256"])) == 64


def test_a_revoked_key_is_refused(url: str) -> None:
    principal, token = new_key(url)
    with writing(url) as conn:
        keys.revoke(conn, principal.key_id, at=T0 + timedelta(hours=1))
    assert who(url, token) is None
    (stored,) = rows(url, api_keys)
    assert stored["revoked_at"] == T0 + timedelta(hours=1)


def test_revoking_twice_or_an_unknown_key_is_refused(url: str) -> None:
    principal, _ = new_key(url)
    with writing(url) as conn:
        keys.revoke(conn, principal.key_id, at=T0)
    with pytest.raises(keys.KeyProblem, match="already revoked"), writing(url) as conn:
        keys.revoke(conn, principal.key_id, at=T0)
    with pytest.raises(keys.KeyProblem, match="no key"), writing(url) as conn:
        keys.revoke(conn, "0123456789abcdef", at=T0)


def test_a_wrong_secret_is_refused(url: str) -> None:
    principal, token = new_key(url)
    other = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert who(url, other) is None
    assert who(url, f"cl_{principal.key_id}_{'x' * 43}") is None


@pytest.mark.parametrize(
    "shape",
    [
        "",
        "cl_",
        "cl__{secret}",
        "cl_{key_id}_",
        "cl_{key_id}",
        "{secret}",
        "xx_{key_id}_{secret}",
        "Bearer cl_{key_id}_{secret}",
        "cl_ffffffffffffffff_{secret}",
    ],
)
def test_malformed_or_unknown_tokens_are_refused(url: str, shape: str) -> None:
    principal, token = new_key(url)
    secret = token.split("_", 2)[2]
    assert who(url, token) == principal  # the real key works, so the refusal is the shape
    assert who(url, shape.format(key_id=principal.key_id, secret=secret)) is None


def test_a_borrower_key_sees_only_its_borrower(borrower_url: str) -> None:
    principal, token = new_key(borrower_url, "borrower", borrower_id="B000002")
    assert who(borrower_url, token) == keys.Principal(principal.key_id, "borrower", "B000002")


@pytest.mark.parametrize(
    "role, borrower, problem",
    [
        ("borrower", None, "needs --borrower"),
        ("borrower", "B999999", "no borrower 'B999999'"),
        ("analyst", "B000001", "only for borrower keys"),
    ],
)
def test_borrower_keys_need_an_existing_borrower(
    borrower_url: str, role: str, borrower: str | None, problem: str
) -> None:
    with pytest.raises(keys.KeyProblem, match=problem):
        new_key(borrower_url, role, borrower_id=borrower)
    assert rows(borrower_url, api_keys) == []
    assert rows(borrower_url, audit_log) == []  # a refused key leaves no trace


def test_an_unknown_role_is_refused_with_the_role_list(url: str) -> None:
    with pytest.raises(keys.KeyProblem) as caught:
        new_key(url, "superuser")
    assert "superuser" in str(caught.value)
    assert all(role in str(caught.value) for role in keys.ROLES)


def test_key_changes_are_audited_and_the_chain_verifies(url: str) -> None:
    principal, _ = new_key(url, "reviewer", label="desk 4", actor="alice")
    with writing(url) as conn:
        keys.revoke(conn, principal.key_id, at=T0 + timedelta(days=1), actor="bob")
    trail = sorted(rows(url, audit_log), key=lambda r: int(r["seq"]))  # type: ignore[arg-type]
    assert [(r["actor"], r["action"], r["subject"]) for r in trail] == [
        ("alice", "key.create", f"key:{principal.key_id}"),
        ("bob", "key.revoke", f"key:{principal.key_id}"),
    ]
    assert json.loads(str(trail[0]["payload"])) == {
        "role": "reviewer",
        "borrower_id": None,
        "label": "desk 4",
    }
    engine = db.make_engine(url)
    with engine.connect() as conn:
        assert audit.verify(conn) == audit.Verdict(True, 2)
    engine.dispose()


# --- command line ---------------------------------------------------------------------


def test_cli_create_prints_only_a_key_that_authenticates(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "keys", "create", "--role", "analyst", "--db", url)
    assert code == 0, err
    token = out.strip()
    assert out == token + "\n"  # stdout is the key alone, ready for $(...)
    principal = who(url, token)
    assert principal is not None and principal.role == "analyst"
    assert principal.key_id in err


def test_cli_create_json_gives_the_key_and_its_id(
    borrower_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        capsys,
        "keys",
        "create",
        "--role",
        "borrower",
        "--borrower",
        "B000003",
        "--label",
        "app",
        "--db",
        borrower_url,
        "--json",
    )
    assert code == 0, err
    payload = json.loads(out)
    assert set(payload) == {"key", "key_id", "role", "borrower_id"}
    assert who(borrower_url, payload["key"]) == keys.Principal(
        payload["key_id"], "borrower", "B000003"
    )


def test_cli_create_migrates_a_new_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = f"sqlite:///{tmp_path / 'new.db'}"
    code, out, err = cli(capsys, "keys", "create", "--role", "admin", "--db", fresh, "--json")
    assert code == 0, err
    assert who(fresh, json.loads(out)["key"]) is not None


@pytest.mark.parametrize(
    "args, problem",
    [
        (["--role", "root"], "roles are borrower, analyst, reviewer, admin"),
        (["--role", "borrower"], "needs --borrower"),
        (["--role", "borrower", "--borrower", "nobody"], "no borrower 'nobody'"),
    ],
)
def test_cli_create_refusals_are_one_line_errors(
    url: str, capsys: pytest.CaptureFixture[str], args: list[str], problem: str
) -> None:
    code, out, err = cli(capsys, "keys", "create", *args, "--db", url, "--json")
    assert (code, out) == (2, "")
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1
    assert problem in lines[0]


def test_cli_list_shows_keys_and_state_but_never_hashes(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    kept, _ = new_key(url, "analyst", label="kept")
    gone, _ = new_key(url, "admin", label="gone")
    code, out, err = cli(capsys, "keys", "revoke", gone.key_id, "--db", url, "--json")
    assert code == 0, err
    assert json.loads(out)["key_id"] == gone.key_id

    code, out, err = cli(capsys, "keys", "list", "--db", url, "--json")
    assert code == 0, err
    listed = {k["key_id"]: k for k in json.loads(out)["keys"]}
    assert set(listed) == {kept.key_id, gone.key_id}
    for k in listed.values():
        assert set(k) == {"key_id", "role", "borrower_id", "label", "created_at", "revoked_at"}
        assert datetime.fromisoformat(k["created_at"]) == T0
    assert listed[kept.key_id]["revoked_at"] is None
    assert datetime.fromisoformat(listed[gone.key_id]["revoked_at"]) > T0
    for stored in rows(url, api_keys):
        assert str(stored["secret_sha256"]) not in out

    code, out, err = cli(capsys, "keys", "list", "--db", url)
    assert (code, out) == (0, "")
    assert "revoked" in err and kept.key_id in err
    assert all(str(s["secret_sha256"]) not in err for s in rows(url, api_keys))


def test_cli_revoke_refuses_an_unknown_or_revoked_key(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    principal, _ = new_key(url)
    assert cli(capsys, "keys", "revoke", principal.key_id, "--db", url)[0] == 0
    code, _, err = cli(capsys, "keys", "revoke", principal.key_id, "--db", url)
    assert code == 2 and "already revoked" in err
    code, _, err = cli(capsys, "keys", "revoke", "nope", "--db", url)
    assert code == 2 and "no key 'nope'" in err


def test_cli_key_create_and_revoke_appear_in_the_audit_log(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARLINE_DB", url)  # --db falls back to the environment
    code, out, err = cli(capsys, "keys", "create", "--role", "reviewer", "--json")
    assert code == 0, err
    key_id = json.loads(out)["key_id"]
    assert cli(capsys, "keys", "revoke", key_id)[0] == 0

    code, out, err = cli(capsys, "audit", "list", "--json")
    assert code == 0, err
    entries = json.loads(out)["entries"]
    assert [(e["action"], e["subject"]) for e in entries] == [
        ("key.create", f"key:{key_id}"),
        ("key.revoke", f"key:{key_id}"),
    ]
    assert all(e["actor"].startswith("cli:") for e in entries)
    assert entries[0]["payload"] == {"role": "reviewer", "borrower_id": None, "label": ""}
    code, out, _ = cli(capsys, "audit", "verify", "--json")
    assert (code, json.loads(out)) == (0, {"ok": True, "entries": 2})
