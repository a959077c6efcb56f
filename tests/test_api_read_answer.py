"""Reads are written by the model's own serializer (``read_answer``), not FastAPI's
encoder: the body must be the same JSON data FastAPI would have sent."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from clearline.api.routes.common import page, read_answer
from clearline.api.schemas import AccountRead, DecisionRead


def _decision() -> DecisionRead:
    return DecisionRead(
        decision_id="0190c5d2-0000-7000-8000-000000000001",
        account_id="A1",
        borrower_id="B1",
        decided_at=datetime(2026, 12, 6, 9, 30, 1, 250_000, tzinfo=UTC),
        as_of=date(2026, 12, 5),
        action="decrease",
        adverse=True,
        old_limit=24_000.0,
        new_limit=12_000.5,
        score=612.3456789012,
        pd=1e-7,
        grade="C",
        reasons=["R12", "R03"],
        layer="individual",
        good_standing=True,
        class_wide=False,
        policy_version="baseline@3",
        model_version="sc-22b70c752ded",
        inputs_hash="ab" * 32,
        trace={
            "rules": [{"id": "dpd", "fired": False, "inputs": {"dpd": 0, "x": 0.1}}],
            "名": "额度",
        },
        requested_by="key:k1",
    )


def test_a_read_body_is_the_json_data_fastapi_would_have_sent() -> None:
    account = AccountRead(
        account_id="A1",
        borrower_id="B1",
        product="cash_line",
        opened_at=datetime(2024, 2, 3, 8, 24, 54, tzinfo=UTC),
        credit_limit=24_000.0,
        status="active",
        latest_decision=_decision(),
    )
    for model in (account, _decision(), page([account, account], 2, 0)):
        response = read_answer(model)
        assert response.media_type == "application/json"
        assert json.loads(response.body) == model.model_dump(mode="json")


def test_an_unparametrised_page_writes_its_items_in_full() -> None:
    body = json.loads(read_answer(page([_decision()], 50, 0)).body)
    assert body["items"][0]["trace"]["rules"][0]["inputs"] == {"dpd": 0, "x": 0.1}
    assert body["items"][0]["decided_at"] == "2026-12-06T09:30:01.250000Z"
    assert body["next_offset"] is None
