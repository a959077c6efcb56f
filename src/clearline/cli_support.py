"""Shared pieces of the command line: errors as one line, JSON output, options."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

err = Console(stderr=True)
DEFAULT_DB = "sqlite:///clearline.db"
DEFAULT_REGISTRY = "clearline-models"

F = TypeVar("F", bound=Callable[..., Any])

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="As-of date YYYY-MM-DD (default: the last event's day)."),
]
DataOpt = Annotated[
    str, typer.Option("--data", help="Portfolio folder, or a database URL after ingest.")
]
EngineOpt = Annotated[
    str, typer.Option("--engine", help="local, or spark (same decisions, batches of households).")
]


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def one_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()] or [type(exc).__name__]
    more = f" (+{len(lines) - 1} more lines)" if len(lines) > 1 else ""
    return lines[0] + more


def guarded(fn: F) -> F:
    """Turn expected failures (bad input, missing files) into one line and exit 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except (ValueError, FileNotFoundError, NotADirectoryError, KeyError, OSError) as exc:
            fail(one_line(exc))
        except Exception as exc:  # noqa: BLE001 - the one place that must not leak a trace
            if type(exc).__module__.split(".")[0] in ("sqlalchemy", "psycopg", "sqlite3"):
                fail(f"database error: {one_line(exc)}")
            fail(f"unexpected {type(exc).__name__}: {one_line(exc)}", code=1)

    return wrapper  # type: ignore[return-value]


def emit(payload: dict[str, Any], as_json: bool, human: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    else:
        human()


def parse_date(value: str | None, what: str = "--as-of") -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} must be a date YYYY-MM-DD, got {value!r}") from None


def show(payload: dict[str, Any]) -> None:
    for key, value in payload.items():
        err.print(f"[bold]{key}[/]: {value}", highlight=False)
