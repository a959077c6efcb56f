"""Shared fixtures. PostgreSQL tests use CLEARLINE_TEST_PG_URL; when CI sets
CLEARLINE_REQUIRE_PG=1 an unreachable server fails the run instead of skipping."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

PG_URL = os.environ.get(
    "CLEARLINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pg_schema() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema, dropped afterwards."""
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(PG_URL)
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("CLEARLINE_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL required but unreachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}")
    schema = "t_" + uuid.uuid4().hex[:12]
    with admin.begin() as conn:
        conn.execute(sa.text(f'create schema "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'drop schema "{schema}" cascade'))
    admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema for one test."""
    yield from _pg_schema()


@pytest.fixture(scope="module")
def module_db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """:func:`db_url` shared by a whole module."""
    if os.environ.get("CLEARLINE_TEST_DB", "sqlite") == "postgresql":
        yield from _pg_schema()
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('module') / 'clearline.db'}"


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # noqa: ANN001
    """The database a test runs on: SQLite by default, PostgreSQL when
    CLEARLINE_TEST_DB=postgresql (CI runs every test using this fixture on both)."""
    if os.environ.get("CLEARLINE_TEST_DB", "sqlite") == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'clearline.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated_url(request: pytest.FixtureRequest, tmp_path) -> str:  # noqa: ANN001
    """An empty database at the schema's head, once on SQLite and once on PostgreSQL."""
    from clearline.store import db

    if request.param == "sqlite":
        found = f"sqlite:///{tmp_path / 'service.db'}"
    else:
        found = request.getfixturevalue("pg_url")
    db.upgrade(found)
    return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # `pytest -m db` selects every test that runs against the configurable database.
    for item in items:
        if {"db_url", "module_db_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


# The deployed-service fixtures (`trained`, `service`) for the API tests.
from tests.service_support import service, trained  # noqa: E402, F401
