"""The permission table of ``docs/service.md``, rendered from the routes themselves.

Each row is read from a route's own :func:`~clearline.api.auth.permit` dependency and
:data:`~clearline.api.auth.PERMISSIONS`, so the documented table is the enforced one
(a test compares the two). ``python -m clearline.api.permissions_doc [docs/service.md]``
prints the table, or rewrites it between the markers of that file.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from clearline.api.auth import ALL, PERMISSIONS

#: permissions whose routes show a borrower key only its own borrower's data
OWN_ONLY = frozenset({"accounts.read", "decisions.read", "borrowers.read"})
#: FastAPI's own pages, which carry no data and no permission
FRAMEWORK_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
START, END = "<!-- permissions:start -->", "<!-- permissions:end -->"


def api_routes(app: FastAPI) -> list[Any]:
    """The app's API routes in the order they were added, prefixes applied.

    FastAPI before 0.16x lists included routes as :class:`APIRoute`; later versions
    wrap each included router, and ``iter_route_contexts`` unwraps them (each context
    answers ``path``, ``methods`` and ``dependant`` like the route it stands for)."""
    try:
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined]
    except ImportError:  # older FastAPI: included routes are copied into app.routes
        found: list[Any] = [r for r in app.routes if isinstance(r, APIRoute)]
    else:
        found = [
            c for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)
        ]
    return [r for r in found if r.path not in FRAMEWORK_PATHS]


def permissions_of(route: Any) -> list[str]:
    """Every ``permit(...)`` the route depends on, however deep (one is correct)."""

    def walk(dependant: Any) -> Iterator[str]:
        for dep in dependant.dependencies:
            permission = getattr(dep.call, "permission", None)
            if permission is not None:
                yield permission
            yield from walk(dep)

    return list(walk(route.dependant))


def endpoints(app: FastAPI) -> list[tuple[str, str, str]]:
    """``(method, path, permission)`` per method of every route; a route without
    exactly one permission is an error, never a row."""
    rows = []
    for route in api_routes(app):
        found = permissions_of(route)
        if len(found) != 1:
            raise ValueError(f"{route.path} needs exactly one permit(), has {found}")
        for method in sorted(route.methods - {"HEAD"}):
            rows.append((method, route.path, found[0]))
    return rows


def permission_table(app: FastAPI) -> str:
    """Markdown: one row per endpoint, one column per role (``own``: a borrower key
    sees only its own borrower's data there)."""
    lines = [
        "| Endpoint | Permission | " + " | ".join(ALL) + " |",
        "|---|---|" + ":-:|" * len(ALL),
    ]
    for method, path, permission in endpoints(app):
        cells = []
        for role in ALL:
            allowed = role in PERMISSIONS[permission]
            own = role == "borrower" and permission in OWN_ONLY
            cells.append(("own" if own else "✓") if allowed else "—")
        lines.append(f"| `{method} {path}` | `{permission}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def documented_table(text: str) -> str:
    """The table between the markers of a document (empty when there are none)."""
    found = re.search(re.escape(START) + r"\n(.*?)" + re.escape(END), text, re.S)
    return found.group(1) if found else ""


def _table() -> str:
    from clearline.api.app import Settings, create_app

    # The routes do not depend on the database; a throwaway one keeps the real one clean.
    with tempfile.TemporaryDirectory(prefix="clearline-doc-") as tmp:
        app = create_app(Settings(db_url=f"sqlite:///{Path(tmp) / 'doc.db'}"))
        table = permission_table(app)
        app.state.db.dispose()
    return table


def main(argv: list[str]) -> int:
    table = _table()
    if not argv:
        sys.stdout.write(table)
        return 0
    doc = Path(argv[0])
    text = doc.read_text(encoding="utf-8")
    if START not in text or END not in text:
        sys.stderr.write(f"error: {doc} has no {START} ... {END} section\n")
        return 1
    head, rest = text.split(START, 1)
    doc.write_text(f"{head}{START}\n{table}{END}{rest.split(END, 1)[1]}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
