from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from clearline.api.auth import permit
from clearline.api.problems import COMMON
from clearline.api.schemas import MeRead
from clearline.store.keys import Principal

router = APIRouter(tags=["me"], responses=COMMON)


@router.get("/me", response_model=MeRead)
async def me(who: Annotated[Principal, Depends(permit("me.read"))]) -> MeRead:
    """The calling key: its role and, for a borrower key, its borrower (no I/O: on the
    event loop, not a thread-pool hop)."""
    return MeRead(key_id=who.key_id, role=who.role, borrower_id=who.borrower_id)
