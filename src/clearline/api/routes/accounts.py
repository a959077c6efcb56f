"""Borrowers, accounts and their decisions (read only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from clearline.api.auth import own_borrower, permit
from clearline.api.problems import COMMON, not_found
from clearline.api.routes.common import Ident, Limit, Offset, db, page, read_answer
from clearline.api.schemas import NO_NUL, AccountRead, BorrowerRead, DecisionRead, Page
from clearline.store import decisions, lookup
from clearline.store.keys import Principal

router = APIRouter(tags=["accounts"], responses=COMMON)
AccountsReader = Annotated[Principal, Depends(permit("accounts.read"))]


@router.get("/accounts", response_model=Page[AccountRead])
def list_accounts(
    request: Request,
    who: AccountsReader,
    limit: Limit = 50,
    offset: Offset = 0,
    borrower_id: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
) -> Response:
    """Accounts by id; a borrower key lists only its own."""
    if who.role == "borrower":
        if borrower_id is not None and borrower_id != who.borrower_id:
            return read_answer(page([], limit, offset))
        borrower_id = who.borrower_id
    with db(request).read() as conn:
        rows = lookup.account_page(conn, borrower_id=borrower_id, limit=limit, offset=offset)
        items = [AccountRead(**r, latest_decision=_latest(conn, r["account_id"])) for r in rows]
    return read_answer(page(items, limit, offset))


@router.get("/accounts/{account_id}", response_model=AccountRead)
def get_account(request: Request, account_id: Ident, who: AccountsReader) -> Response:
    """The line, its status and the latest decision on it."""
    with db(request).read() as conn:
        row = lookup.account(conn, account_id)
        if row is None:
            raise not_found("account", account_id)
        own_borrower(who, row["borrower_id"], "account", account_id)
        return read_answer(AccountRead(**row, latest_decision=_latest(conn, account_id)))


@router.get("/accounts/{account_id}/decisions", response_model=Page[DecisionRead])
def account_decisions(
    request: Request,
    account_id: Ident,
    who: Annotated[Principal, Depends(permit("decisions.read"))],
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """Every decision on the account, newest first."""
    with db(request).read() as conn:
        row = lookup.account(conn, account_id)
        if row is None:
            raise not_found("account", account_id)
        own_borrower(who, row["borrower_id"], "account", account_id)
        rows = decisions.for_account(conn, account_id, limit=limit, offset=offset)
    items = [DecisionRead(**r) for r in rows]
    return read_answer(page(items, limit, offset))


@router.get("/decisions/{decision_id}", response_model=DecisionRead)
def get_decision(
    request: Request,
    decision_id: Ident,
    who: Annotated[Principal, Depends(permit("decisions.read"))],
) -> Response:
    """The frozen record: inputs hash, model and policy versions, score, PD, action,
    reasons, layer and the per-rule trace, exactly as decided."""
    with db(request).read() as conn:
        row = decisions.get(conn, decision_id)
    if row is None:
        raise not_found("decision", decision_id)
    own_borrower(who, row["borrower_id"], "decision", decision_id)
    return read_answer(DecisionRead(**row))


@router.get("/borrowers/{borrower_id}", response_model=BorrowerRead)
def get_borrower(
    request: Request,
    borrower_id: Ident,
    who: Annotated[Principal, Depends(permit("borrowers.read"))],
) -> Response:
    own_borrower(who, borrower_id, "borrower", borrower_id)
    with db(request).read() as conn:
        row = lookup.borrower(conn, borrower_id)
    if row is None:
        raise not_found("borrower", borrower_id)
    return read_answer(BorrowerRead(**row))


def _latest(conn: object, account_id: str) -> DecisionRead | None:
    row = decisions.latest(conn, account_id)  # type: ignore[arg-type]
    return None if row is None else DecisionRead(**row)
