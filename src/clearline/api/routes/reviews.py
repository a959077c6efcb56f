"""POST /v1/accounts/{id}/review: decide one account now with the deployed model and
policy (the household's other lines are decided with it, see ``services.line_review``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse

from clearline.api.auth import permit
from clearline.api.problems import COMMON, WRITE, ProblemError, not_found
from clearline.api.routes.common import IdempotencyKey, Ident, actor, now, raw_body, write
from clearline.api.schemas import DecisionRead, ReviewCreate, ReviewRead
from clearline.services.deployment import NotDeployable
from clearline.services.line_review import NotReviewable, UnknownAccount, review_account
from clearline.store import decisions
from clearline.store.keys import Principal

router = APIRouter(tags=["reviews"], responses=COMMON)


@router.post(
    "/accounts/{account_id}/review",
    status_code=201,
    response_model=ReviewRead,
    responses={**WRITE, 503: {"description": "No approved model or published policy"}},
)
def review(
    request: Request,
    account_id: Ident,
    who: Annotated[Principal, Depends(permit("reviews.create"))],
    body_bytes: Annotated[bytes, Depends(raw_body)],
    idem_key: IdempotencyKey = None,
    body: Annotated[ReviewCreate | None, Body()] = None,
) -> JSONResponse:
    """Score and decide the account's line now; the decision is stored, applied to the
    line and audited in one transaction."""
    today = now(request).date()
    as_of = (body.as_of if body is not None else None) or request.app.state.service_day()
    if as_of > today:
        raise ProblemError(422, "Invalid request", f"as_of {as_of} is in the future")
    try:
        deployment = request.app.state.deployer.current()
    except (NotDeployable, ValueError) as exc:
        raise ProblemError(503, "Not deployable", str(exc)) from exc

    def work(conn: object) -> tuple[int, object]:
        try:
            rows = review_account(
                conn,  # type: ignore[arg-type]
                deployment,
                account_id,
                as_of=as_of,
                now=now(request),
                actor=actor(who),
                request_id=uuid.uuid4().hex,
                snapshot=request.app.state.snapshot,
            )
        except UnknownAccount:
            raise not_found("account", account_id) from None
        except NotReviewable as exc:
            raise ProblemError(422, "Not reviewable", str(exc)) from None
        reads = [DecisionRead(**decisions.readable(r)) for r in rows]
        result = ReviewRead(decision=reads[0], household=reads[1:])
        return 201, result.model_dump(mode="json")

    status, payload, replayed = write(request, who, idem_key, body_bytes, work)
    headers = {"Idempotency-Replayed": "true"} if replayed else None
    return JSONResponse(payload, status_code=status, headers=headers)
