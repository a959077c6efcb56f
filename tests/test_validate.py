"""Validation of raw portfolio frames: every rule rejects bad input naming file, row, column."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from clearline.core.portfolio import polars_schema
from clearline.core.validate import (
    MAX_PROBLEMS,
    PortfolioError,
    unknown_columns,
    validate_portfolio,
)

TODAY = date(2025, 6, 30)


def _text(columns: dict[str, list[str | None]]) -> pl.DataFrame:
    """A frame as CSV gives it: every column String."""
    return pl.DataFrame(columns, schema={k: pl.String for k in columns})


def raw_portfolio() -> dict[str, pl.DataFrame]:
    """A small valid portfolio in raw (all-text) form: 3 borrowers, 3 accounts, 5 events."""
    return {
        "borrowers": _text(
            {
                "borrower_id": ["b1", "b2", "b3"],
                "household_id": ["h1", "", None],
                "birth_year": ["1980", "1999", "1900"],
                "city": ["Chengdu", None, "成都"],
                "declared_monthly_income": ["12000.50", "0", "8000.125"],
                "income_verified": ["true", "FALSE", "1"],
                "employment": ["salaried", "student", "retired"],
                "registered_at": [
                    "2023-01-05T08:00:00+08:00",
                    "2023-02-01",
                    "2023-03-01 10:30:00Z",
                ],
                "crm_segment": ["A", "B", "C"],  # unknown extra column
            }
        ),
        "accounts": _text(
            {
                "account_id": ["a1", "a2", "a3"],
                "borrower_id": ["b1", "b2", "b3"],
                "product": ["cash_line"] * 3,
                "opened_at": ["2023-01-06T00:00:00", "2023-02-02T12:00:00.250", "2023-03-02"],
                "credit_limit": ["10000", "0", "5000.00"],
                "status": ["active", "frozen", "closed"],
            }
        ),
        "events": _text(
            {
                "event_id": ["e1", "e2", "e3", "e4", "e5"],
                "account_id": ["a1", "a1", "a1", "a2", "a3"],
                "ts": [
                    "2024-01-10T09:00:00Z",
                    "2024-02-10T09:00:00+08:00",
                    "2024-02-11T00:00:00.123456",
                    "2024-03-01",
                    "2024-03-02T10:00",
                ],
                "type": ["drawdown", "repayment", "transfer_out", "external_inquiry", "purchase"],
                "amount": ["3000", "275.30", "2500", "0", "99.99"],
                "loan_id": ["L1", "L1", None, "", None],
                "term_months": ["12", None, None, None, ""],
                "apr": ["0.18", None, None, None, None],
                "counterparty": [None, None, "acct-9", None, "shop"],
                "city": ["Chengdu", None, None, None, "Chongqing"],
            }
        ),
        "links": _text({"borrower_id": ["b1"], "other_borrower_id": ["b2"], "kind": ["device"]}),
        "macro": _text({"month": ["2024-01", "2024-02"], "stress_index": ["1.0", "1.15"]}),
    }


def with_cell(
    raw: dict[str, pl.DataFrame], table: str, column: str, row: int, value: str | None
) -> dict[str, pl.DataFrame]:
    """A copy of ``raw`` with one cell (1-based data row) replaced."""
    frame = raw[table].with_row_index("_i", offset=1)
    frame = frame.with_columns(
        pl.when(pl.col("_i") == row)
        .then(pl.lit(value, pl.String))
        .otherwise(pl.col(column))
        .alias(column)
    ).drop("_i")
    return raw | {table: frame}


def problems(raw: dict[str, pl.DataFrame]) -> PortfolioError:
    with pytest.raises(PortfolioError) as info:
        validate_portfolio(raw, file_names={}, today=TODAY)
    return info.value


def test_a_valid_raw_portfolio_becomes_typed_tables_with_the_contract_dtypes() -> None:
    p = validate_portfolio(raw_portfolio(), file_names={}, today=TODAY)
    for name in ("borrowers", "accounts", "events", "links", "macro"):
        assert getattr(p, name).schema == pl.Schema(polars_schema(name)), name
    assert p.counts() == {"borrowers": 3, "accounts": 3, "events": 5}


def test_timestamps_with_an_offset_become_utc_and_those_without_are_taken_as_utc() -> None:
    p = validate_portfolio(raw_portfolio(), file_names={}, today=TODAY)
    reg = p.borrowers["registered_at"].to_list()
    assert reg[0] == datetime(2023, 1, 5, 0, 0, tzinfo=UTC)  # 08:00 at +08:00
    assert reg[1] == datetime(2023, 2, 1, tzinfo=UTC)  # date only
    assert reg[2] == datetime(2023, 3, 1, 10, 30, tzinfo=UTC)  # space separator and Z
    ts = p.events["ts"].to_list()
    assert ts[1] == datetime(2024, 2, 10, 1, 0, tzinfo=UTC)
    assert ts[2] == datetime(2024, 2, 11, 0, 0, 0, 123456, tzinfo=UTC)
    assert ts[4] == datetime(2024, 3, 2, 10, 0, tzinfo=UTC)  # no seconds


def test_cells_are_parsed_booleans_decimals_and_empty_optional_strings() -> None:
    p = validate_portfolio(raw_portfolio(), file_names={}, today=TODAY)
    assert p.borrowers["income_verified"].to_list() == [True, False, True]
    # More than two decimals is parsed, not rejected.
    assert p.borrowers["declared_monthly_income"].to_list() == [12000.5, 0.0, 8000.125]
    assert p.borrowers["household_id"].to_list() == ["h1", None, None]
    assert p.events["loan_id"].to_list() == ["L1", "L1", None, None, None]
    assert p.events["term_months"].to_list() == [12, None, None, None, None]


def test_unknown_extra_columns_are_reported_aside_and_left_out_of_the_tables() -> None:
    raw = raw_portfolio()
    assert unknown_columns(raw) == {"borrowers": ["crm_segment"]}
    p = validate_portfolio(raw, file_names={}, today=TODAY)
    assert "crm_segment" not in p.borrowers.columns


def test_optional_tables_and_columns_may_be_absent() -> None:
    raw = raw_portfolio()
    del raw["links"], raw["macro"]
    raw["events"] = raw["events"].drop("counterparty", "city")
    p = validate_portfolio(raw, file_names={}, today=TODAY)
    assert p.links.height == 0 and p.links.schema == pl.Schema(polars_schema("links"))
    assert p.events["city"].null_count() == 5


BAD_CELLS = [
    # table, column, row, value, words expected in the message
    ("borrowers", "birth_year", 2, "nineteen", "'nineteen' is not an integer"),
    ("borrowers", "birth_year", 1, "1899", "1899 is below the minimum 1900"),
    ("borrowers", "birth_year", 3, "2026", "2026 is above the maximum 2025"),
    ("borrowers", "declared_monthly_income", 2, "-5", "-5 is below the minimum 0"),
    ("borrowers", "declared_monthly_income", 1, "12,000", "is not a number"),
    ("borrowers", "declared_monthly_income", 1, "NaN", "is not a number"),
    ("borrowers", "income_verified", 3, "yes", "is not a boolean"),
    ("borrowers", "employment", 1, "astronaut", "is not one of salaried"),
    ("borrowers", "registered_at", 2, "2024-02-30", "is not an ISO 8601 timestamp"),
    ("borrowers", "borrower_id", 2, "", "is empty"),
    ("accounts", "status", 2, "open", "is not one of active, frozen, closed"),
    ("accounts", "credit_limit", 3, "-0.01", "is below the minimum 0"),
    ("accounts", "opened_at", 1, None, "is empty"),
    ("events", "amount", 4, "-5", "-5 is below the minimum 0"),
    ("events", "type", 5, "gift", "is not one of drawdown"),
    ("events", "ts", 2, "yesterday", "is not an ISO 8601 timestamp"),
    ("events", "term_months", 1, "37", "37 is above the maximum 36"),
    ("events", "term_months", 1, "0", "0 is below the minimum 1"),
    ("events", "term_months", 1, "12.5", "is not an integer"),
    ("events", "apr", 1, "18%", "is not a number"),
    ("links", "kind", 1, "friend", "is not one of contact, device, address"),
    ("macro", "month", 2, "2024-13", "is not a month (YYYY-MM)"),
    ("macro", "stress_index", 1, "high", "is not a number"),
]


@pytest.mark.parametrize(("table", "column", "row", "value", "words"), BAD_CELLS)
def test_a_bad_cell_is_rejected_naming_file_data_row_line_and_column(
    table: str, column: str, row: int, value: str | None, words: str
) -> None:
    err = problems(with_cell(raw_portfolio(), table, column, row, value))
    first = err.problems[0]
    assert (first.file, first.row, first.column) == (f"{table}.csv", row, column)
    assert words in first.message
    # CSV lines count the header, so data row r is line r + 1.
    assert str(err).startswith(f"{table}.csv data row {row} (line {row + 1}), column {column}: ")


def test_a_missing_required_table_names_the_file_expected() -> None:
    raw = raw_portfolio()
    del raw["events"]
    err = problems(raw)
    assert err.problems[0].file == "events.csv"
    assert "events.csv or events.parquet" in str(err)


def test_a_missing_required_column_is_named() -> None:
    raw = raw_portfolio()
    raw["events"] = raw["events"].drop("amount")
    err = problems(raw)
    assert (err.problems[0].file, err.problems[0].row, err.problems[0].column) == (
        "events.csv",
        None,
        "amount",
    )
    assert "required column is missing" in str(err)


def test_a_duplicate_key_names_both_rows() -> None:
    err = problems(with_cell(raw_portfolio(), "events", "event_id", 4, "e2"))
    p = err.problems[0]
    assert (p.file, p.row, p.column) == ("events.csv", 4, "event_id")
    assert "duplicates data row 2 (line 3)" in p.message


def test_a_duplicate_month_in_macro_is_rejected() -> None:
    err = problems(with_cell(raw_portfolio(), "macro", "month", 2, "2024-01"))
    assert (err.problems[0].row, err.problems[0].column) == (2, "month")


@pytest.mark.parametrize(
    ("table", "column", "row", "parent_file"),
    [
        ("accounts", "borrower_id", 2, "borrowers.csv"),
        ("events", "account_id", 3, "accounts.csv"),
        ("links", "borrower_id", 1, "borrowers.csv"),
        ("links", "other_borrower_id", 1, "borrowers.csv"),
    ],
)
def test_a_reference_to_an_unknown_parent_is_rejected(
    table: str, column: str, row: int, parent_file: str
) -> None:
    err = problems(with_cell(raw_portfolio(), table, column, row, "ghost"))
    p = err.problems[0]
    assert (p.file, p.row, p.column) == (f"{table}.csv", row, column)
    assert "'ghost'" in p.message and parent_file in p.message


def _one_days_events() -> dict[str, pl.DataFrame]:
    """A load of two new events for accounts an earlier load brought, and a link
    between two borrowers loaded before: its borrowers and accounts tables are empty."""
    raw = raw_portfolio()
    return {
        "borrowers": raw["borrowers"].head(0),
        "accounts": raw["accounts"].head(0),
        "events": raw["events"].filter(pl.col("event_id").is_in(["e4", "e5"])),
        "links": raw["links"],
    }


def test_a_load_may_refer_to_borrowers_and_accounts_already_stored() -> None:
    asked: list[tuple[str, list[str]]] = []

    def known(table: str, ids: list[str]) -> set[str]:
        asked.append((table, ids))
        return set(ids) & {"a2", "a3", "b1", "b2"}

    p = validate_portfolio(_one_days_events(), today=TODAY, known=known)
    assert p.events["account_id"].to_list() == ["a2", "a3"]
    # One question per parent table, only about ids the load itself lacks.
    assert sorted(asked) == [("accounts", ["a2", "a3"]), ("borrowers", ["b1", "b2"])]


def test_a_reference_neither_in_the_load_nor_stored_is_rejected() -> None:
    def known(table: str, ids: list[str]) -> set[str]:
        return {"a2", "b1", "b2"} & set(ids)

    with pytest.raises(PortfolioError) as info:
        validate_portfolio(_one_days_events(), today=TODAY, known=known)
    (p,) = info.value.problems
    assert (p.file, p.row, p.column) == ("events.csv", 2, "account_id")
    assert "'a3'" in p.message and "nor already loaded" in p.message
    # Without ``known`` every reference must be within the load.
    assert len(problems(_one_days_events()).problems) == 4


@pytest.mark.parametrize(
    ("row", "column", "event_type"),
    [
        (1, "loan_id", "drawdown"),
        (1, "term_months", "drawdown"),
        (1, "apr", "drawdown"),
        (2, "loan_id", "repayment"),
    ],
)
def test_loan_events_need_their_loan_fields(row: int, column: str, event_type: str) -> None:
    err = problems(with_cell(raw_portfolio(), "events", column, row, ""))
    p = err.problems[0]
    assert (p.file, p.row, p.column) == ("events.csv", row, column)
    assert event_type in p.message


def test_problems_are_capped_and_the_rest_are_counted() -> None:
    n = 50
    raw = raw_portfolio()
    raw["macro"] = _text({"month": [f"bad-{i}" for i in range(n)], "stress_index": ["1"] * n})
    err = problems(raw)
    assert len(err.problems) == MAX_PROBLEMS
    assert err.total == n
    assert str(err).splitlines()[-1] == f"... and {n - MAX_PROBLEMS} more problems"
    assert [p.row for p in err.problems] == list(range(1, MAX_PROBLEMS + 1))


def test_parquet_names_the_data_row_without_a_csv_line() -> None:
    raw = with_cell(raw_portfolio(), "events", "amount", 2, "-1")
    err = pytest.raises(
        PortfolioError,
        validate_portfolio,
        raw,
        file_names={"events": "events.parquet"},
        today=TODAY,
    ).value
    assert str(err).startswith("events.parquet data row 2, column amount: -1 is below")


def test_typed_parquet_frames_are_accepted_and_converted() -> None:
    raw = raw_portfolio()
    b = raw["borrowers"]
    raw["borrowers"] = b.with_columns(
        birth_year=pl.col("birth_year").cast(pl.Int32),
        declared_monthly_income=pl.col("declared_monthly_income").cast(pl.Float32),
        income_verified=pl.Series([True, False, True]),
        registered_at=pl.Series(
            [datetime(2023, 1, 5, 8), datetime(2023, 2, 1), datetime(2023, 3, 1, 10, 30)]
        ).dt.replace_time_zone("Asia/Shanghai"),
    )
    raw["accounts"] = raw["accounts"].with_columns(
        opened_at=pl.Series([date(2023, 1, 6), date(2023, 2, 2), date(2023, 3, 2)])
    )
    p = validate_portfolio(raw, file_names={}, today=TODAY)
    assert p.borrowers.schema == pl.Schema(polars_schema("borrowers"))
    assert p.borrowers["registered_at"][0] == datetime(2023, 1, 5, 0, tzinfo=UTC)
    assert p.accounts["opened_at"][1] == datetime(2023, 2, 2, tzinfo=UTC)
    assert p.borrowers["birth_year"].to_list() == [1980, 1999, 1900]


def test_a_typed_float_column_with_a_fraction_is_not_an_integer() -> None:
    raw = raw_portfolio()
    raw["borrowers"] = raw["borrowers"].with_columns(birth_year=pl.Series([1980.0, 1999.5, 1900.0]))
    err = problems(raw)
    assert (err.problems[0].row, err.problems[0].column) == (2, "birth_year")
