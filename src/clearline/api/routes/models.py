"""Registered models: read by staff; approval and retirement (sign-offs) by admins."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from clearline.api.auth import permit
from clearline.api.problems import COMMON, WRITE, ProblemError, not_found
from clearline.api.routes.common import IdempotencyKey, Ident, actor, now, raw_body, write
from clearline.api.schemas import ModelRead, SignOffCreate
from clearline.services.deployment import NotDeployable
from clearline.store import audit
from clearline.store.keys import Principal
from clearline.store.registry import Entry, Registry, RegistryError

router = APIRouter(tags=["models"], responses=COMMON)
Reader = Annotated[Principal, Depends(permit("models.read"))]


def _registry(request: Request) -> Registry:
    return Registry(request.app.state.settings.registry)


def _read(e: Entry) -> ModelRead:
    return ModelRead(
        model_version=e.model_version,
        state=e.state,
        registered_at=e.registered_at,
        auc=e.meta.get("metrics", {}).get("auc"),
        features=list(e.meta.get("features", [])),
        history=list(e.history),
    )


def _keep_serving(request: Request, registry: Registry, model_version: str) -> None:
    """Refuse to retire the model the service decides with when no approved model would
    take its place: one API call must not stop every review (the CLI still can, as a
    deliberate act of whoever runs the service)."""
    deployer = request.app.state.deployer
    try:
        serving = deployer.current().model_version
    except (NotDeployable, ValueError):
        return  # not deciding now; retiring cannot make that worse
    source = deployer.source
    if serving != model_version or (source.model and Path(source.model).is_dir()):
        return  # another model, or a model folder the registry does not govern
    successors = [
        e for e in registry.list() if e.state == "approved" and e.model_version != model_version
    ]
    if source.model is None and successors:
        return  # the newest remaining approved model takes over
    raise ProblemError(
        409,
        "Model in service",
        f"model {model_version} decides this service's reviews; approve its successor first",
    )


@router.get("/models", response_model=list[ModelRead])
def list_models(request: Request, who: Reader) -> list[ModelRead]:
    return [_read(e) for e in _registry(request).list()]


@router.get("/models/{model_version}", response_model=ModelRead)
def get_model(request: Request, model_version: Ident, who: Reader) -> ModelRead:
    registry = _registry(request)
    if registry.state(model_version) is None:
        raise not_found("model", model_version)
    return _read(registry.get(model_version))


@router.post(
    "/models/{model_version}/{move}", status_code=200, response_model=ModelRead, responses=WRITE
)
def sign_off(
    request: Request,
    model_version: Ident,
    move: Literal["approve", "retire"],
    who: Annotated[Principal, Depends(permit("models.sign_off"))],
    body_bytes: Annotated[bytes, Depends(raw_body)],
    idem_key: IdempotencyKey = None,
    body: SignOffCreate | None = None,
) -> Response:
    """Approve a draft model for production reviews, or retire a model (recorded with
    the key that signed it off, and audited)."""
    registry = _registry(request)
    if registry.state(model_version) is None:
        raise not_found("model", model_version)
    to = {"approve": "approved", "retire": "retired"}[move]
    if move == "retire":
        _keep_serving(request, registry, model_version)

    def work(conn: object) -> tuple[int, object]:
        note = body.note if body is not None else ""
        try:
            entry = registry.move(model_version, to, at=now(request), by=actor(who), note=note)
        except RegistryError as exc:
            raise ProblemError(409, "Conflict", str(exc)) from None
        audit.append(
            conn,  # type: ignore[arg-type]
            [audit.Entry(actor(who), f"model.{move}", f"model:{model_version}", {"note": note})],
            at=now(request),
        )
        return 200, _read(entry).model_dump(mode="json")

    return write(request, who, idem_key, body_bytes, work)
