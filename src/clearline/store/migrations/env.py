"""Alembic environment for the clearline portfolio database.

Run through :func:`clearline.store.db.upgrade`, which passes an open connection in
``config.attributes["connection"]`` (so URLs with ``%`` never pass through configparser
and SQLite pragmas set by our engine apply). A plain URL in ``sqlalchemy.url`` works too.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

import clearline.store.service_tables  # noqa: F401  (registers the service tables)
from clearline.store.tables import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("pass a connection (clearline.store.db.upgrade) or sqlalchemy.url")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
