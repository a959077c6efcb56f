"""Shared building blocks of the policy model: strict base, reason checks, conditions.

A condition is written either as an expression string in the policy language
(:mod:`clearline.core.policy.expr`), e.g. ``when: "dpd_now >= 30 and utilisation > 0.9"``,
or in the older list form ``[{feature, op, value}, ...]`` (all must hold). Both are parsed
once at load into the same tree; the text as written is what the version hash covers.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, model_validator

from clearline.core.policy import expr as E
from clearline.core.policy.fields import CONDITION_FIELDS
from clearline.core.reasons import catalogue

Action = Literal["keep", "increase", "decrease", "freeze", "close"]
Op = Literal["<", "<=", ">", ">=", "==", "!="]

#: How harsh an action is; an overlay only ever moves an account up this order.
SEVERITY: dict[str, int] = {"increase": 0, "keep": 1, "decrease": 2, "freeze": 3, "close": 4}

#: Union tags pydantic puts in error locations; the loader drops them from field paths.
UNION_TAGS = ("expression", "conditions")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def check_code(code: str | None, layer: str | None = None) -> str | None:
    """``code`` if the catalogue has it (on ``layer`` when given), else ValueError."""
    if code is None:
        return None
    reasons = catalogue()
    if code not in reasons:
        raise ValueError(f"unknown reason code {code!r} (not in reasons.yaml)")
    if layer is not None and reasons[code].layer != layer:
        raise ValueError(
            f"reason code {code!r} has layer {reasons[code].layer!r} in reasons.yaml, "
            f"but is used on layer {layer!r}"
        )
    return code


class Condition(Strict):
    """``feature op value``; a null feature value never satisfies a condition."""

    feature: str
    op: Op
    value: bool | int | float | str

    @model_validator(mode="after")
    def _known_and_typed(self) -> Condition:
        kind = CONDITION_FIELDS.get(self.feature)
        if kind is None:
            raise ValueError(f"unknown feature {self.feature!r} (not a feature column)")
        v = self.value
        if kind == "number" and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise ValueError(f"feature {self.feature!r} is numeric; value {v!r} is not a number")
        if kind == "bool" and not isinstance(v, bool):
            raise ValueError(f"feature {self.feature!r} is true/false; value {v!r} is not")
        if kind == "string" and not isinstance(v, str):
            raise ValueError(f"feature {self.feature!r} is text; value {v!r} is not a string")
        if kind != "number" and self.op not in ("==", "!="):
            raise ValueError(f"op {self.op!r} needs a numeric feature; {self.feature!r} is not")
        return self


def _when_tag(v: Any) -> str:
    return "expression" if isinstance(v, str) else "conditions"


When = Annotated[
    Annotated[str, Tag("expression")] | Annotated[list[Condition], Tag("conditions")],
    Discriminator(_when_tag),
]


@cache
def parse_text(text: str) -> E.Node:
    """Parse an expression once (cached: policies share their conditions)."""
    return E.parse(text, CONDITION_FIELDS)


def compile_when(when: str | list[Condition]) -> E.Node:
    """The expression tree of a condition in either form; ValueError if it is bad."""
    if isinstance(when, str):
        return parse_text(when)
    if not when:
        raise ValueError("needs at least one condition")
    parts = tuple(E.Cmp(c.op, E.Field(c.feature), E.Lit(c.value)) for c in when)
    return parts[0] if len(parts) == 1 else E.BoolOp("and", parts)


class Outcome(Strict):
    """An action with its limit factor and reason code (shared by rules and the matrix)."""

    action: Action
    limit_factor: float | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _factor_fits_action(self) -> Outcome:
        f = self.limit_factor
        if self.action == "increase" and (f is None or f <= 1):
            raise ValueError("action 'increase' needs limit_factor > 1")
        if self.action == "decrease" and (f is None or not 0 < f < 1):
            raise ValueError("action 'decrease' needs 0 < limit_factor < 1")
        if self.action in ("keep", "freeze", "close") and f is not None:
            raise ValueError(f"action {self.action!r} takes no limit_factor")
        if self.action in ("decrease", "freeze", "close") and self.reason is None:
            raise ValueError(f"adverse action {self.action!r} needs a reason code")
        return self
