"""Regulatory presets: one file per jurisdiction, referenced from a policy by name.

A policy writes ``regulatory: cn_internet_consumer`` or, to tighten a cap further,
``regulatory: {preset: cn_internet_consumer, max_apr: 0.2}``. The loader replaces the
reference by the preset's content (so the policy's version hash covers the caps actually
applied, and a dumped policy reloads without the file). An override may only tighten:
a policy can never loosen a regulatory cap.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

#: The shipped presets (repository ``policies/presets``).
SHIPPED_DIR = Path(__file__).resolve().parents[4] / "policies" / "presets"
_NAME = re.compile(r"^[a-z0-9_]+$")
#: Keys of a resolved preset; a mapping with ``version`` is already resolved.
_OVERRIDABLE = {"household_cap", "income_share_cap", "max_apr"}


class PresetError(ValueError):
    """A preset reference that cannot be resolved or loosens a cap."""


def search_dirs(base_dir: Path | None) -> list[Path]:
    dirs = [base_dir / "presets"] if base_dir is not None else []
    dirs += [SHIPPED_DIR, Path.cwd() / "policies" / "presets"]
    return dirs


def load_preset(name: str, base_dir: Path | None = None) -> dict[str, Any]:
    """The preset ``name`` as a mapping (its ``preset`` key set to ``name``)."""
    if not _NAME.match(name):
        raise PresetError(f"preset name {name!r} must be lower_snake_case")
    for d in search_dirs(base_dir):
        p = d / f"{name}.yaml"
        if p.is_file():
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise PresetError(f"preset file {p} is not a mapping")
            if data.get("preset", name) != name:
                raise PresetError(f"preset file {p} names itself {data['preset']!r}")
            return {**data, "preset": name}
    raise PresetError(f"unknown preset {name!r} (no presets/{name}.yaml)")


def _tighter(key: str, preset: Any, override: Any) -> Any:
    """``override`` if it is at least as tight as ``preset``; else PresetError."""
    if preset is None:
        return override
    if key == "max_apr":
        if override is None or float(override) > float(preset):
            raise PresetError(f"max_apr {override} would loosen the preset's cap {preset}")
        return override
    if not isinstance(override, dict):
        raise PresetError(f"{key}: expected a mapping")
    field = "limit" if key == "household_cap" else "max_share"
    merged = {**preset, **override}
    if float(merged[field]) > float(preset[field]):
        raise PresetError(
            f"{key}.{field} {merged[field]} would loosen the preset's {preset[field]}"
        )
    return merged


def resolve_regulatory(data: dict[str, Any], base_dir: Path | None) -> dict[str, Any]:
    """``data`` with its ``regulatory`` reference replaced by the preset's content."""
    ref = data.get("regulatory")
    if isinstance(ref, str):
        ref = {"preset": ref}
    if not isinstance(ref, dict) or "preset" not in ref or "version" in ref:
        return data  # none, inline, or already resolved
    extra = set(ref) - _OVERRIDABLE - {"preset"}
    if extra:
        raise PresetError(
            f"a preset reference may only tighten {sorted(_OVERRIDABLE)}, not {sorted(extra)}"
        )
    resolved = load_preset(str(ref["preset"]), base_dir)
    for key in _OVERRIDABLE & set(ref):
        resolved[key] = _tighter(key, resolved.get(key), ref[key])
    return {**data, "regulatory": resolved}
