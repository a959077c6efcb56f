"""Bounds on policy YAML, checked before anyone parses it (files and API bodies alike).

PyYAML composes a document recursively (so deep nesting ends in ``RecursionError``) and
aliases are expanded wherever the document is walked (nine nested aliases of nine items
each are 387 million nodes: a "billion laughs"). The event stream is read iteratively,
so measuring depth and expanded size on it is cheap and safe for any input.
"""

from __future__ import annotations

import yaml

MAX_DEPTH = 64
MAX_NODES = 100_000


class YamlTooLarge(ValueError):
    """The text nests too deeply, expands too far, or an alias refers to itself."""


def check(text: str) -> None:
    """Raise :class:`YamlTooLarge` unless ``text`` stays within the bounds; malformed
    YAML is left to the real parser, which reports it with its line."""
    sizes: dict[str, int] = {}  # anchor -> expanded node count
    stack: list[tuple[str | None, int]] = [(None, 0)]  # open collections: (anchor, nodes)
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                stack.append((event.anchor, 1))
                if len(stack) - 1 > MAX_DEPTH:
                    raise YamlTooLarge(f"nested deeper than {MAX_DEPTH} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, nodes = stack.pop()
                _add(stack, nodes)
                if anchor is not None:
                    sizes[anchor] = nodes
            elif isinstance(event, yaml.ScalarEvent):
                _add(stack, 1)
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor not in sizes:  # unknown, or an alias inside its own anchor
                    raise YamlTooLarge(f"alias *{event.anchor} refers to itself or to nothing")
                _add(stack, sizes[event.anchor])
    except yaml.YAMLError:
        return


def _add(stack: list[tuple[str | None, int]], nodes: int) -> None:
    anchor, count = stack[-1]
    stack[-1] = (anchor, count + nodes)
    if count + nodes > MAX_NODES:
        raise YamlTooLarge(f"expands to more than {MAX_NODES:,} nodes")
