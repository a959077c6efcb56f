"""The same scenario through the API on SQLite and on PostgreSQL gives identical results."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from clearline.store import db
from tests.service_support import Service, Trained, deploy

_KEPT = ("account_id", "action", "old_limit", "new_limit", "score", "pd", "grade", "reasons",
         "layer", "good_standing", "class_wide", "policy_version", "model_version",
         "inputs_hash")  # fmt: skip


def _scenario(svc: Service) -> tuple[list, list]:
    engine = db.make_engine(svc.url)
    with engine.connect() as conn:
        accounts = list(
            conn.execute(
                sa.text("select account_id from accounts where status = 'active' order by 1")
            ).scalars()
        )[:25]
    answers = []
    for account in accounts + accounts[:5]:  # the second round reads the first as history
        r = svc.client.post(
            f"/v1/accounts/{account}/review",
            headers=svc.headers("analyst"),
            json={"as_of": svc.as_of.isoformat()},
        )
        assert r.status_code == 201, r.text
        body = r.json()
        answers.append([{k: d[k] for k in _KEPT} for d in [body["decision"], *body["household"]]])
    with engine.connect() as conn:
        lines = conn.execute(
            sa.text("select account_id, credit_limit, status from accounts order by 1")
        ).all()
    engine.dispose()
    return answers, [tuple(x) for x in lines]


@pytest.mark.postgres
def test_reviews_through_the_api_are_identical_on_sqlite_and_postgresql(
    trained: Trained, pg_url: str, tmp_path: Path
) -> None:
    on_sqlite = deploy(trained, f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "a")
    on_postgres = deploy(trained, pg_url, tmp_path / "b")
    try:
        assert _scenario(on_sqlite) == _scenario(on_postgres)
    finally:
        on_sqlite.client.close()
        on_postgres.client.close()
