"""The REST API: ``create_app(settings)`` wires the database, the deployed model and
policy, the key check and the routers. Routers stay thin: parse, call one use case,
render; errors are problem details (``problems.py``)."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import anyio
from fastapi import Depends, FastAPI

from clearline.api import problems, review_shortcut
from clearline.api.auth import KeyCache
from clearline.api.batcher import ReviewBatcher
from clearline.api.db import Database
from clearline.api.limits import BodyLimit
from clearline.api.routes import ROUTERS
from clearline.api.routes.common import query_given_once
from clearline.core.policy import kernel_fused
from clearline.services.deployment import Deployer, Source
from clearline.services.feature_snapshot import FeatureSnapshot
from clearline.services.household_index import HouseholdIndex
from clearline.services.whole_build import HelperBuilds
from clearline.store.db import upgrade

log = logging.getLogger("clearline.api")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Settings:
    db_url: str = "sqlite:///clearline.db"
    registry: Path = Path("clearline-models")
    policies: Path = Path("clearline-policies")
    model: str | None = None  # folder or version; default: the newest approved model
    policy: str = "baseline"  # file or published reference
    stress_index: float | None = None
    # The day reviews default to and the feature snapshot is kept for (default: today).
    as_of: date | None = None
    max_body_bytes: int = 8 * 1024 * 1024
    key_cache_seconds: float = 2.0
    # A worker process of its own (`clearline serve`) sets aside what warm-up built from
    # the garbage collector: see _warm_up. Off in-process (tests), whose heap is shared.
    freeze_after_warm_up: bool = False
    # Whole builds of the feature snapshot in a helper process (services/whole_build.py),
    # so that they do not hold the interpreter lock the reviews need. Off in-process
    # (tests), where builds stay in the caller's thread.
    build_helper: bool = False
    # Reviews in the common case skip FastAPI's parameter machinery (review_shortcut);
    # off, every review goes through the FastAPI route (tests compare the two).
    review_shortcut: bool = True
    # Threads of the pool that runs the routes blocking on the database (FastAPI's, one
    # per worker). Few: with anyio's default of 40, reads at 128 connections cost 1.2
    # against 0.9 ms of CPU each here, the threads handing the interpreter lock to one
    # another (benchmarks/README.md, 2026-12-07, seventeenth session).
    threads: int = 4
    clock: Callable[[], datetime] = field(default=_utc_now)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        app.state.warm_up = threading.Thread(target=_warm_up, args=(app,), name="warm-up")
        app.state.warm_up.daemon = True
        app.state.warm_up.start()
        yield
        app.state.db.dispose()
        if app.state.helper is not None:
            app.state.helper.close()

    app = FastAPI(
        title="clearline",
        version="1",
        summary="Explainable credit-line decisions: accounts, reviews, decisions, audit.",
        lifespan=lifespan,
    )
    upgrade(settings.db_url)
    app.state.settings = settings
    app.state.db = Database(settings.db_url)
    app.state.clock = settings.clock
    app.state.keys = KeyCache(settings.key_cache_seconds)
    app.state.service_day = lambda: settings.as_of or settings.clock().date()
    app.state.helper = HelperBuilds() if settings.build_helper else None
    app.state.snapshot = FeatureSnapshot(
        settings.db_url, app.state.service_day, whole=app.state.helper
    )
    app.state.deployer = Deployer(
        Source(
            registry=Path(settings.registry),
            policies=Path(settings.policies),
            model=settings.model,
            policy=settings.policy,
            stress_index=settings.stress_index,
        )
    )
    app.state.households = HouseholdIndex()
    app.state.batcher = ReviewBatcher(
        app.state.db,
        app.state.deployer,
        app.state.snapshot,
        settings.clock,
        members=app.state.households,
    )
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router, prefix="/v1", dependencies=[Depends(query_given_once)])
    if settings.review_shortcut:
        review_shortcut.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app


def _warm_up(app: FastAPI) -> None:
    """Load the model and policy and build the service day's feature snapshot as the
    worker starts, so that its first review does not wait seconds for them. A service
    that cannot deploy yet still starts; its reviews say why (503)."""
    try:
        kernel_fused.warm()
        app.state.deployer.current()
        with app.state.db.read() as conn:
            app.state.snapshot.warm(conn)
            app.state.households(conn, [])
    except Exception:  # noqa: BLE001 - logged; requests retry and report
        log.warning("warm-up did not finish; the first review will do it", exc_info=True)
    if app.state.settings.freeze_after_warm_up:
        # A full collection walks every container object of the process: about 120 ms
        # here once the model, policy and snapshot are in, a pause that every request in
        # flight then waits for. What warm-up built lives as long as the worker, so it is
        # moved out of the collector's sight; later garbage is collected as before.
        gc.collect()
        gc.freeze()


def app_from_env() -> Any:
    """For `uvicorn --factory clearline.api.app:app_from_env` (the workers of
    `clearline serve`): settings come from CLEARLINE_* variables."""
    import os

    env = os.environ
    stress, day = env.get("CLEARLINE_STRESS"), env.get("CLEARLINE_AS_OF")
    return create_app(
        Settings(
            db_url=env.get("CLEARLINE_DB", Settings.db_url),
            registry=Path(env.get("CLEARLINE_REGISTRY", str(Settings.registry))),
            policies=Path(env.get("CLEARLINE_POLICIES", str(Settings.policies))),
            model=env.get("CLEARLINE_MODEL") or None,
            policy=env.get("CLEARLINE_POLICY", Settings.policy),
            stress_index=float(stress) if stress else None,
            as_of=date.fromisoformat(day) if day else None,
            threads=int(env.get("CLEARLINE_THREADS") or Settings.threads),
            freeze_after_warm_up=True,
            build_helper=True,
        )
    )
