"""The line policy as a validated pydantic model.

A policy is data, not code: conditions are ``{feature, op, value}`` triples combined
with AND, evaluated by :mod:`clearline.core.decide` as polars expressions (nothing is
ever ``eval``-ed). Every name a policy uses (feature, reason code, grade) is checked at
load, so a typo fails loudly instead of silently switching a rule off.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from clearline.core.policy.fields import CONDITION_FIELDS
from clearline.core.reasons import catalogue

Action = Literal["keep", "increase", "decrease", "freeze", "close"]
Op = Literal["<", "<=", ">", ">=", "==", "!="]
RuleLayer = Literal["individual", "event", "business"]

#: How harsh an action is; an overlay only ever moves an account up this order.
SEVERITY: dict[str, int] = {"increase": 0, "keep": 1, "decrease": 2, "freeze": 3, "close": 4}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_code(code: str | None, layer: str | None = None) -> str | None:
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


class Condition(_Strict):
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


class _Outcome(_Strict):
    """An action with its limit factor and reason code (shared by rules and the matrix)."""

    action: Action
    limit_factor: float | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _factor_fits_action(self) -> _Outcome:
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


class Rule(_Outcome):
    """A knock-out or rule: the first rule whose conditions all hold decides."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    when: list[Condition] = Field(min_length=1)
    reason: str
    layer: RuleLayer = "individual"

    @model_validator(mode="after")
    def _reason_on_layer(self) -> Rule:
        _check_code(self.reason, self.layer)
        return self


class MatrixEntry(_Outcome):
    """One utilisation band of a grade; ``utilisation_below`` is an exclusive bound."""

    utilisation_below: float | None = None

    @field_validator("reason")
    @classmethod
    def _known_reason(cls, v: str | None) -> str | None:
        return _check_code(v)


class Grade(_Strict):
    grade: str = Field(min_length=1)
    min_score: float | None = None


class Line(_Strict):
    """Sizing bounds: new limits are rounded down to ``round_to`` and kept in bounds."""

    min_limit: float = Field(default=0.0, ge=0)
    max_limit: float = Field(gt=0)
    round_to: float = Field(default=100.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Line:
        if self.min_limit > self.max_limit:
            raise ValueError("min_limit must not exceed max_limit")
        return self


class HouseholdCap(_Strict):
    limit: float = Field(gt=0)
    reason: str
    layer: Literal["regulatory"] = "regulatory"

    @model_validator(mode="after")
    def _reason_on_layer(self) -> HouseholdCap:
        _check_code(self.reason, "regulatory")
        return self


class MacroEntry(_Strict):
    """The least severe action a grade may get under stress (never an increase)."""

    action: Literal["keep", "decrease", "freeze", "close"]
    limit_factor: float | None = None

    @model_validator(mode="after")
    def _factor_fits_action(self) -> MacroEntry:
        f = self.limit_factor
        if self.action == "decrease" and (f is None or not 0 < f < 1):
            raise ValueError("action 'decrease' needs 0 < limit_factor < 1")
        if self.action != "decrease" and f is not None:
            raise ValueError(f"action {self.action!r} takes no limit_factor")
        return self


class Macro(_Strict):
    """Overlay applied after the individual decision; it can only tighten."""

    stress_index: float = Field(gt=0)
    reason: str
    grades: dict[str, MacroEntry]

    @model_validator(mode="after")
    def _reason_on_layer(self) -> Macro:
        _check_code(self.reason, "macro")
        return self


class Policy(_Strict):
    """A complete line policy. ``version`` is ``name@release+hash8`` of the content."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    release: str = Field(alias="version", min_length=1)
    description: str = ""
    lgd: float = Field(gt=0, le=1)
    grades: list[Grade] = Field(min_length=1)
    knockouts: list[Rule] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    grade_actions: dict[str, list[MatrixEntry]]
    line: Line
    household_cap: HouseholdCap | None = None
    macro: Macro | None = None

    _version: str = PrivateAttr(default="")

    @field_validator("release", mode="before")
    @classmethod
    def _release_as_text(cls, v: Any) -> Any:
        # YAML reads `version: 1.0` as a float; the release is a label, not a number.
        return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v

    @field_validator("grade_actions", mode="before")
    @classmethod
    def _single_entry_as_list(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: [e] if isinstance(e, dict) else e for k, e in v.items()}
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        names = [g.grade for g in self.grades]
        if len(set(names)) != len(names):
            raise ValueError(f"grades: duplicate grade names in {names}")
        scores = [g.min_score for g in self.grades]
        if any(s is None for s in scores[:-1]):
            raise ValueError("grades: only the last (worst) grade may omit min_score")
        bounded = [s for s in scores if s is not None]
        if any(a <= b for a, b in zip(bounded, bounded[1:], strict=False)):
            raise ValueError("grades: min_score must strictly decrease from best to worst")
        if set(self.grade_actions) != set(names):
            raise ValueError(
                f"grade_actions: needs exactly the grades {names}, got {list(self.grade_actions)}"
            )
        for g, bands in self.grade_actions.items():
            _check_bands(g, bands)
        ids = [r.id for r in self.all_rules]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"rules: duplicate rule ids {dup}")
        if self.macro is not None and not set(self.macro.grades) <= set(names):
            unknown = sorted(set(self.macro.grades) - set(names))
            raise ValueError(f"macro.grades: unknown grades {unknown} (grades are {names})")
        canonical = json.dumps(
            self.model_dump(mode="json", by_alias=True),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:8]
        self._version = f"{self.name}@{self.release}+{digest}"
        return self

    @property
    def version(self) -> str:
        """``name@release+sha256(canonical content)[:8]``: changes with any rule change."""
        return self._version

    @property
    def all_rules(self) -> list[Rule]:
        """Knock-outs then rules, in the order they are tried."""
        return [*self.knockouts, *self.rules]

    @property
    def grade_names(self) -> list[str]:
        return [g.grade for g in self.grades]


def _check_bands(grade: str, bands: list[MatrixEntry]) -> None:
    if not bands:
        raise ValueError(f"grade_actions.{grade}: needs at least one entry")
    if bands[-1].utilisation_below is not None:
        raise ValueError(
            f"grade_actions.{grade}: the last entry must have no utilisation_below (catch-all)"
        )
    bounds = [b.utilisation_below for b in bands[:-1]]
    if any(b is None for b in bounds):
        raise ValueError(f"grade_actions.{grade}: only the last entry may omit utilisation_below")
    if any(a >= b for a, b in zip(bounds, bounds[1:], strict=False)):  # type: ignore[operator]
        raise ValueError(f"grade_actions.{grade}: utilisation_below must increase")
