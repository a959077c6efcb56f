"""Errors in one shape: RFC 9457 problem details (``application/problem+json``).

Every refusal is a :class:`ProblemError` or is turned into one here, so a client always
gets ``type, title, status, detail`` and never a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("clearline.api")
MEDIA = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


class ProblemError(Exception):
    def __init__(self, status: int, title: str, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def not_found(what: str, ident: str) -> ProblemError:
    return ProblemError(404, "Not found", f"no {what} {ident!r}")


def _response(request: Request, status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = Problem(
        title=title, status=status, detail=detail, instance=request.url.path, **extra
    ).model_dump(exclude_none=True)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA, headers=headers)


#: documented on every route, so the OpenAPI document describes every refusal
COMMON = {
    code: {"model": Problem, "content": {MEDIA: {}}, "description": text}
    for code, text in (
        (400, "Bad request"),
        (401, "Missing, unknown or revoked key"),
        (403, "The key's role may not do this"),
        (404, "Not found (or not yours)"),
        (413, "Request body too large"),
        (422, "The request does not validate"),
    )
}
WRITE = {
    409: {"model": Problem, "content": {MEDIA: {}}, "description": "Conflict"},
}


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return _response(request, exc.status, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()[:20]
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'])}: {first['msg']}"
        return _response(request, 422, "Invalid request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        return _response(request, exc.status_code, title, str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _response(request, 500, "Internal error", "the error was logged; no details")
