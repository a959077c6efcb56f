"""The routes that block on the database run on a pool of few threads (``Settings.threads``,
`clearline serve --threads`): with anyio's default of 40, reads under 128 connections cost a
third more CPU each, the threads handing the interpreter lock to one another."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient

from clearline.api.app import Settings, app_from_env, create_app


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
    monkeypatch.setenv("CLEARLINE_DB", f"sqlite:///{tmp_path / 'c.db'}")
    monkeypatch.setenv("CLEARLINE_REGISTRY", str(tmp_path))
    monkeypatch.setenv("CLEARLINE_POLICIES", str(tmp_path))
    monkeypatch.setenv("CLEARLINE_THREADS", "7")
    app = app_from_env()
    try:
        assert app.state.settings.threads == 7
    finally:
        app.state.db.dispose()
