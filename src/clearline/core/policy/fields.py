"""Names a policy condition may refer to, with the kind of value each holds.

These are the columns of the features frame (docs/architecture.md, Features table) plus
the two scoring outputs ``score`` and ``pd``. A policy naming anything else is refused at
load, so a typo never silently turns a rule off.
"""

from __future__ import annotations

from typing import Literal

FieldKind = Literal["number", "bool", "string"]

FEATURE_KINDS: dict[str, FieldKind] = {
    "product": "string",
    "status": "string",
    "credit_limit": "number",
    "account_age_days": "number",
    "dpd_now": "number",
    "dpd_worst": "number",
    "instalments_due": "number",
    "on_time_ratio": "number",
    "good_standing": "bool",
    "outstanding": "number",
    "utilisation": "number",
    "monthly_income": "number",
    "income_verified": "bool",
    "employment": "string",
    "age": "number",
    "instalment_burden": "number",
    "debt_to_income": "number",
    "drawdowns_90d": "number",
    "repayments_90d": "number",
    "days_since_drawdown": "number",
    "transfer_out_share_7d": "number",
    "hours_to_transfer_out": "number",
    "new_counterparties_30d": "number",
    "inquiries_30d": "number",
    "inquiries_90d": "number",
    "city_changes_180d": "number",
    "linked_arrears_share": "number",
    "n_links": "number",
}

#: Scoring outputs a condition may also use (joined in from the scored frame).
SCORE_KINDS: dict[str, FieldKind] = {"score": "number", "pd": "number"}

#: Optional review-history columns (hysteresis and rules may use them). A features frame
#: without them reads as "no history": every value null.
#:   last_action             the previous review's action (keep, increase, decrease,
#:                           freeze, close), null if never reviewed
#:   days_since_last_change  days since the limit last changed, null if it never did
HISTORY_KINDS: dict[str, FieldKind] = {"last_action": "string", "days_since_last_change": "number"}

CONDITION_FIELDS: dict[str, FieldKind] = {**FEATURE_KINDS, **SCORE_KINDS, **HISTORY_KINDS}

#: Columns ``decide`` needs from the features frame whatever the policy says.
REQUIRED_FEATURE_COLUMNS = (
    "account_id",
    "borrower_id",
    "household_id",
    "status",
    "credit_limit",
    "good_standing",
    "outstanding",
    "utilisation",
)
