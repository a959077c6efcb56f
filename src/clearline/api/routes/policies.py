"""Published policies: read by staff, published by admins (immutable once published)."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from clearline.api.auth import permit
from clearline.api.problems import COMMON, WRITE, ProblemError, not_found
from clearline.api.routes.common import IdempotencyKey, Ident, actor, now, raw_body, write
from clearline.api.schemas import PolicyCreate, PolicyPublished, PolicyRead
from clearline.core.policy import yaml_limits
from clearline.store import audit
from clearline.store.keys import Principal
from clearline.store.policies import PolicyStore, PolicyStoreError

router = APIRouter(tags=["policies"], responses=COMMON)
Reader = Annotated[Principal, Depends(permit("policies.read"))]


def _store(request: Request) -> PolicyStore:
    return PolicyStore(request.app.state.settings.policies)


@router.get("/policies", response_model=list[PolicyRead])
def list_policies(request: Request, who: Reader) -> list[PolicyRead]:
    """Every publication, oldest first; ``current`` marks each name's live release."""
    return [PolicyRead(**asdict(p)) for p in _store(request).list()]


@router.get("/policies/{ref}", response_model=PolicyRead)
def get_policy(request: Request, ref: Ident, who: Reader) -> PolicyRead:
    """A policy by full version, ``name@release`` or name (its current release)."""
    try:
        return PolicyRead(**asdict(_store(request).entry(ref)))
    except PolicyStoreError:
        raise not_found("policy", ref) from None


@router.post("/policies", status_code=201, response_model=PolicyPublished, responses=WRITE)
def publish_policy(
    request: Request,
    body: PolicyCreate,
    who: Annotated[Principal, Depends(permit("policies.publish"))],
    body_bytes: Annotated[bytes, Depends(raw_body)],
    idem_key: IdempotencyKey = None,
) -> Response:
    """Validate and publish a policy file's text; the same text again is not a new
    publication, the same release with other text is refused (409)."""
    try:
        yaml_limits.check(body.yaml)
    except yaml_limits.YamlTooLarge as exc:
        raise ProblemError(422, "Invalid policy", f"yaml: {exc}") from None

    def work(conn: object) -> tuple[int, object]:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "policy.yaml"
            path.write_text(body.yaml, encoding="utf-8")
            try:
                entry, created = _store(request).publish(
                    path, at=now(request), by=actor(who), note=body.note
                )
            except PolicyStoreError as exc:
                raise ProblemError(409, "Conflict", str(exc)) from None
            except ValueError as exc:  # the policy does not load: name the line and field
                # the messages name the file: the client's is the body's `yaml`, not ours
                detail = str(exc).replace(str(path), "yaml")
                raise ProblemError(422, "Invalid policy", detail) from None
        if created:
            payload = {"version": entry.version, "content_hash": entry.content_hash}
            audit.append(
                conn,  # type: ignore[arg-type]
                [audit.Entry(actor(who), "policy.publish", f"policy:{entry.version}", payload)],
                at=now(request),
            )
        out = PolicyPublished(policy=PolicyRead(**asdict(entry)), created=created)
        return (201 if created else 200), out.model_dump(mode="json")

    return write(request, who, idem_key, body_bytes, work)
