"""`clearline models ...`: the model registry from the command line."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from clearline.cli_support import DEFAULT_REGISTRY, JsonOpt, emit, err, guarded, show
from clearline.store.registry import Entry, Registry

models_app = typer.Typer(
    help="List, show, approve and retire trained models.", no_args_is_help=True
)

RegistryOpt = Annotated[
    Path,
    typer.Option("--registry", envvar="CLEARLINE_REGISTRY", help="Model registry folder."),
]
ByOpt = Annotated[str, typer.Option("--by", help="Who takes this decision (recorded).")]
NoteOpt = Annotated[str, typer.Option("--note", help="Why (recorded).")]
Version = Annotated[str, typer.Argument(help="Model version, e.g. sc-0123456789ab.")]


def summary(entry: Entry) -> dict:
    metrics = entry.meta.get("metrics", {})
    return {
        "model_version": entry.model_version,
        "state": entry.state,
        "registered_at": entry.registered_at,
        "auc": metrics.get("auc"),
        "features": len(entry.meta.get("features", [])),
    }


@models_app.command("list")
@guarded
def list_models(registry: RegistryOpt = Path(DEFAULT_REGISTRY), as_json: JsonOpt = False) -> None:
    """Every registered model with its state."""
    rows = [summary(e) for e in Registry(registry).list()]

    def human() -> None:
        if not rows:
            err.print(f"no models in {registry}")
        for r in rows:
            err.print(
                f"{r['model_version']}  {r['state']:<8}  AUC {r['auc']}  {r['registered_at']}"
            )

    emit({"models": rows}, as_json, human)


@models_app.command("show")
@guarded
def show_model(
    version: Version, registry: RegistryOpt = Path(DEFAULT_REGISTRY), as_json: JsonOpt = False
) -> None:
    """One model: its metadata, metrics and the history of its state."""
    payload = asdict(Registry(registry).get(version))
    emit(payload, as_json, lambda: show(payload))


@models_app.command()
@guarded
def register(
    model_dir: Annotated[Path, typer.Argument(help="Folder with model.json.")],
    registry: RegistryOpt = Path(DEFAULT_REGISTRY),
    by: ByOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Add a trained model to the registry as a draft."""
    entry = Registry(registry).register(model_dir, at=datetime.now(UTC), by=by)
    emit(summary(entry), as_json, lambda: show(summary(entry)))


def _move(to: str):  # noqa: ANN202 - builds one command per target state
    @guarded
    def command(
        version: Version,
        by: ByOpt = "",
        note: NoteOpt = "",
        registry: RegistryOpt = Path(DEFAULT_REGISTRY),
        as_json: JsonOpt = False,
    ) -> None:
        entry = Registry(registry).move(version, to, at=datetime.now(UTC), by=by, note=note)
        emit(summary(entry), as_json, lambda: show(summary(entry)))

    command.__doc__ = f"Mark a model {to} (recorded with --by and --note)."
    return command


models_app.command("approve")(_move("approved"))
models_app.command("retire")(_move("retired"))
