"""A started worker keeps its feature snapshot up to the newest load while no review
comes: a feed of loads is patched in as it arrives, not built whole on the next review."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clearline.services import feature_snapshot
from tests.service_support import Service, one_purchase, open_accounts


def _until(check: Callable[[], bool], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def _load(client: TestClient, service: Service, account: str, event_id: str) -> int:
    body = one_purchase(account, event_id)
    loaded = client.post("/v1/loads", headers=service.headers("admin"), json=body)
    assert loaded.status_code == 201, loaded.text
    return int(loaded.json()["load_id"])


def test_loads_are_patched_into_a_started_worker_s_snapshot_without_a_review(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = service.client.app
    snapshot = app.state.snapshot
    accounts = open_accounts(service.url, 40)[::10]
    with TestClient(app) as client:  # runs the start-up, as a worker of `clearline serve`
        app.state.warm_up.join(120)
        assert snapshot.built_for is not None  # warm-up built it whole
        whole: list[Any] = []
        real = feature_snapshot.load_portfolio

        def counted(*args: Any, **kwargs: Any) -> Any:
            whole.append(args)
            return real(*args, **kwargs)

        monkeypatch.setattr(feature_snapshot, "load_portfolio", counted)
        for i, account in enumerate(accounts):
            load_id = _load(client, service, account, f"watched-{i}")
            # No review asks: the worker looks for the load itself and builds the rows
            # it touched again.
            caught_up = lambda n=load_id: snapshot.built_for[1] == n and not snapshot.stale  # noqa: E731
            assert _until(caught_up), (snapshot.built_for, load_id, snapshot.stale)
        assert whole == []  # patched in, never built whole
        asked = f"/v1/accounts/{accounts[0]}/review"
        review = client.post(asked, headers=service.headers("analyst"))
        assert review.status_code == 201, review.text
        assert whole == []
        builder = app.state.batcher._builder
        assert builder is not None and builder.is_alive()
    builder.join(5)
    assert not builder.is_alive()  # the worker's shut-down stops the watcher
