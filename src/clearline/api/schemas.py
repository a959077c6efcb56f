"""Request and response bodies, named ``XCreate`` (what a client sends) and ``XRead``
(what it gets back)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")
#: No NUL character: PostgreSQL text cannot hold one, so such a value could never be
#: stored (or found) on every database; it is refused here for both.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(pattern=NO_NUL)]
Cell = Text | int | float | bool | None
#: Reviews before this day cannot be decided: the features look back from it.
EARLIEST_AS_OF = date(1900, 1, 1)


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None = Field(None, description="offset of the next page, if any")


class MeRead(BaseModel):
    key_id: str
    role: str
    borrower_id: str | None


class DecisionRead(BaseModel):
    """The frozen record of one decision, as stored when it was made."""

    decision_id: str
    account_id: str
    borrower_id: str
    decided_at: datetime
    as_of: date
    action: str
    adverse: bool
    old_limit: float
    new_limit: float
    score: float
    pd: float
    grade: str
    reasons: list[str]
    layer: str
    good_standing: bool
    class_wide: bool
    policy_version: str
    model_version: str
    inputs_hash: str = Field(description="SHA-256 of the feature row the decision read")
    trace: dict[str, Any] = Field(description="which rules fired, with what inputs")
    requested_by: str


class AccountRead(BaseModel):
    account_id: str
    borrower_id: str
    product: str
    opened_at: datetime
    credit_limit: float
    status: str
    latest_decision: DecisionRead | None


class BorrowerRead(BaseModel):
    borrower_id: str
    household_id: str | None
    city: str | None
    employment: str
    income_verified: bool
    accounts: list[str]


class ReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: date | None = Field(
        None,
        ge=EARLIEST_AS_OF,
        description="review date (default: today, UTC); from 1900-01-01, never in the future",
    )


class ReviewRead(BaseModel):
    """The requested account's decision and those of its household's other lines,
    decided together because the household cap spans them."""

    decision: DecisionRead
    household: list[DecisionRead]


class LoadCreate(BaseModel):
    """A portfolio in the contract's format, one list of rows per table."""

    model_config = ConfigDict(extra="forbid")
    borrowers: list[dict[str, Cell]] = Field(max_length=100_000)
    accounts: list[dict[str, Cell]] = Field(max_length=100_000)
    events: list[dict[str, Cell]] = Field(max_length=100_000)
    links: list[dict[str, Cell]] = Field(default_factory=list, max_length=100_000)
    macro: list[dict[str, Cell]] = Field(default_factory=list, max_length=10_000)


class LoadRead(BaseModel):
    load_id: int
    loaded_at: datetime
    source: str
    counts: dict[str, int]


class PolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    yaml: Text = Field(min_length=1, max_length=200_000, description="the policy file's text")
    note: Text = Field("", max_length=2_000)


class PolicyRead(BaseModel):
    version: str
    name: str
    release: str
    content_hash: str
    published_at: str
    by: str
    note: str
    current: bool


class PolicyPublished(BaseModel):
    policy: PolicyRead
    created: bool


class ModelRead(BaseModel):
    model_version: str
    state: str
    registered_at: str
    auc: float | None
    features: list[str]
    history: list[dict[str, Any]]


class SignOffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Text = Field("", max_length=2_000)


class AuditEntryRead(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class AuditVerifyRead(BaseModel):
    ok: bool
    entries: int
    first_bad_seq: int | None
    problem: str
