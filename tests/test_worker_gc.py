"""A worker process of `clearline serve` sets aside, from the garbage collector, what its
warm-up built: a full collection over it paused every request in flight."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service_support import worker_env


def test_a_worker_sets_aside_what_warm_up_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from clearline.api.app import _warm_up, app_from_env

    worker_env(monkeypatch, tmp_path)
    app = app_from_env()
    assert app.state.settings.freeze_after_warm_up
    assert gc.get_freeze_count() == 0
    try:
        _warm_up(app)  # no model here: warm-up logs that, and still sets its heap aside
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        app.state.db.dispose()
