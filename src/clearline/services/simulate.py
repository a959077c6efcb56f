"""Use case: simulate a portfolio and write it (with its truth file) to a folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from clearline.sim import SimConfig, simulate
from clearline.store.files import write_portfolio


def parse_shares(text: str | None) -> dict[str, float] | None:
    """`steady=0.7,innocent=0.12` -> {"steady": 0.7, "innocent": 0.12}."""
    if not text:
        return None
    shares: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--shares: expected NAME=SHARE, got {part!r}")
        try:
            shares[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--shares: {name.strip()} share is not a number: {value!r}") from None
    return shares


def simulate_to_folder(
    out: Path,
    *,
    borrowers: int,
    months: int,
    seed: int,
    fmt: str = "parquet",
    shares: dict[str, float] | None = None,
    force: bool = False,
    progress: Console | None = None,
) -> dict[str, int]:
    """Write the portfolio tables and truth.csv into `out`, whole or not at all."""
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"--format must be parquet or csv, got {fmt!r}")
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out exists and is not a folder: {out}")
    if out.exists() and any(out.iterdir()) and not force:
        raise ValueError(f"--out folder is not empty: {out} (use --force to replace it)")
    config = SimConfig(borrowers=borrowers, months=months, seed=seed, type_shares=shares)
    if progress is not None:
        with progress.status(f"simulating {borrowers:,} borrowers x {months} months"):
            result = simulate(config)
    else:
        result = simulate(config)
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    write_portfolio(result.portfolio, tmp, fmt=fmt)
    result.truth.write_csv(tmp / "truth.csv")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return result.portfolio.counts()
