"""The review route's common case, read without FastAPI's per-request machinery.

FastAPI resolves a route's dependencies and parameters on every request. For the
review route (key check, path id, Idempotency-Key, JSON body) that was about 120 of
the 200 us of CPU the request costs in-process (``benchmarks/bench_http_stack.py``),
and reviews are the service's hot write.

This route sits in front of the FastAPI one and serves only the requests it reads
exactly as FastAPI would: a bearer key found in the key cache, with a role that may
review; an id within ``Ident``'s limits; an Idempotency-Key within its limits, or none;
no body, or an ``application/json`` body that ``ReviewCreate`` accepts; no query
parameter given twice (``query_given_once``). It checks them with the same annotated
types. Any other request is passed on, untouched, to the FastAPI route, which stays the
definition: OpenAPI, validation and every error answer.
``tests/test_review_shortcut.py`` sends the same requests both ways.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.routing import Match, Route
from starlette.types import Message, Receive, Scope, Send

from clearline.api.auth import PERMISSIONS, cached_principal
from clearline.api.permissions_doc import api_routes
from clearline.api.routes import reviews
from clearline.api.routes.common import IdempotencyKey, Ident, repeated_query
from clearline.api.schemas import ReviewCreate
from clearline.store.keys import Principal

_PASSED_ON = "clearline.review_shortcut.passed_on"
_ROLES = PERMISSIONS[reviews.PERMISSION]
_ident: TypeAdapter[str] = TypeAdapter(Ident)
_idem_key: TypeAdapter[str | None] = TypeAdapter(IdempotencyKey)
_body: TypeAdapter[ReviewCreate | None] = TypeAdapter(ReviewCreate | None)  # type: ignore[arg-type]

#: account id, caller, Idempotency-Key, as_of: what the FastAPI route hands on.
Args = tuple[str, Principal, str | None, date | None]


async def read_args(request: Request) -> Args | None:
    """The review's parameters as the FastAPI route would read them, or None when the
    request is not the common case (the FastAPI route then answers it)."""
    if request.scope["query_string"] and repeated_query(request):
        return None
    who = await cached_principal(request)
    if who is None or who.role not in _ROLES:
        return None
    try:
        account_id = _ident.validate_python(request.path_params["account_id"])
        idem_key = _idem_key.validate_python(request.headers.get("idempotency-key"))
    except ValidationError:
        return None
    raw = await request.body()
    if not raw:
        return account_id, who, idem_key, None
    if request.headers.get("content-type") != "application/json":
        return None
    try:  # as FastAPI reads a JSON body: json.loads, then the annotation in Python mode
        body = _body.validate_python(json.loads(raw))
    except (ValueError, ValidationError):  # a JSONDecodeError is a ValueError
        return None
    return account_id, who, idem_key, None if body is None else body.as_of


async def _serve(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    args = await read_args(request)
    if args is None:
        await _pass_on(scope, await request.body(), receive, send)
        return
    response = await reviews.decide_review(request, *args)
    await response(scope, receive, send)


async def _pass_on(scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
    """Route the request again, this route left out, with its body as it came."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    scope[_PASSED_ON] = True
    await scope["router"](scope, replay, send)


class ReviewShortcut(Route):
    """Matches the review route's POSTs (at ``path``) that it has not passed on already."""

    def __init__(self, path: str) -> None:
        super().__init__(path, _serve, methods=["POST"], include_in_schema=False)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get(_PASSED_ON) or scope.get("method") != "POST":
            return Match.NONE, {}
        return super().matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Route would call _serve with a Request; it is an ASGI app (it may pass on).
        await _serve(scope, receive, send)


def install(app: Any) -> None:
    """Put the shortcut in front of the FastAPI review route, at that route's path."""
    (path,) = [r.path for r in api_routes(app) if r.dependant.call is reviews.review]
    app.router.routes.insert(0, ReviewShortcut(path))
