"""The audit trail, for admins: entries in order, and a check of the whole chain."""

from __future__ import annotations

import json
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request

from clearline.api.auth import permit
from clearline.api.problems import COMMON
from clearline.api.routes.common import Limit, db
from clearline.api.schemas import AuditEntryRead, AuditVerifyRead
from clearline.store import audit
from clearline.store.keys import Principal
from clearline.store.service_tables import audit_log

router = APIRouter(tags=["audit"], responses=COMMON)
Reader = Annotated[Principal, Depends(permit("audit.read"))]


@router.get("/audit", response_model=list[AuditEntryRead])
def list_entries(
    request: Request,
    who: Reader,
    after: Annotated[int, Query(ge=0, le=2**62, description="entries after this seq")] = 0,
    limit: Limit = 100,
) -> list[AuditEntryRead]:
    with db(request).read() as conn:
        rows = conn.execute(
            sa.select(audit_log)
            .where(audit_log.c.seq > after)
            .order_by(audit_log.c.seq)
            .limit(limit)
        ).all()
    return [AuditEntryRead(**{**r._mapping, "payload": json.loads(r.payload)}) for r in rows]


@router.get("/audit/verify", response_model=AuditVerifyRead)
def verify(request: Request, who: Reader) -> AuditVerifyRead:
    """Walk the hash chain; ``first_bad_seq`` names the first edited, missing or
    reordered entry."""
    with db(request).read() as conn:
        return AuditVerifyRead(**audit.verify(conn).as_dict())
