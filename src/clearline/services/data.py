"""Where a portfolio comes from: a folder of files or an ingested database."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from clearline.core.portfolio import Portfolio


def is_db_url(data: str) -> bool:
    return "://" in data


def load_data(data: str, *, today: date | None = None) -> Portfolio:
    """Read a portfolio folder (CSV or Parquet) or a database URL given to `--data`."""
    if is_db_url(data):
        from clearline.store.db import load_portfolio

        if data.startswith("sqlite:///") and ":memory:" not in data:
            if not Path(data.removeprefix("sqlite:///")).is_file():  # never create it by reading
                raise FileNotFoundError(f"database file not found: {data}")
        return load_portfolio(data)
    from clearline.store.files import read_portfolio

    path = Path(data)
    if not path.exists():
        raise FileNotFoundError(f"portfolio folder not found: {data}")
    return read_portfolio(path, today=today)


def default_as_of(portfolio: Portfolio) -> date:
    """The last day with any event: the natural as-of for a freshly loaded portfolio."""
    ts = portfolio.events.get_column("ts")
    if ts.len() == 0:
        raise ValueError("the portfolio has no events, so an as-of date must be given")
    last = ts.max()
    return last.date()  # type: ignore[union-attr]
