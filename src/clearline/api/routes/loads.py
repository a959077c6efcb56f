"""Portfolio loads: a portfolio in the contract's format, validated as `clearline ingest`
validates a folder, and written all or nothing."""

from __future__ import annotations

import functools
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from clearline.api.auth import permit
from clearline.api.problems import COMMON, WRITE, ProblemError
from clearline.api.routes.common import (
    IdempotencyKey,
    Limit,
    Offset,
    actor,
    db,
    now,
    page,
    raw_body,
    write,
)
from clearline.api.schemas import LoadCreate, LoadRead, Page
from clearline.core.schema import TABLES
from clearline.core.validate import PortfolioError, validate_portfolio
from clearline.store import audit, lookup
from clearline.store.db import ingest_into, stored_ids
from clearline.store.keys import Principal

router = APIRouter(tags=["loads"], responses=COMMON)


@router.get("/loads", response_model=Page[LoadRead])
def list_loads(
    request: Request,
    who: Annotated[Principal, Depends(permit("loads.read"))],
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[LoadRead]:
    """Loads, newest first, with the rows each one added."""
    with db(request).read() as conn:
        rows = lookup.load_page(conn, limit=limit, offset=offset)
    items = [LoadRead(**r) for r in rows]
    return page(items, limit, offset)


@router.post("/loads", status_code=201, response_model=LoadRead, responses=WRITE)
def create_load(
    request: Request,
    body: LoadCreate,
    who: Annotated[Principal, Depends(permit("loads.create"))],
    body_bytes: Annotated[bytes, Depends(raw_body)],
    idem_key: IdempotencyKey = None,
) -> Response:
    """Validate and load a portfolio; events already loaded (same ``event_id``) are
    skipped, snapshot tables are upserted, as for `clearline ingest`."""
    tables = body.model_dump()
    raw = _raw_tables({k: v for k, v in tables.items() if v or k in _REQUIRED})
    names = {name: f"{name} (request body)" for name in raw}
    try:
        with db(request).read() as conn:  # rows may refer to those loaded before
            known = functools.partial(stored_ids, conn)
            portfolio = validate_portfolio(
                raw, file_names=names, today=now(request).date(), known=known
            )
    except PortfolioError as exc:
        problems = [{"loc": [str(p)], "msg": p.message} for p in exc.problems]
        raise ProblemError(
            422, "Invalid portfolio", str(exc).splitlines()[0], errors=problems
        ) from None

    def work(conn: object) -> tuple[int, object]:
        source = f"api {actor(who)}"
        loaded = ingest_into(conn, portfolio, source=source, now=now(request))  # type: ignore[arg-type]
        # Its own row, by id, not the newest row (which another load may have written).
        load = lookup.load(conn, loaded.load_id)  # type: ignore[arg-type]
        audit.append(
            conn,  # type: ignore[arg-type]
            [audit.Entry(actor(who), "load.create", f"load:{loaded.load_id}", loaded.added)],
            at=now(request),
        )
        return 201, LoadRead(**load).model_dump(mode="json")

    return write(request, who, idem_key, body_bytes, work)


_REQUIRED = ("borrowers", "accounts", "events")
_COLUMNS = {t.name: list(t.names) for t in TABLES}


def _raw_tables(body: dict[str, list[dict[str, Any]]]) -> dict[str, pl.DataFrame]:
    """JSON rows -> all-text frames, as if read from CSV files, for the same validation.
    An empty list is a table with the contract's columns and no rows (a CSV file with
    only its header): a day's events come without borrower or account rows."""
    out = {}
    for name, rows in body.items():
        columns = list(dict.fromkeys(c for r in rows for c in r)) or _COLUMNS[name]
        out[name] = pl.DataFrame(
            {c: [_text(r.get(c)) for r in rows] for c in columns},
            schema={c: pl.String for c in columns},
        )
    return out


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
