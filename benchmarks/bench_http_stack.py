"""What the HTTP stack costs per request, without the decision (issue 5): the real app
with its batcher answering at once, against bare routes of the same frameworks.

Usage::

    .venv/bin/python benchmarks/bench_http_stack.py [--dir D] [--requests 3000]

It deploys (or reuses) a service in ``--dir`` as ``bench_review_pass.py`` does, builds
the app in this process, replaces its review batcher with one that answers a stored
201 body at once, and calls the ASGI app directly (no sockets, no uvicorn) for:

- ``POST /v1/accounts/{id}/review``: key check, body, idempotency header, the route;
- ``GET /v1/me`` and ``GET /v1/accounts/{id}`` (the latter reads the database);

and, as the floor these frameworks set, the same calls on a bare FastAPI route with one
header dependency, a bare Starlette route and a raw ASGI callable. CPU microseconds per
request, and each clearline figure over the bare FastAPI one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from bench_review_pass import deployed
from load_service import portfolio_facts

BODY = {"decision": {"account_id": "A1", "action": "keep"}, "household": []}


def bare_apps() -> dict[str, Any]:
    from fastapi import Depends, FastAPI, Header
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    payload = json.dumps(BODY).encode()

    async def raw(scope: dict, receive: Callable, send: Callable) -> None:
        await receive()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def one(request: Any) -> JSONResponse:
        return JSONResponse({**BODY, "id": request.path_params["i"]})

    fast = FastAPI()

    # Defaults, not Annotated: these names are local, and the annotations are strings.
    async def key(authorization: str = Header("")) -> str:  # noqa: B008
        return authorization

    @fast.get("/v1/x/{i}")
    async def route(i: str, who: str = Depends(key)) -> dict:  # noqa: B008
        return {**BODY, "id": i}

    return {"raw": raw, "starlette": Starlette(routes=[Route("/v1/x/{i}", one)]), "fastapi": fast}


class AnswerAtOnce:
    """Stands in for the review batcher: the stored answer, no decision."""

    def submit(self, job: object) -> Future:
        done: Future = Future()
        done.set_result((201, BODY, False))
        return done


def scope(method: str, path: str, key: str, extra: list[tuple[bytes, bytes]]) -> dict:
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {key}".encode()), *extra]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def cpu_per_request(app: Any, make: Callable[[], tuple[dict, bytes]], n: int) -> float:
    async def call() -> None:
        sc, body = make()
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        await app(sc, receive, send)
        if sent[0]["status"] >= 300:
            raise SystemExit(f"{sc['path']}: {sent[0]['status']} {sent[1].get('body', b'')[:300]}")

    for _ in range(max(n // 10, 50)):
        await call()
    t0 = time.process_time()
    for _ in range(n):
        await call()
    return 1e6 * (time.process_time() - t0) / n


async def measure(tmp: Path, n: int) -> None:
    from clearline.api.app import Settings, create_app

    url = deployed(tmp)
    as_of, ids = portfolio_facts(url)
    key = (tmp / "key").read_text()
    app = create_app(
        Settings(db_url=url, registry=tmp / "registry", policies=tmp / "policies", as_of=as_of)
    )
    app.state.batcher = AnswerAtOnce()
    body = json.dumps({"as_of": as_of.isoformat()}).encode()
    post = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    ours = {
        "clearline POST review (batcher answers at once)": lambda: (
            scope("POST", f"/v1/accounts/{ids[3]}/review", key, post),
            body,
        ),
        "clearline GET /v1/me": lambda: (scope("GET", "/v1/me", key, []), b""),
        "clearline GET /v1/accounts/{id} (database)": lambda: (
            scope("GET", f"/v1/accounts/{ids[3]}", key, []),
            b"",
        ),
    }
    figures = {name: await cpu_per_request(app, make, n) for name, make in ours.items()}
    for name, bare in bare_apps().items():
        make = lambda: (scope("GET", "/v1/x/abc", key, []), b"")  # noqa: E731
        figures[f"bare {name} route"] = await cpu_per_request(bare, make, n)
    floor = figures["bare fastapi route"]
    print(f"{'request':<52}{'us CPU':>9}{'/ bare FastAPI':>16}")
    for name, us in figures.items():
        print(f"{name:<52}{us:>9.1f}{us / floor:>15.2f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default="/tmp/clearline-review-pass")
    ap.add_argument("--requests", type=int, default=3000)
    args = ap.parse_args()
    asyncio.run(measure(Path(args.dir), args.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
