"""Whole feature builds in a helper process give the rows a build in the caller's
thread gives; a helper that fails or dies costs a build in the caller's thread, never
a wrong or missing row; two workers' helpers build each state once."""

from __future__ import annotations

import errno
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from polars.testing import assert_frame_equal

from clearline.api.app import Settings, create_app
from clearline.core.features import as_of_cutoff
from clearline.core.portfolio import portfolio_of
from clearline.services import build_cache, feature_snapshot, whole_build
from clearline.services.feature_snapshot import FeatureSnapshot, build_whole
from clearline.services.whole_build import HelperBuilds
from clearline.store import db
from clearline.store.db import load_portfolio
from clearline.store.files import read_portfolio
from clearline.store.tables import loads
from tests.service_support import NOW, Service, Trained, open_accounts


@pytest.fixture
def helper():  # noqa: ANN201
    builds = HelperBuilds()
    yield builds
    builds.close()


def test_the_helper_builds_what_the_caller_would(
    trained: Trained, db_url: str, helper: HelperBuilds
) -> None:
    db.ingest(read_portfolio(trained.portfolio_dir), db_url)
    here = build_whole(db_url, trained.as_of)
    assert here.height > 1000
    assert_frame_equal(helper(db_url, trained.as_of), here)
    first = helper._helper
    assert_frame_equal(helper(db_url, trained.as_of), here)
    assert helper._helper is first and first is not None  # kept for the next build

    snapshot = FeatureSnapshot(db_url, lambda: trained.as_of, whole=helper)
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn, conn.begin():
            ids = here["account_id"].to_list()
            assert_frame_equal(snapshot(conn, ids, trained.as_of), here)
    finally:
        engine.dispose()


def test_a_failed_or_dead_helper_falls_back_to_a_build_in_this_thread(
    trained: Trained, db_url: str, helper: HelperBuilds, monkeypatch: pytest.MonkeyPatch
) -> None:
    db.ingest(read_portfolio(trained.portfolio_dir), db_url)
    here = build_whole(db_url, trained.as_of)
    calls: list[str] = []
    monkeypatch.setattr(
        whole_build, "build_whole", lambda url, day: calls.append(url) or build_whole(url, day)
    )
    # The build raises in the helper (no such database): reported, then built here,
    # where it raises the same error.
    missing = db_url + "-missing" if db_url.startswith("sqlite") else db_url + "x"
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the database says
        helper(missing, trained.as_of)
    assert calls == [missing]
    # The helper is killed between builds: a new one answers the next.
    assert_frame_equal(helper(db_url, trained.as_of), here)
    assert helper._helper is not None
    helper._helper.kill()
    helper._helper.wait()
    assert_frame_equal(helper(db_url, trained.as_of), here)
    assert calls == [missing]  # the dead helper was noticed before asking it
    # One that dies while building: this build falls back, the next starts another.
    monkeypatch.setattr(whole_build.sys, "executable", "/bin/false")
    helper.close()
    assert_frame_equal(helper(db_url, trained.as_of), here)
    assert calls == [missing, db_url]


def test_a_worker_with_the_helper_builds_there_and_stops_it_on_shutdown(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    here: list[str] = []
    monkeypatch.setattr(
        feature_snapshot, "load_portfolio", lambda url: here.append(url) or load_portfolio(url)
    )
    settings = Settings(
        db_url=service.url,
        registry=service.registry,
        policies=service.policies,
        clock=lambda: NOW,
        build_helper=True,
    )
    app = create_app(settings)
    (account,) = open_accounts(service.url, 1)
    with TestClient(app) as client:
        r = client.post(
            f"/v1/accounts/{account}/review",
            headers=service.headers("analyst"),
            json={"as_of": service.as_of.isoformat()},
        )
        assert r.status_code == 201, r.text
        app.state.warm_up.join(timeout=120)
        process = app.state.helper._helper
        assert process is not None and process.poll() is None
        assert app.state.snapshot.built_for is not None
    assert here == []  # the whole build was the helper's, not this process's
    assert process.poll() is not None  # stopped with the app


def _newest_load(url: str) -> int:
    engine = db.make_engine(url)
    try:
        with engine.begin() as conn:
            return feature_snapshot.data_version(conn)
    finally:
        engine.dispose()


def test_the_helpers_of_two_workers_build_each_state_once(trained: Trained, db_url: str) -> None:
    portfolio = read_portfolio(trained.portfolio_dir)
    db.ingest(portfolio, db_url)
    as_of, folder = trained.as_of, build_cache._folder(db_url)
    here = build_whole(db_url, as_of)
    first, second = HelperBuilds(), HelperBuilds()
    try:
        version = _newest_load(db_url)
        assert_frame_equal(first(db_url, as_of, version), here)
        (kept,) = folder.glob("*.arrow")
        assert kept.name.startswith(f"{as_of.isoformat()}-{version}-")
        made = kept.stat().st_ino
        assert_frame_equal(second(db_url, as_of, version), here)
        assert [f.stat().st_ino for f in folder.glob("*.arrow")] == [made]  # read, not built

        # A load later, a worker that has seen it gets a build that includes it.
        recent = (pl.col("type") == "external_inquiry") & (pl.col("ts") < as_of_cutoff(as_of))
        inquiry = portfolio.events.filter(recent).sort("ts").tail(1)
        engine = db.make_engine(db_url)
        try:
            with engine.begin() as conn:
                newer = portfolio_of(events=inquiry.with_columns(event_id=pl.lit("shared-1")))
                db.ingest_into(conn, newer, source="test")
            after = build_whole(db_url, as_of)
            assert not after.equals(here)
            assert_frame_equal(second(db_url, as_of, version + 1), after)
            (kept,) = folder.glob("*.arrow")
            assert kept.name.startswith(f"{as_of.isoformat()}-{version + 1}-")

            # The same load id at another time (a database made again under the same
            # URL, its ids starting over) is not taken for the state kept.
            same_id = loads.c.id == version + 1
            with engine.begin() as conn:
                when = conn.execute(sa.select(loads.c.loaded_at).where(same_id)).scalar_one()
                moved = when + 1 if isinstance(when, int) else when + timedelta(microseconds=1)
                conn.execute(loads.update().where(same_id).values(loaded_at=moved))
        finally:
            engine.dispose()
        made = kept.stat().st_ino
        assert_frame_equal(first(db_url, as_of, version + 1), after)
        (kept,) = folder.glob("*.arrow")
        assert kept.stat().st_ino != made  # built again
    finally:
        first.close()
        second.close()
    assert not folder.exists()  # removed when the workers stop


def test_a_build_is_answered_whether_or_not_it_can_be_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build_cache, "_stamp", lambda url, load_id: (3, "2026-12-01 10:00"))
    folder = tmp_path / "builds"
    monkeypatch.setattr(build_cache, "_folder", lambda url: folder)
    day = date(2026, 12, 1)
    assert build_cache.shared("db", day, 3, lambda: b"first") == b"first"
    assert build_cache.shared("db", day, 2, lambda: b"second") == b"first"  # kept
    assert build_cache.shared("db", day, 4, lambda: b"third") == b"third"  # asks for newer

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(build_cache.os, "replace", full)
    assert build_cache.shared("db", day, 5, lambda: b"fourth") == b"fourth"
    assert sorted(p.name for p in folder.iterdir()) == [
        "2026-12-01-3-" + build_cache._digest((3, "2026-12-01 10:00")) + ".arrow",
        "lock",
    ]  # no half-written file left
    (tmp_path / "a-file").write_text("")
    monkeypatch.setattr(build_cache, "_folder", lambda url: tmp_path / "a-file" / "builds")
    assert build_cache.shared("db", day, 0, lambda: b"fifth") == b"fifth"
