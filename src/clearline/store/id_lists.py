"""Statements that match a column against a list of ids bound when they run.

SQLAlchemy renders an expanding ``IN`` afresh for each list length, and PostgreSQL then
plans each text as new. There the list is bound as one array instead,
``column = ANY(:ids)``: one text for every length, which psycopg prepares after a few
runs. A review pass makes two such reads (the lines it locks, the decision history):
with them, a pass of 32 reviews took about 5 % less of the machine's CPU, the
database server's included (``benchmarks/bench_review_pass.py --db``, four runs
alternated with the code before). SQLite has no arrays, so there it stays an
expanding ``IN``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

Match = Callable[[Any], Any]  # a column -> its test against the bound list ``ids``


def _any(column: Any) -> Any:
    return column == sa.func.any(sa.bindparam("ids", type_=postgresql.ARRAY(sa.Text)))


def _in(column: Any) -> Any:
    return column.in_(sa.bindparam("ids", expanding=True))


class ByDialect:
    """A statement built once per dialect: ``build(match)`` makes it, where
    ``match(column)`` tests the column against the list bound as ``ids``."""

    def __init__(self, build: Callable[[Match], Any]) -> None:
        self._build = build
        self._made: dict[str, Any] = {}

    def __call__(self, conn: sa.Connection) -> Any:
        name = conn.dialect.name
        found = self._made.get(name)
        if found is None:
            found = self._made[name] = self._build(_any if name == "postgresql" else _in)
        return found
