"""Reading a policy file into a validated :class:`Policy`, with errors naming the path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from clearline.core.policy.model import Policy


class PolicyError(ValueError):
    """A policy file is unreadable or invalid; the message names the file and field."""


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _format(source: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {_path(tuple(err['loc']))}: {msg}")
    return "\n".join(lines)


def parse_policy(data: Any, source: str = "<policy>") -> Policy:
    """Validate already-parsed policy data (a mapping).

    Raises
    ------
    PolicyError
        One line per problem: ``source: field.path[index]: message``.
    """
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: expected a mapping at the top level")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_format(source, exc)) from None


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy YAML file; ``policy.version`` is ``name@version+hash8``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{p}: cannot read policy file: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{p}: not valid YAML: {exc}") from None
    return parse_policy(data, str(p))
