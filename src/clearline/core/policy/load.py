"""Reading a policy file into a validated :class:`Policy`, with errors naming the line.

The YAML is composed once into nodes that keep their position, so every refusal can say
``policies/x.yaml line 42, rules[3].when: unknown feature 'dpd_nwo' (did you mean
'dpd_now'?)``. A policy may name a regulatory preset (``regulatory: cn_internet_consumer``)
which is read from ``presets/NAME.yaml`` next to the policy, else from the shipped
``policies/presets/``; see :mod:`clearline.core.policy.presets`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from clearline.core.policy import yaml_limits
from clearline.core.policy.model import Policy
from clearline.core.policy.parts import UNION_TAGS
from clearline.core.policy.presets import PresetError, resolve_regulatory

Loc = tuple[int | str, ...]


class PolicyError(ValueError):
    """A policy file is unreadable or invalid; the message names the file and field."""


def _path(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in UNION_TAGS:
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def marks(node: yaml.Node, loc: Loc = ()) -> dict[Loc, int]:
    """1-based line of every mapping value and sequence item, by its field location."""
    out: dict[Loc, int] = {loc: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
            out.update(marks(value, (*loc, k)))
            out[(*loc, k)] = key.start_mark.line + 1  # the line of `key:` itself
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out.update(marks(item, (*loc, i)))
    return out


def _line(loc: Loc, lines: dict[Loc, int]) -> int | None:
    """The line of the deepest known prefix of ``loc`` (errors can point below a node)."""
    clean = tuple(p for p in loc if p not in UNION_TAGS)
    for n in range(len(clean), 0, -1):
        if clean[:n] in lines:
            return lines[clean[:n]]
    return None


def _format(source: str, exc: ValidationError, lines: dict[Loc, int] | None) -> str:
    out = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        loc = tuple(err["loc"])
        line = _line(loc, lines) if lines else None
        where = f"{source} line {line}, " if line else f"{source}: "
        out.append(f"{where}{_path(loc)}: {msg}")
    return "\n".join(out)


def parse_policy(
    data: Any,
    source: str = "<policy>",
    *,
    lines: dict[Loc, int] | None = None,
    base_dir: Path | None = None,
) -> Policy:
    """Validate already-parsed policy data (a mapping).

    Raises
    ------
    PolicyError
        One line per problem: ``source line N, field.path[index]: message`` (without
        ``line N`` when no positions are known).
    """
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: expected a mapping at the top level")
    try:
        data = resolve_regulatory(data, base_dir)
    except PresetError as exc:
        line = _line(("regulatory",), lines) if lines else None
        where = f"{source} line {line}, " if line else f"{source}: "
        raise PolicyError(f"{where}regulatory: {exc}") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_format(source, exc, lines)) from None


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy YAML file; ``policy.version`` is ``name@version+hash8``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{p}: cannot read policy file: {exc.strerror or exc}") from None
    try:
        yaml_limits.check(text)  # before parsing: nesting and alias bombs stop here
    except yaml_limits.YamlTooLarge as exc:
        raise PolicyError(f"{p}: {exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{p}: not valid YAML: {exc}") from None
    lines = marks(node) if node is not None else None
    return parse_policy(data, str(p), lines=lines, base_dir=p.parent)
