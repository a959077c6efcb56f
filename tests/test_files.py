"""Portfolio folders: CSV and Parquet read the same, round trips are exact, bad folders fail."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from clearline.core.portfolio import Portfolio, polars_schema
from clearline.core.validate import PortfolioError
from clearline.store.files import read_portfolio, write_portfolio

TODAY = date(2025, 6, 30)
TABLES = ("borrowers", "accounts", "events", "links", "macro")

CSV = {
    "borrowers": (
        "borrower_id,household_id,birth_year,city,declared_monthly_income,income_verified,"
        "employment,registered_at,notes\n"
        "b1,h1,1980,成都,12000.50,true,salaried,2023-01-05T08:00:00+08:00,vip\n"
        "b2,,1999,,0,0,student,2023-02-01,\n"
    ),
    "accounts": (
        "account_id,borrower_id,product,opened_at,credit_limit,status\n"
        "a1,b1,cash_line,2023-01-06T00:00:00Z,10000,active\n"
        "a2,b2,cash_line,2023-02-02 12:00:00.250,0,frozen\n"
    ),
    "events": (
        "event_id,account_id,ts,type,amount,loan_id,term_months,apr,counterparty,city\n"
        "e1,a1,2024-01-10T09:00:00Z,drawdown,3000,L1,12,0.18,,Chengdu\n"
        "e2,a1,2024-02-10T09:00:00+08:00,repayment,275.30,L1,,,,\n"
        "e3,a2,2024-03-01,external_inquiry,0,,,,,\n"
    ),
    "links": "borrower_id,other_borrower_id,kind\nb1,b2,device\n",
    "macro": "month,stress_index\n2024-01,1.0\n2024-02,1.15\n",
}


def expected() -> Portfolio:
    """The CSV above, typed by hand (what any loader must produce)."""

    def frame(name: str, data: dict[str, list[object]]) -> pl.DataFrame:
        return pl.DataFrame(data, schema=polars_schema(name))

    return Portfolio(
        borrowers=frame(
            "borrowers",
            {
                "borrower_id": ["b1", "b2"],
                "household_id": ["h1", None],
                "birth_year": [1980, 1999],
                "city": ["成都", None],
                "declared_monthly_income": [12000.5, 0.0],
                "income_verified": [True, False],
                "employment": ["salaried", "student"],
                "registered_at": [
                    datetime(2023, 1, 5, tzinfo=UTC),
                    datetime(2023, 2, 1, tzinfo=UTC),
                ],
            },
        ),
        accounts=frame(
            "accounts",
            {
                "account_id": ["a1", "a2"],
                "borrower_id": ["b1", "b2"],
                "product": ["cash_line", "cash_line"],
                "opened_at": [
                    datetime(2023, 1, 6, tzinfo=UTC),
                    datetime(2023, 2, 2, 12, 0, 0, 250000, tzinfo=UTC),
                ],
                "credit_limit": [10000.0, 0.0],
                "status": ["active", "frozen"],
            },
        ),
        events=frame(
            "events",
            {
                "event_id": ["e1", "e2", "e3"],
                "account_id": ["a1", "a1", "a2"],
                "ts": [
                    datetime(2024, 1, 10, 9, tzinfo=UTC),
                    datetime(2024, 2, 10, 1, tzinfo=UTC),
                    datetime(2024, 3, 1, tzinfo=UTC),
                ],
                "type": ["drawdown", "repayment", "external_inquiry"],
                "amount": [3000.0, 275.3, 0.0],
                "loan_id": ["L1", "L1", None],
                "term_months": [12, None, None],
                "apr": [0.18, None, None],
                "counterparty": [None, None, None],
                "city": ["Chengdu", None, None],
            },
        ),
        links=frame(
            "links", {"borrower_id": ["b1"], "other_borrower_id": ["b2"], "kind": ["device"]}
        ),
        macro=frame("macro", {"month": ["2024-01", "2024-02"], "stress_index": [1.0, 1.15]}),
    )


def assert_same(a: Portfolio, b: Portfolio) -> None:
    for name in TABLES:
        left, right = getattr(a, name), getattr(b, name)
        assert left.schema == right.schema, name
        assert left.equals(right), (name, left, right)


@pytest.fixture
def csv_folder(tmp_path: Path) -> Path:
    for name, text in CSV.items():
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_csv_folder_reads_as_the_hand_typed_portfolio(csv_folder: Path) -> None:
    assert_same(read_portfolio(csv_folder, today=TODAY), expected())


def test_a_parquet_folder_of_the_same_tables_reads_identically(tmp_path: Path) -> None:
    for name in TABLES:
        getattr(expected(), name).write_parquet(tmp_path / f"{name}.parquet")
    assert_same(read_portfolio(tmp_path, today=TODAY), expected())


def test_a_folder_may_mix_csv_and_parquet_tables(csv_folder: Path) -> None:
    (csv_folder / "events.csv").unlink()
    expected().events.write_parquet(csv_folder / "events.parquet")
    assert_same(read_portfolio(csv_folder, today=TODAY), expected())


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_then_read_gives_back_the_same_portfolio(tmp_path: Path, fmt: str) -> None:
    written = write_portfolio(expected(), tmp_path / "out", fmt=fmt)  # type: ignore[arg-type]
    assert sorted(p.name for p in written) == sorted(f"{n}.{fmt}" for n in TABLES)
    assert_same(read_portfolio(tmp_path / "out", today=TODAY), expected())


def test_csv_timestamps_are_written_as_utc_with_a_z(tmp_path: Path) -> None:
    write_portfolio(expected(), tmp_path, fmt="csv")
    line = (tmp_path / "accounts.csv").read_text(encoding="utf-8").splitlines()[2]
    assert "2023-02-02T12:00:00.250000Z" in line


def test_writing_one_format_removes_the_other_so_the_folder_stays_readable(
    csv_folder: Path,
) -> None:
    write_portfolio(expected(), csv_folder, fmt="parquet")
    assert not list(csv_folder.glob("*.csv"))
    assert_same(read_portfolio(csv_folder, today=TODAY), expected())


def test_a_table_present_as_both_csv_and_parquet_is_refused(csv_folder: Path) -> None:
    expected().accounts.write_parquet(csv_folder / "accounts.parquet")
    with pytest.raises(PortfolioError, match="both accounts.csv and accounts.parquet"):
        read_portfolio(csv_folder, today=TODAY)


def test_a_missing_required_file_is_named(csv_folder: Path) -> None:
    (csv_folder / "borrowers.csv").unlink()
    with pytest.raises(PortfolioError, match=r"borrowers\.csv or borrowers\.parquet"):
        read_portfolio(csv_folder, today=TODAY)


def test_a_path_that_is_not_a_folder_is_refused(csv_folder: Path) -> None:
    with pytest.raises(PortfolioError, match="is not a folder"):
        read_portfolio(csv_folder / "events.csv", today=TODAY)
    with pytest.raises(PortfolioError, match="does not exist"):
        read_portfolio(csv_folder / "nope", today=TODAY)


def test_a_bad_csv_cell_is_named_by_file_row_line_and_column(csv_folder: Path) -> None:
    text = CSV["events"].replace("275.30", "-275.30")
    (csv_folder / "events.csv").write_text(text, encoding="utf-8")
    with pytest.raises(PortfolioError) as info:
        read_portfolio(csv_folder, today=TODAY)
    assert str(info.value).startswith(
        "events.csv data row 2 (line 3), column amount: -275.30 is below the minimum 0"
    )


def test_a_bad_parquet_cell_is_named_by_file_row_and_column(tmp_path: Path) -> None:
    for name in TABLES:
        getattr(expected(), name).write_parquet(tmp_path / f"{name}.parquet")
    bad = expected().accounts.with_columns(status=pl.Series(["active", "suspended"]))
    bad.write_parquet(tmp_path / "accounts.parquet")
    with pytest.raises(PortfolioError) as info:
        read_portfolio(tmp_path, today=TODAY)
    assert str(info.value).startswith("accounts.parquet data row 2, column status: 'suspended'")


def test_a_file_that_is_not_valid_utf8_csv_is_refused_naming_it(csv_folder: Path) -> None:
    (csv_folder / "macro.csv").write_bytes("month,stress_index\n2024-01,1.0\n".encode("utf-16"))
    with pytest.raises(PortfolioError, match=r"^macro\.csv"):
        read_portfolio(csv_folder, today=TODAY)


def test_a_csv_with_a_byte_order_mark_still_reads(csv_folder: Path) -> None:
    (csv_folder / "macro.csv").write_bytes(b"\xef\xbb\xbf" + CSV["macro"].encode("utf-8"))
    assert_same(read_portfolio(csv_folder, today=TODAY), expected())
