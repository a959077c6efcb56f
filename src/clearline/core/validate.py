"""Raw portfolio frames -> typed :class:`Portfolio`, or a :class:`PortfolioError`.

Pure: no I/O, no clock (``today`` is passed in). Every check is a polars expression over
whole columns; the first offending rows are found by filtering a frame that carries a
1-based data-row index, so a 2-million-row events table validates in about a second.

Raw frames come from CSV read as all-``String`` columns or from Parquet with native types;
both are accepted. Unknown extra columns are ignored here (see :func:`unknown_columns`).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl

from clearline.core.portfolio import POLARS_TYPES, UTC_TS, Portfolio, polars_schema
from clearline.core.schema import TABLES, Column, Kind, Table

MAX_PROBLEMS = 20
#: ``known(table, ids)``: which of ``ids`` (keys of ``table``, e.g. ``"accounts"``) are
#: already stored. Lets a load refer to rows that earlier loads brought (a day's events
#: for accounts loaded before); the caller reads its database, this module stays pure.
Known = Callable[[str, list[str]], set[str]]
#: (table, column, parent table, parent key): the references a load must resolve.
_REFERENCES = (
    ("accounts", "borrower_id", "borrowers", "borrower_id"),
    ("events", "account_id", "accounts", "account_id"),
    ("links", "borrower_id", "borrowers", "borrower_id"),
    ("links", "other_borrower_id", "borrowers", "borrower_id"),
)
ROW = "__row"  # 1-based data row number (CSV line = row + 1, the header is line 1)

# Every accepted ISO 8601 shape (date only; minutes without seconds; optional fraction;
# "Z", "+08:00", "+0800" or no offset = UTC) is first rewritten to this one format, so a
# single strptime pass parses the column.
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%:z"
_TRUE = ("true", "1")
_FALSE = ("false", "0")


@dataclass(frozen=True)
class Problem:
    """One reason a portfolio was rejected. ``row`` is the 1-based data row (None when
    the problem is about a whole file or column)."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" data row {self.row}"
            if self.file.endswith(".csv"):
                where += f" (line {self.row + 1})"
        if self.column is not None:
            where += f"{',' if self.row is not None else ''} column {self.column}"
        return f"{where}: {self.message}"


class PortfolioError(ValueError):
    """A portfolio failed validation. ``problems`` holds at most ``MAX_PROBLEMS`` entries
    in the order found; ``total`` counts every offending cell/row found."""

    def __init__(self, problems: list[Problem], total: int | None = None) -> None:
        self.problems = list(problems[:MAX_PROBLEMS])
        self.total = max(total or 0, len(problems))
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [str(p) for p in self.problems]
        if self.total > len(self.problems):
            lines.append(f"... and {self.total - len(self.problems)} more problems")
        return "\n".join(lines)


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.total = 0

    def add(self, problem: Problem, count: int = 1) -> None:
        self.total += count
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def rows(self, bad: pl.DataFrame, file: str, column: str | None, message) -> None:  # noqa: ANN001
        """Record ``bad`` (a frame with ROW and ``value``), one Problem per row; ``message``
        maps the offending value to text. Only the first rows are materialised."""
        self.total += bad.height
        room = MAX_PROBLEMS - len(self.problems)
        if room <= 0 or bad.height == 0:
            return
        for rec in bad.sort(ROW).head(room).iter_rows(named=True):
            self.problems.append(Problem(file, int(rec[ROW]), column, message(rec)))


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def unknown_columns(raw: dict[str, pl.DataFrame]) -> dict[str, list[str]]:
    """Columns in the raw frames that the contract does not know (kept aside, ignored)."""
    known = {t.name: set(t.names) for t in TABLES}
    return {
        name: [c for c in frame.columns if c not in known[name]]
        for name, frame in raw.items()
        if name in known and any(c not in known[name] for c in frame.columns)
    }


def _clean_string(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Text form of a raw column, stripped; empty cells become null."""
    s = raw if dtype == pl.String else raw.cast(pl.String)
    s = s.str.strip_chars()
    return pl.when(s.str.len_bytes() == 0).then(None).otherwise(s)


def _parse(col: Column, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """(cleaned raw value, parsed value) expressions for one column.

    A cell is unparseable when the cleaned value is non-null but the parsed one is null.
    """
    raw = pl.col(col.name)
    kind = col.kind
    if dtype == pl.Null:
        return raw, raw.cast(POLARS_TYPES[kind])
    if kind is Kind.TIMESTAMP and isinstance(dtype, pl.Datetime):
        parsed = (
            raw.dt.convert_time_zone("UTC") if dtype.time_zone else raw.dt.replace_time_zone("UTC")
        )
        return raw, parsed.cast(UTC_TS)
    if kind is Kind.TIMESTAMP and dtype == pl.Date:
        return raw, raw.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if kind is Kind.BOOL and dtype == pl.Boolean:
        return raw, raw
    if kind in (Kind.INT, Kind.DECIMAL) and dtype.is_numeric():
        if kind is Kind.INT and dtype.is_float():
            # A float column is accepted only where every value is integral.
            return raw, pl.when(raw == raw.round(0)).then(raw.cast(pl.Int64, strict=False))
        parsed = raw.cast(pl.Int64 if kind is Kind.INT else pl.Float64, strict=False)
        if kind is Kind.DECIMAL:
            parsed = pl.when(parsed.is_finite()).then(parsed)
        return raw, parsed
    text = _clean_string(raw, dtype)
    if kind in (Kind.STRING, Kind.ENUM):
        return text, text
    if kind is Kind.INT:
        return text, text.cast(pl.Int64, strict=False)
    if kind is Kind.DECIMAL:
        num = text.cast(pl.Float64, strict=False)
        return text, pl.when(num.is_finite()).then(num)  # "nan"/"inf" are not money
    if kind is Kind.BOOL:
        low = text.str.to_lowercase()
        return text, pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)
    if kind is Kind.MONTH:
        return text, pl.when(text.str.contains(r"^\d{4}-(0[1-9]|1[0-2])$")).then(text)
    return text, _iso(text).str.strptime(UTC_TS, _TS_FORMAT, strict=False)


def _iso(text: pl.Expr) -> pl.Expr:
    """Rewrite the accepted timestamp shapes to ``_TS_FORMAT``."""
    s = text.str.replace(r"[zZ]$", "+00:00").str.replace(" ", "T", literal=True)
    s = s.str.replace(r"^(\d{4}-\d{2}-\d{2})$", "${1}T00:00:00")
    s = s.str.replace(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})([+-]|$)", "${1}:00${2}")
    has_offset = s.str.contains(r"[+-]\d{2}:?\d{2}$")
    return pl.when(has_offset).then(s).otherwise(s + "+00:00")


_KIND_WORD = {
    Kind.INT: "an integer",
    Kind.DECIMAL: "a number",
    Kind.BOOL: "a boolean (true/false/1/0)",
    Kind.TIMESTAMP: "an ISO 8601 timestamp",
    Kind.MONTH: "a month (YYYY-MM)",
}


def _check_table(
    table: Table, raw: pl.DataFrame, file: str, today: date, out: _Collector
) -> pl.DataFrame | None:
    """Typed frame with a ROW column, or None when required columns are missing."""
    missing = [c.name for c in table.columns if c.required and c.name not in raw.columns]
    for name in missing:
        out.add(Problem(file, None, name, "required column is missing"))
    if missing:
        return None
    if raw.height == 0:  # nothing to parse or check (a day's load without borrowers)
        return pl.DataFrame(schema={ROW: pl.UInt32, **polars_schema(table)})
    df = raw.with_row_index(ROW, offset=1)
    cols = [c for c in table.columns if c.name in raw.columns]
    exprs: list[pl.Expr] = [pl.col(ROW)]
    for c in cols:
        text, parsed = _parse(c, raw.schema[c.name])
        exprs += [text.alias(f"{c.name}__raw"), parsed.alias(c.name)]
    parsed_df = df.select(exprs)
    checks = [(c, mask, message) for c in cols for mask, message in _column_checks(c, today)]
    # One pass counts the rows every check refuses; only a check that refuses any is run
    # again to name them. A pass has a fixed cost, and a load of a few rows would
    # otherwise pay it once per check (about 60): 20 ms for five events.
    refused = parsed_df.select(mask.sum().alias(str(k)) for k, (_, mask, _) in enumerate(checks))
    for (c, mask, message), n in zip(checks, refused.row(0) if checks else (), strict=True):
        if n:
            # Project before filtering so only three columns are scanned.
            bad = (
                parsed_df.lazy()
                .select(ROW, pl.col(f"{c.name}__raw").alias("value"), mask.alias("__bad"))
                .filter("__bad")
                .collect()
            )
            out.rows(bad, file, c.name, message)
    typed = parsed_df.select(ROW, *[pl.col(c.name) for c in cols])
    absent = [
        pl.lit(None, dtype=t).alias(n)
        for n, t in polars_schema(table).items()
        if n not in typed.columns
    ]
    return typed.with_columns(absent).select(ROW, *polars_schema(table).keys())


def _column_checks(c: Column, today: date) -> list[tuple[pl.Expr, object]]:
    raw, val = pl.col(f"{c.name}__raw"), pl.col(c.name)
    checks: list[tuple[pl.Expr, object]] = []
    if not c.nullable:
        checks.append((raw.is_null(), lambda r: "is empty"))
    if c.kind in _KIND_WORD:
        word = _KIND_WORD[c.kind]
        checks.append(
            (raw.is_not_null() & val.is_null(), lambda r: f"{_show(r['value'])} is not {word}")
        )
    if c.kind is Kind.ENUM:
        allowed = ", ".join(c.choices)
        checks.append(
            (
                val.is_not_null() & ~val.is_in(c.choices),
                lambda r: f"{_show(r['value'])} is not one of {allowed}",
            )
        )
    if c.kind is Kind.TIMESTAMP:
        # Python (every reader of the database) holds years 1-9999 only, and no credit
        # history starts before 1900; a row outside would break every read of it.
        year = val.dt.year()
        checks.append(
            (
                (year < 1900) | (year > 9999),
                lambda r: f"{_show(r['value'])} is outside the years 1900-9999 (UTC)",
            )
        )
    lo = c.min_value
    hi = float(today.year) if c.name == "birth_year" else c.max_value
    if lo is not None:
        checks.append((val < lo, lambda r: f"{r['value']} is below the minimum {lo:g}"))
    if hi is not None:
        checks.append((val > hi, lambda r: f"{r['value']} is above the maximum {hi:g}"))
    return checks


def _check_key(table: Table, typed: pl.DataFrame, file: str, out: _Collector) -> None:
    """Each key value once; a duplicate is reported at its later row, naming the first."""
    key = table.key
    if key is None:
        return
    values = typed.get_column(key)
    nulls = values.null_count()
    if values.n_unique() - (nulls > 0) == values.len() - nulls:
        return  # no value twice: the common case, and a cheap one
    dup = (
        typed.select(ROW, pl.col(key).alias("value"))
        .filter(pl.col("value").is_not_null() & pl.col("value").is_duplicated())
        .with_columns(first=pl.col(ROW).min().over("value"))
        .filter(pl.col(ROW) != pl.col("first"))
    )
    line = " (line {})" if file.endswith(".csv") else ""

    def message(r: dict) -> str:
        first = r["first"]
        return f"{_show(r['value'])} duplicates data row {first}" + line.format(first + 1)

    out.rows(dup, file, key, message)


def _check_references(
    typed: dict[str, pl.DataFrame | None],
    names: dict[str, str],
    known: Known | None,
    out: _Collector,
) -> None:
    """Every reference names a row of the load or, given ``known``, a row already stored.

    Works on the sets of distinct ids: a handful even for millions of events, and no
    per-row pass unless an id is missing (then its rows are found to be named). ``known``
    is asked once per parent table, about the ids the load lacks."""
    lacking: dict[tuple[str, str, str, str], set[str]] = {}  # reference -> ids not in the load
    in_load: dict[str, set[str]] = {}
    for child, column, parent, key in _REFERENCES:
        rows, parents = typed.get(child), typed.get(parent)
        if rows is None or parents is None:
            continue
        if parent not in in_load:
            in_load[parent] = set(parents.get_column(key).to_list())
        named = set(rows.get_column(column).drop_nulls().unique().to_list())
        lacking[child, column, parent, key] = named - in_load[parent]
    wanted: dict[str, set[str]] = {}
    for (_, _, parent, _), ids in lacking.items():
        wanted.setdefault(parent, set()).update(ids)
    stored = {p: known(p, sorted(ids)) if known and ids else set() for p, ids in wanted.items()}
    where = " nor already loaded" if known else ""
    for (child, column, parent, key), ids in lacking.items():
        missing = ids - stored[parent]
        if missing:
            rows = typed[child]
            assert rows is not None
            bad = rows.filter(pl.col(column).is_in(pl.Series(sorted(missing)).implode()))
            out.rows(
                bad.select(ROW, pl.col(column).alias("value")),
                names[child],
                column,
                lambda r, key=key, f=names[parent]: (
                    f"{_show(r['value'])} is not a known {key} (not in {f}{where})"
                ),
            )


def _check_event_types(events: pl.DataFrame, file: str, out: _Collector) -> None:
    """Per-type required fields: loans need a loan_id; drawdowns need a term and an apr."""
    rules = (
        ("loan_id", ("drawdown", "repayment")),
        ("term_months", ("drawdown",)),
        ("apr", ("drawdown",)),
    )
    kind = events.get_column("type")
    for column, types in rules:
        # Comparisons, not is_in: on a load of a few events is_in costs 30 times more.
        needs = functools.reduce(operator.or_, (kind == t for t in types))
        needs = needs & events.get_column(column).is_null()
        if needs.any():
            bad = events.filter(needs).select(ROW, pl.col("type").alias("value"))
            out.rows(bad, file, column, lambda r: f"is empty, but a {r['value']} event needs it")


def validate_portfolio(
    raw: dict[str, pl.DataFrame],
    *,
    file_names: dict[str, str] | None = None,
    today: date,
    known: Known | None = None,
) -> Portfolio:
    """Check raw frames against the contract and return the typed portfolio.

    Parameters
    ----------
    raw
        Table name -> raw frame (all-``String`` from CSV, or typed from Parquet). Tables
        the contract does not know are ignored, as are unknown columns.
    file_names
        Table name -> the file it came from, used in messages (default ``NAME.csv``).
    today
        Upper bound for ``birth_year``.
    known
        Which ids are already stored (see :data:`Known`); an account, event or link may
        then name a borrower or account loaded before. Without it every reference must
        be within the load.

    Raises
    ------
    PortfolioError
        Naming file, data row and column of the first problems (at most ``MAX_PROBLEMS``).
    """
    names = {t.name: f"{t.name}.csv" for t in TABLES} | dict(file_names or {})
    out = _Collector()
    typed: dict[str, pl.DataFrame | None] = {}
    for table in TABLES:
        frame = raw.get(table.name)
        if frame is None:
            if table.required:
                expected = f"{table.name}.csv or {table.name}.parquet"
                out.add(
                    Problem(
                        names[table.name],
                        None,
                        None,
                        f"required table is missing (expected {expected})",
                    )
                )
            continue
        checked = _check_table(table, frame, names[table.name], today, out)
        typed[table.name] = checked
        if checked is not None:
            _check_key(table, checked, names[table.name], out)
    _check_references(typed, names, known, out)
    e = typed.get("events")
    if e is not None:
        _check_event_types(e, names["events"], out)
    if out.problems:
        raise PortfolioError(out.problems, out.total)

    def final(name: str) -> pl.DataFrame:
        frame = typed.get(name)
        if frame is None:
            return pl.DataFrame(schema=polars_schema(name))
        return frame.drop(ROW)

    return Portfolio(
        borrowers=final("borrowers"),
        accounts=final("accounts"),
        events=final("events"),
        links=final("links"),
        macro=final("macro"),
    )
