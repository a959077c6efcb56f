"""POST /v1/accounts/{id}/review: decide one account now with the deployed model and
policy (the household's other lines are decided with it, see ``services.line_review``)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response

from clearline.api.auth import permit
from clearline.api.batcher import Job
from clearline.api.db import request_digest
from clearline.api.problems import COMMON, UNAVAILABLE, WRITE, ProblemError
from clearline.api.routes.common import IdempotencyKey, Ident, actor, answer, now
from clearline.api.schemas import ReviewCreate, ReviewRead
from clearline.services.line_review import ReviewRequest
from clearline.store.keys import Principal

router = APIRouter(tags=["reviews"], responses=COMMON)
PERMISSION = "reviews.create"


@router.post(
    "/accounts/{account_id}/review",
    status_code=201,
    response_model=ReviewRead,
    responses={**WRITE, **UNAVAILABLE},
)
async def review(
    request: Request,
    account_id: Ident,
    who: Annotated[Principal, Depends(permit(PERMISSION))],
    idem_key: IdempotencyKey = None,
    body: Annotated[ReviewCreate | None, Body()] = None,
) -> Response:
    """Score and decide the account's line now; the decision is stored, applied to the
    line and audited in one transaction (shared with reviews arriving at the same time,
    see ``api/batcher.py``)."""
    as_of = body.as_of if body is not None else None
    return await decide_review(request, account_id, who, idem_key, as_of)


async def decide_review(
    request: Request, account_id: str, who: Principal, idem_key: str | None, as_of: date | None
) -> Response:
    """The review, once its parameters are read and checked (here by FastAPI, or by
    :mod:`clearline.api.review_shortcut`, which reads the common case the same way)."""
    today = now(request).date()
    as_of = as_of or request.app.state.service_day()
    if as_of > today:
        raise ProblemError(422, "Invalid request", f"as_of {as_of} is in the future")
    job = Job(
        ReviewRequest(account_id, as_of, actor(who), uuid.uuid4().hex),
        key_id=who.key_id,
        idem_key=idem_key,
        # The body as sent (already read for ``body``), not a dependency: each one is
        # resolved per request, and this route is the hot one.
        digest=request_digest(request.method, request.url.path, await request.body()),
    )
    return answer(*await asyncio.wrap_future(request.app.state.batcher.submit(job)))
