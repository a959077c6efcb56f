"""Portfolio folders: ``NAME.csv`` or ``NAME.parquet`` per table, in and out.

Reading returns a validated :class:`Portfolio` or raises
:class:`~clearline.core.validate.PortfolioError` naming file, data row and column. CSV is
read with every column as text (``infer_schema=False``) so that the validator, not the
CSV reader, decides what a value means and can say which cell is wrong.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import polars as pl

from clearline.core.portfolio import Portfolio
from clearline.core.schema import TABLES
from clearline.core.validate import Known, PortfolioError, Problem, validate_portfolio

# Written CSV timestamps: ISO 8601 in UTC with a "Z" and microseconds, so that reading the
# file back gives the same instants.
CSV_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.6fZ"


def _read_one(path: Path) -> pl.DataFrame:
    """One table file as a raw frame; unreadable files become a PortfolioError."""
    try:
        if path.suffix == ".csv":
            # All text and UTF-8 (a BOM is dropped by polars); empty cells are null.
            return pl.read_csv(path, infer_schema=False, encoding="utf8")
        return pl.read_parquet(path)
    except Exception as exc:  # polars raises several error types for bad files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PortfolioError([Problem(path.name, None, None, f"cannot be read: {first}")]) from exc


def read_raw(path: str | Path) -> tuple[dict[str, pl.DataFrame], dict[str, str]]:
    """Raw frames and their file names for every contract table found in ``path``."""
    folder = Path(path)
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise PortfolioError(
            [Problem(str(folder), None, None, f"{what}; expected a portfolio folder")]
        )
    raw: dict[str, pl.DataFrame] = {}
    names: dict[str, str] = {}
    problems: list[Problem] = []
    for table in TABLES:
        found = [folder / f"{table.name}{ext}" for ext in (".csv", ".parquet")]
        found = [f for f in found if f.is_file()]
        if len(found) > 1:
            problems.append(
                Problem(
                    found[0].name,
                    None,
                    None,
                    f"both {table.name}.csv and {table.name}.parquet exist; keep one",
                )
            )
        elif found:
            names[table.name] = found[0].name
            raw[table.name] = _read_one(found[0])
    if problems:
        raise PortfolioError(problems)
    return raw, names


def read_portfolio(
    path: str | Path, *, today: date | None = None, known: Known | None = None
) -> Portfolio:
    """Read and validate a portfolio folder.

    Parameters
    ----------
    path
        Folder holding ``borrowers``, ``accounts``, ``events`` (required) and optionally
        ``links`` and ``macro``, each as ``.csv`` or ``.parquet`` (not both).
    today
        Upper bound for ``birth_year``; defaults to the current UTC date.
    known
        Which borrowers and accounts are already stored, so that the folder may refer
        to them (see ``validate.Known``, ``db.known_in``).

    Raises
    ------
    PortfolioError
        When the folder is missing, a table is missing, duplicated or unreadable, or any
        cell breaks the contract.
    """
    raw, names = read_raw(path)
    today = today or datetime.now(UTC).date()
    portfolio = validate_portfolio(raw, file_names=names, today=today, known=known)
    return Portfolio(
        borrowers=portfolio.borrowers,
        accounts=portfolio.accounts,
        events=portfolio.events,
        links=portfolio.links,
        macro=portfolio.macro,
        source=str(Path(path).resolve()),
    )


def write_portfolio(
    portfolio: Portfolio, out_dir: str | Path, fmt: Literal["parquet", "csv"] = "parquet"
) -> list[Path]:
    """Write every table of ``portfolio`` to ``out_dir`` as ``NAME.<fmt>``.

    The folder is created if needed. A file of the same table in the other format is
    removed so the folder stays readable (reading refuses a table present twice). Returns
    the paths written.
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    other = "csv" if fmt == "parquet" else "parquet"
    written: list[Path] = []
    for table in TABLES:
        frame: pl.DataFrame = getattr(portfolio, table.name)
        target = out / f"{table.name}.{fmt}"
        (out / f"{table.name}.{other}").unlink(missing_ok=True)
        if fmt == "parquet":
            frame.write_parquet(target)
        else:
            frame.write_csv(target, datetime_format=CSV_DATETIME_FORMAT)
        written.append(target)
    return written
