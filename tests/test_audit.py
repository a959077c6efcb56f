"""The audit trail on SQLite and PostgreSQL: the chain verifies, and any edited, deleted
or reordered entry is found and named; pruning keeps it verifiable; appends serialise."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from threading import Barrier

import pytest
import sqlalchemy as sa

from clearline.cli import main
from clearline.store import audit, db
from clearline.store.service_tables import audit_head, audit_log
from tests.service_support import writing

T0 = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)


@pytest.fixture
def url(migrated_url: str) -> str:
    return migrated_url


def append_entries(url: str, n: int, *, at: datetime = T0, actor: str = "tester") -> list[int]:
    """n entries in one transaction, each with a distinct subject and payload."""
    with writing(url) as conn:
        return audit.append(
            conn,
            [audit.Entry(actor, "test.do", f"thing:{i}", {"i": i, "名": "值"}) for i in range(n)],
            at=at,
        )


def verdict(url: str) -> audit.Verdict:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            return audit.verify(conn)
    finally:
        engine.dispose()


def execute(url: str, sql: str, **params: object) -> None:
    with writing(url) as conn:
        conn.execute(sa.text(sql), params)


def edit(url: str, seq: int, **values: object) -> None:
    with writing(url) as conn:
        conn.execute(audit_log.update().where(audit_log.c.seq == seq).values(**values))


def seqs(url: str) -> list[int]:
    engine = db.make_engine(url)
    with engine.connect() as conn:
        found = [int(s) for s in conn.execute(sa.select(audit_log.c.seq).order_by("seq")).scalars()]
    engine.dispose()
    return found


def chain_of(url: str, n: int) -> str:
    """A chain of n entries written in several transactions, checked intact."""
    for start in range(0, n, 4):
        append_entries(url, min(4, n - start), at=T0 + timedelta(seconds=start))
    assert verdict(url) == audit.Verdict(True, n)
    return url


# --- the chain ------------------------------------------------------------------------


def test_a_fresh_database_has_an_empty_chain_that_verifies(url: str) -> None:
    assert verdict(url) == audit.Verdict(True, 0)


def test_the_chain_verifies_after_many_appends(url: str) -> None:
    assert append_entries(url, 1) == [1]
    assert append_entries(url, 30, at=T0 + timedelta(minutes=1)) == list(range(2, 32))
    for k in range(5):
        append_entries(url, 3, at=T0 + timedelta(hours=k))
    assert verdict(url) == audit.Verdict(True, 46)
    assert seqs(url) == list(range(1, 47))


def test_appended_entries_are_stored_as_given_and_hashed_as_entry_hash_says(url: str) -> None:
    # append writes the hashed text in two parts (before and after the head lock) and
    # stores rows by COPY on PostgreSQL: both must agree with entry_hash and the table.
    odd = 'a "quoted" \\ back\tslash, 名字, \u2028 and \x01'
    entries = [
        audit.Entry(odd, "test.odd", f"s:{odd}", {"k": odd, "n": [1, 2.5, None, True]}),
        audit.Entry("plain", "test.do", "s:2", {}),
    ]
    at = datetime(2026, 3, 1, 17, 30, 0, 1, tzinfo=timezone(timedelta(hours=8)))
    with writing(url) as conn:
        assert audit.append(conn, entries, at=at) == [1, 2]
    engine = db.make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)).all()
    engine.dispose()
    prev = audit.GENESIS
    for row, entry in zip(rows, entries, strict=True):
        assert (row.actor, row.action, row.subject) == (entry.actor, entry.action, entry.subject)
        assert json.loads(row.payload) == entry.payload
        assert row.at == at and row.prev_hash == prev
        want = audit.entry_hash(row.seq, at, row.actor, row.action, row.subject, row.payload, prev)
        assert row.hash == want
        prev = row.hash
    assert verdict(url) == audit.Verdict(True, 2)


def test_the_verify_batches_do_not_hide_a_break_beyond_the_first_batch(url: str) -> None:
    chain_of(url, 12)
    execute(url, "UPDATE audit_log SET subject = 'x' WHERE seq = 11")
    engine = db.make_engine(url)
    with engine.connect() as conn:
        found = audit.verify(conn, batch=5)
    engine.dispose()
    assert (found.ok, found.first_bad_seq, found.entries) == (False, 11, 10)


@pytest.mark.parametrize(
    "column, value",
    [
        ("payload", '{"i":99}'),
        ("actor", "someone-else"),
        ("action", "test.undo"),
        ("hash", "f" * 64),
        ("at", None),  # replaced by a later instant below
    ],
)
def test_an_edited_entry_is_found_and_named(url: str, column: str, value: str | None) -> None:
    chain_of(url, 10)
    edit(url, 7, **{column: value if value is not None else T0 + timedelta(days=1)})
    found = verdict(url)
    assert not found.ok
    assert found.first_bad_seq == 7
    assert found.entries == 6
    assert "entry 7" in found.problem


def test_an_entry_rewritten_with_a_matching_hash_breaks_the_link_of_the_next(url: str) -> None:
    # A forger who recomputes entry 4's hash still leaves entry 5 pointing at the old one.
    chain_of(url, 8)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        r = conn.execute(sa.select(audit_log).where(audit_log.c.seq == 4)).one()
    engine.dispose()
    forged = audit.entry_hash(4, r.at, r.actor, r.action, r.subject, '{"i":0}', r.prev_hash)
    edit(url, 4, payload='{"i":0}', hash=forged)
    found = verdict(url)
    assert (found.ok, found.first_bad_seq) == (False, 5)
    assert "does not link" in found.problem


def test_a_deleted_middle_entry_is_named(url: str) -> None:
    chain_of(url, 10)
    execute(url, "DELETE FROM audit_log WHERE seq = 5")
    found = verdict(url)
    assert (found.ok, found.first_bad_seq, found.entries) == (False, 5, 4)
    assert found.problem == "entry 5 is missing"


@pytest.mark.parametrize("deleted", [[10], [8, 9, 10]])
def test_a_deleted_tail_is_caught_by_the_head(url: str, deleted: list[int]) -> None:
    chain_of(url, 10)
    execute(url, f"DELETE FROM audit_log WHERE seq IN ({', '.join(map(str, deleted))})")
    found = verdict(url)
    assert not found.ok
    assert found.first_bad_seq == deleted[0]
    assert "head says 10" in found.problem


def test_deleting_every_entry_is_caught_by_the_head(url: str) -> None:
    chain_of(url, 3)
    execute(url, "DELETE FROM audit_log")
    found = verdict(url)
    assert (found.ok, found.first_bad_seq) == (False, 1)


@pytest.mark.parametrize("a, b", [(4, 6), (3, 4), (1, 10)])
def test_two_swapped_entries_are_caught_at_the_first(url: str, a: int, b: int) -> None:
    chain_of(url, 10)
    execute(url, "UPDATE audit_log SET seq = -1 WHERE seq = :a", a=a)
    execute(url, "UPDATE audit_log SET seq = :a WHERE seq = :b", a=a, b=b)
    execute(url, "UPDATE audit_log SET seq = :b WHERE seq = -1", b=b)
    found = verdict(url)
    assert (found.ok, found.first_bad_seq) == (False, a)


def test_a_missing_head_row_is_reported(url: str) -> None:
    chain_of(url, 2)
    execute(url, "DELETE FROM audit_head")
    found = verdict(url)
    assert not found.ok
    assert "audit_head" in found.problem


# --- retention ------------------------------------------------------------------------


def test_prune_removes_only_entries_older_than_retention_and_keeps_the_chain(url: str) -> None:
    now = datetime(2032, 6, 1, tzinfo=UTC)
    old = now - audit.DEFAULT_RETENTION - timedelta(days=1)
    kept = now - audit.DEFAULT_RETENTION + timedelta(days=1)
    append_entries(url, 3, at=old - timedelta(days=30))
    append_entries(url, 2, at=old)
    append_entries(url, 4, at=kept)
    with writing(url) as conn:
        removed = audit.prune(conn, now=now, actor="retention-job")
    assert removed == 5
    assert seqs(url) == [6, 7, 8, 9, 10]
    assert verdict(url) == audit.Verdict(True, 5)

    engine = db.make_engine(url)
    with engine.connect() as conn:
        last = conn.execute(sa.select(audit_log).where(audit_log.c.seq == 10)).one()
        head = conn.execute(sa.select(audit_head)).one()
    engine.dispose()
    assert (last.action, last.actor, last.at) == ("audit.prune", "retention-job", now)
    assert json.loads(last.payload)["removed"] == 5
    assert json.loads(last.payload)["through_seq"] == 5
    assert (int(head.base_seq), int(head.seq)) == (5, 10)

    # Nothing else is old enough: a second prune removes and records nothing.
    with writing(url) as conn:
        assert audit.prune(conn, now=now) == 0
    assert seqs(url) == [6, 7, 8, 9, 10]


def test_after_pruning_an_edit_of_the_new_first_entry_is_still_found(url: str) -> None:
    now = T0 + audit.DEFAULT_RETENTION + timedelta(days=2)
    append_entries(url, 3, at=T0)
    append_entries(url, 3, at=now - timedelta(days=1))
    with writing(url) as conn:
        assert audit.prune(conn, now=now) == 3
    execute(url, "UPDATE audit_log SET actor = 'x' WHERE seq = 4")
    found = verdict(url)
    assert (found.ok, found.first_bad_seq) == (False, 4)


def test_pruning_everything_leaves_a_chain_that_verifies_and_grows(url: str) -> None:
    append_entries(url, 4, at=T0)
    now = T0 + timedelta(days=400)
    with writing(url) as conn:
        assert audit.prune(conn, now=now, retention=timedelta(days=200)) == 4
    append_entries(url, 2, at=now)
    assert seqs(url) == [5, 6, 7]
    assert verdict(url) == audit.Verdict(True, 3)


# --- concurrency ----------------------------------------------------------------------


def test_concurrent_appends_make_one_linear_chain_without_gaps(url: str) -> None:
    threads, each = 4, 25
    start = Barrier(threads)

    def writer(k: int) -> list[int]:
        engine = db.make_engine(url)
        got: list[int] = []
        try:
            start.wait()
            for i in range(each):
                with engine.connect().execution_options(clearline_write=True) as conn:
                    with conn.begin():
                        entry = audit.Entry(f"thread-{k}", "test.do", f"t{k}:{i}", {"i": i})
                        got += audit.append(conn, [entry], at=T0 + timedelta(microseconds=i))
        finally:
            engine.dispose()
        return got

    with ThreadPoolExecutor(threads) as pool:
        results = [f.result() for f in [pool.submit(writer, k) for k in range(threads)]]
    assert sorted(s for r in results for s in r) == list(range(1, threads * each + 1))
    assert all(r == sorted(r) for r in results)  # each writer's entries keep its order
    assert seqs(url) == list(range(1, threads * each + 1))
    assert verdict(url) == audit.Verdict(True, threads * each)


# --- command line ---------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_audit_verify_passes_an_intact_trail_and_names_an_edited_entry(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    chain_of(url, 5)
    code, out, _ = cli(capsys, "audit", "verify", "--db", url, "--json")
    assert code == 0
    assert json.loads(out) == {"ok": True, "entries": 5}

    edit(url, 3, payload='{"i":1}')
    code, out, err = cli(capsys, "audit", "verify", "--db", url, "--json")
    assert code == 1
    payload = json.loads(out)
    assert payload["ok"] is False
    assert payload["first_bad_seq"] == 3
    assert "entry 3" in payload["problem"]
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1
    assert "entry 3" in lines[0]

    code, out, err = cli(capsys, "audit", "verify", "--db", url)
    assert (code, out) == (1, "")
    assert "entry 3 was changed" in err


def test_cli_audit_verify_on_a_database_without_service_tables_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.db"
    code, out, err = cli(capsys, "audit", "verify", "--db", f"sqlite:///{missing}")
    assert (code, out) == (2, "")
    assert "no database" in err
    assert not missing.exists()  # a read never creates the database


def test_cli_audit_prune_refuses_a_retention_below_six_months(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "audit", "prune", "--db", url, "--retention-days", "182")
    assert (code, out) == (2, "")
    assert "183" in err


def test_cli_audit_prune_and_list_record_who_pruned(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    append_entries(url, 2, at=datetime.now(UTC) - timedelta(days=400))
    append_entries(url, 1, at=datetime.now(UTC))
    code, out, err = cli(capsys, "audit", "prune", "--db", url, "--retention-days", "200", "--json")
    assert code == 0, err
    assert json.loads(out)["removed"] == 2

    code, out, err = cli(capsys, "audit", "list", "--db", url, "--limit", "1", "--json")
    assert code == 0, err
    (last,) = json.loads(out)["entries"]
    assert last["seq"] == 4
    assert last["action"] == "audit.prune"
    assert last["actor"].startswith("cli:")
    assert last["payload"]["removed"] == 2
    assert datetime.fromisoformat(last["at"]).tzinfo is not None

    code, out, _ = cli(capsys, "audit", "list", "--db", url, "--json")
    assert [e["seq"] for e in json.loads(out)["entries"]] == [3, 4]
    assert json.loads(out)["entries"][0]["payload"] == {"i": 0, "名": "值"}
    code, out, _ = cli(capsys, "audit", "verify", "--db", url, "--json")
    assert json.loads(out) == {"ok": True, "entries": 2}
