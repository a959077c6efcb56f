"""The in-memory household index gives what reading the households from the database
gives, and reads them again once a load has landed."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from clearline.api.db import Database
from clearline.services.household_index import HouseholdIndex
from clearline.store.household import households_of
from clearline.store.tables import accounts, borrowers, loads
from tests.service_support import Service


def _all_accounts(conn: sa.Connection) -> list[str]:
    return list(conn.execute(sa.select(accounts.c.account_id)).scalars())


def test_the_index_equals_households_of_for_every_account_and_unknown_ids(
    service: Service,
) -> None:
    database = Database(service.url)
    index = HouseholdIndex()
    with database.read() as conn:
        ids = [*_all_accounts(conn), "NO-SUCH-ACCOUNT"]
        got, want = index(conn, ids), households_of(conn, ids)
    assert got == want
    assert "NO-SUCH-ACCOUNT" not in got
    assert any(len(members) > 1 for members in got.values())  # real households, not singles
    database.dispose()


def test_a_load_that_moves_a_borrower_is_seen_at_the_next_lookup(service: Service) -> None:
    database = Database(service.url)
    index = HouseholdIndex()
    with database.read() as conn:
        ids = _all_accounts(conn)
        before = index(conn, ids)
    alone = next(a for a, members in before.items() if members == [a])
    shared = next(members for members in before.values() if len(members) > 1)
    with database.write() as conn:  # what a load does: change records, add its loads row
        owner = conn.execute(
            sa.select(accounts.c.borrower_id).where(accounts.c.account_id == alone)
        ).scalar_one()
        target = conn.execute(
            sa.select(borrowers.c.household_id)
            .join(accounts, accounts.c.borrower_id == borrowers.c.borrower_id)
            .where(accounts.c.account_id == shared[0])
        ).scalar_one()
        conn.execute(
            borrowers.update().where(borrowers.c.borrower_id == owner).values(household_id=target)
        )
        at = datetime.now(UTC)
        conn.execute(
            loads.insert().values(
                loaded_at=at if conn.dialect.name != "sqlite" else 1, source="test", counts={}
            )
        )
    with database.read() as conn:
        after = index(conn, ids)
        assert after == households_of(conn, ids)
    assert after[alone] == sorted([*shared, alone])
    database.dispose()


def test_the_newest_load_is_read_once_per_transaction_and_again_in_the_next(
    service: Service,
) -> None:
    from clearline.services.feature_snapshot import data_version

    database = Database(service.url)
    statements: list[str] = []
    sa.event.listen(database.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with database.read() as conn:
        first = data_version(conn)
        assert data_version(conn) == first
    assert sum("max(loads.id)" in s for s in statements) == 1
    with database.write() as conn:
        at = datetime.now(UTC)
        conn.execute(
            loads.insert().values(
                loaded_at=at if conn.dialect.name != "sqlite" else 1, source="test", counts={}
            )
        )
    with database.read() as conn:
        assert data_version(conn) > first
    assert sum("max(loads.id)" in s for s in statements) == 2
    database.dispose()
