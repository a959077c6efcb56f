"""The routes that block on the database run on a pool of few threads (``Settings.threads``,
`clearline serve --threads`): with anyio's default of 40, reads under 128 connections cost a
third more CPU each, the threads handing the interpreter lock to one another."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from clearline.api.app import Settings, app_from_env, create_app
from clearline.api.db import Database
from clearline.store import keys, lookup
from tests.service_support import worker_env


def _tokens(client: TestClient) -> float:
    assert client.portal is not None
    return client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)


@pytest.mark.parametrize("threads", [None, 3])
def test_the_pool_has_the_threads_the_settings_give(tmp_path: Path, threads: int | None) -> None:
    given = {} if threads is None else {"threads": threads}
    settings = Settings(
        db_url=f"sqlite:///{tmp_path / 'c.db'}", registry=tmp_path, policies=tmp_path, **given
    )
    with TestClient(create_app(settings)) as client:
        assert _tokens(client) == (threads or 4)
        assert client.get("/v1/me").status_code == 401  # the app still answers


def test_a_worker_takes_the_threads_from_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker_env(monkeypatch, tmp_path)
    monkeypatch.setenv("CLEARLINE_THREADS", "7")
    app = app_from_env()
    try:
        assert app.state.settings.threads == 7
    finally:
        app.state.db.dispose()


def test_a_key_lookup_does_not_wait_for_the_threads_the_routes_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every pool thread held by a route (as by loads waiting for the SQLite
    writer), a key the cache does not hold is still looked up at once."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    settings = Settings(
        db_url=url, registry=tmp_path, policies=tmp_path, threads=1, key_cache_seconds=0
    )
    app = create_app(settings)
    with Database(url).write() as conn:
        _, key = keys.create(conn, role="admin", at=datetime.now(UTC))
    auth = {"Authorization": f"Bearer {key}"}
    entered, release = threading.Event(), threading.Event()
    page = lookup.load_page

    def held(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(10)
        return page(*args, **kwargs)

    with TestClient(app) as client:
        assert client.get("/v1/me", headers=auth).status_code == 200  # keys threads made
        monkeypatch.setattr(lookup, "load_page", held)
        holder = threading.Thread(target=client.get, args=("/v1/loads",), kwargs={"headers": auth})
        holder.start()
        try:
            assert entered.wait(10)  # the only pool thread now waits inside the route
            done: list[int] = []
            asker = threading.Thread(
                target=lambda: done.append(client.get("/v1/me", headers=auth).status_code)
            )
            asker.start()
            asker.join(5)
            assert done == [200]
        finally:
            release.set()
            holder.join(10)
    app.state.db.dispose()
