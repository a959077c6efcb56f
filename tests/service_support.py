"""A small deployed service for API tests: a simulated portfolio loaded into the test
database, a trained and approved model, the baseline policy published, and one key per
role (borrower keys for two different borrowers)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from clearline.api import Settings, create_app
from clearline.api.db import Database
from clearline.core.policy import load_policy  # noqa: F401  (policies must load here)
from clearline.services.data import default_as_of
from clearline.services.simulate import simulate_to_folder
from clearline.services.train import train
from clearline.store import db, keys
from clearline.store.files import read_portfolio
from clearline.store.policies import PolicyStore
from clearline.store.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "tests" / "fixtures" / "policies" / "baseline.yaml"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@contextmanager
def writing(url: str) -> Iterator[sa.Connection]:
    """A write transaction on its own engine, disposed afterwards."""
    engine = db.make_engine(url)
    try:
        with engine.connect().execution_options(clearline_write=True) as conn, conn.begin():
            yield conn
    finally:
        engine.dispose()


def open_accounts(url: str, n: int) -> list[str]:
    """The first ``n`` active accounts by id."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        "select account_id from accounts where status = 'active' "
                        "order by account_id limit :n"
                    ),
                    {"n": n},
                ).scalars()
            )
    finally:
        engine.dispose()


def one_purchase(account_id: str, event_id: str) -> dict[str, list[dict[str, object]]]:
    """The body of a load of one purchase on a stored account."""
    event = {
        "event_id": event_id,
        "account_id": account_id,
        "ts": "2025-06-01T10:00:00Z",
        "type": "purchase",
        "amount": 12.5,
    }
    return {"borrowers": [], "accounts": [], "events": [event]}


def worker_env(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """The CLEARLINE_* variables a worker of `clearline serve` reads, for an empty
    service kept in ``folder``."""
    monkeypatch.setenv("CLEARLINE_DB", f"sqlite:///{folder / 'c.db'}")
    monkeypatch.setenv("CLEARLINE_REGISTRY", str(folder))
    monkeypatch.setenv("CLEARLINE_POLICIES", str(folder))


@dataclass(frozen=True)
class Trained:
    portfolio_dir: Path
    model_dir: Path
    as_of: date
    template_db: Path  # the portfolio ingested once into SQLite, copied per test


def train_small(root: Path, borrowers: int = 1500, seed: int = 5) -> Trained:
    folder = root / "portfolio"
    simulate_to_folder(folder, borrowers=borrowers, months=24, seed=seed, fmt="parquet")
    portfolio = read_portfolio(folder)
    as_of = default_as_of(portfolio)
    model_dir = root / "model"
    train(portfolio, as_of, model_dir, created_at=NOW, challenger=False)
    template = root / "template.db"
    db.ingest(portfolio, f"sqlite:///{template}")
    return Trained(folder, model_dir, as_of, template)


@dataclass
class Service:
    client: TestClient
    url: str
    tokens: dict[str, str]  # role -> key; "borrower" and "other_borrower"
    borrower_id: str
    other_borrower_id: str
    as_of: date
    registry: Path
    policies: Path

    def headers(self, role: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **extra}


def deploy(trained: Trained, url: str, root: Path, *, clock=lambda: NOW) -> Service:  # noqa: ANN001
    if url.startswith("sqlite:///"):
        shutil.copyfile(trained.template_db, url.removeprefix("sqlite:///"))
    else:
        db.ingest(read_portfolio(trained.portfolio_dir), url)
    registry, policies = root / "registry", root / "policies"
    entry = Registry(registry).register(trained.model_dir, at=NOW, by="test")
    Registry(registry).move(entry.model_version, "approved", at=NOW, by="test")
    PolicyStore(policies).publish(BASELINE, at=NOW, by="test")
    app = create_app(
        Settings(db_url=url, registry=registry, policies=policies, clock=clock, key_cache_seconds=0)
    )
    database = Database(url)
    tokens = {}
    with database.write() as conn:
        ids = list(
            conn.execute(
                sa.text("select distinct borrower_id from accounts order by borrower_id limit 2")
            ).scalars()
        )
        for role in ("analyst", "reviewer", "admin"):
            tokens[role] = keys.create(conn, role=role, at=NOW)[1]
        tokens["borrower"] = keys.create(conn, role="borrower", borrower_id=ids[0], at=NOW)[1]
        tokens["other_borrower"] = keys.create(conn, role="borrower", borrower_id=ids[1], at=NOW)[1]
    database.dispose()
    return Service(
        TestClient(app, raise_server_exceptions=False),
        url,
        tokens,
        ids[0],
        ids[1],
        trained.as_of,
        registry,
        policies,
    )


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    return train_small(tmp_path_factory.mktemp("trained"))


@pytest.fixture
def service(trained: Trained, db_url: str, tmp_path: Path) -> Service:
    svc = deploy(trained, db_url, tmp_path)
    yield svc
    svc.client.close()
