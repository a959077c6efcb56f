"""Errors in one shape: RFC 9457 problem details (``application/problem+json``).

Every refusal is a :class:`ProblemError` or is turned into one here, so a client always
gets ``type, title, status, detail`` and never a stack trace.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

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


def _response(
    request: Request,
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = Problem(
        title=title, status=status, detail=detail, instance=request.url.path, **extra
    ).model_dump(exclude_none=True)
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=MEDIA, headers=headers or None)


def _documented(text: str) -> dict[str, Any]:
    return {"model": Problem, "content": {MEDIA: {}}, "description": text}


#: documented on every route, so the OpenAPI document describes every refusal
COMMON = {
    code: _documented(text)
    for code, text in (
        (400, "Bad request"),
        (401, "Missing, unknown or revoked key"),
        (403, "The key's role may not do this"),
        (404, "Not found (or not yours)"),
        (413, "Request body too large"),
        (422, "The request does not validate"),
    )
}
WRITE = {409: _documented("Conflict")}
UNAVAILABLE = {503: _documented("No approved model or published policy to decide with")}


METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


@functools.cache
def _template(path: str) -> re.Pattern[str]:
    return compile_path(path)[0]


def _allowed(request: Request) -> str:
    """Every method the document lists for this path (RFC 9110: a 405 carries ``Allow``);
    Starlette would name only the first matching route's methods, and here each method
    of a path is its own route. The few undocumented routes (``/openapi.json``, the
    docs pages) are plain Starlette routes that know their methods."""
    path = request.scope["path"]
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        if _template(template).match(path):
            methods |= {m.upper() for m in item if m in METHODS}
    for route in request.app.router.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def _problem_media(app: FastAPI) -> None:
    """FastAPI files a response ``model`` under ``application/json``; problems are sent
    as ``application/problem+json``, so the document puts the schema there (and a
    client or fuzzer validating against it checks what is actually sent)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = build()
            for item in doc.get("paths", {}).values():
                for operation in item.values():
                    for response in operation.get("responses", {}).values():
                        content = response.get("content", {})
                        if MEDIA in content and "application/json" in content:
                            content[MEDIA] = content.pop("application/json")
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    _problem_media(app)

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
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed(request)
        return _response(request, exc.status_code, title, str(exc.detail), headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _response(request, 500, "Internal error", "the error was logged; no details")
