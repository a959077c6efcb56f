"""The portfolio format of the public contract (section 1), as data.

Every part that reads or writes a portfolio (simulator, loaders, database, features)
takes column names, types and allowed values from here, so the contract lives in one
place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    STRING = "string"
    INT = "int"
    DECIMAL = "decimal"
    BOOL = "bool"
    TIMESTAMP = "timestamp"
    ENUM = "enum"
    MONTH = "month"  # YYYY-MM


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = True  # the column must be present in the file
    nullable: bool = False  # a present column may have empty cells
    choices: tuple[str, ...] = ()  # for Kind.ENUM
    min_value: float | None = None
    max_value: float | None = None  # birth_year's upper bound is checked against today


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: str | None = None  # unique, non-empty
    required: bool = True

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


EMPLOYMENT = ("salaried", "self_employed", "student", "retired", "unemployed", "other")
ACCOUNT_STATUS = ("active", "frozen", "closed")
EVENT_TYPES = (
    "drawdown",
    "repayment",
    "purchase",
    "transfer_out",
    "transfer_in",
    "external_inquiry",
)
LINK_KINDS = ("contact", "device", "address")
ACTIONS = ("keep", "increase", "decrease", "freeze", "close")
ADVERSE_ACTIONS = ("decrease", "freeze", "close")
LAYERS = ("individual", "event", "macro", "regulatory", "business")

S, INT, D, B, T, E = Kind.STRING, Kind.INT, Kind.DECIMAL, Kind.BOOL, Kind.TIMESTAMP, Kind.ENUM

BORROWERS = Table(
    "borrowers",
    (
        Column("borrower_id", S),
        Column("household_id", S, required=False, nullable=True),
        Column("birth_year", INT, min_value=1900),
        Column("city", S, required=False, nullable=True),
        Column("declared_monthly_income", D, min_value=0),
        Column("income_verified", B),
        Column("employment", E, choices=EMPLOYMENT),
        Column("registered_at", T),
    ),
    key="borrower_id",
)

ACCOUNTS = Table(
    "accounts",
    (
        Column("account_id", S),
        Column("borrower_id", S),
        Column("product", S),
        Column("opened_at", T),
        Column("credit_limit", D, min_value=0),
        Column("status", E, choices=ACCOUNT_STATUS),
    ),
    key="account_id",
)

EVENTS = Table(
    "events",
    (
        Column("event_id", S),
        Column("account_id", S),
        Column("ts", T),
        Column("type", E, choices=EVENT_TYPES),
        Column("amount", D, min_value=0),
        # Required only for some event types; checked row by row by the validator.
        Column("loan_id", S, required=False, nullable=True),
        Column("term_months", INT, required=False, nullable=True, min_value=1, max_value=36),
        Column("apr", D, required=False, nullable=True, min_value=0),
        Column("counterparty", S, required=False, nullable=True),
        Column("city", S, required=False, nullable=True),
    ),
    key="event_id",
)

LINKS = Table(
    "links",
    (
        Column("borrower_id", S),
        Column("other_borrower_id", S),
        Column("kind", E, choices=LINK_KINDS),
    ),
    required=False,
)

MACRO = Table(
    "macro",
    (
        Column("month", Kind.MONTH),
        Column("stress_index", D, min_value=0),
    ),
    key="month",
    required=False,
)

TABLES: tuple[Table, ...] = (BORROWERS, ACCOUNTS, EVENTS, LINKS, MACRO)
TABLES_BY_NAME = {t.name: t for t in TABLES}

# Decision file columns (contract section 2), in order.
DECISION_COLUMNS = (
    "account_id",
    "borrower_id",
    "as_of",
    "action",
    "old_limit",
    "new_limit",
    "score",
    "pd",
    "grade",
    "reasons",
    "layer",
    "good_standing",
    "policy_version",
    "model_version",
)
