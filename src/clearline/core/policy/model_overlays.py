"""The overlay layers of a policy: business, macro and regulatory.

Each overlay is a separate, versioned block applied after the individual decision, in a
fixed order (business, then macro, then regulatory last), and each can only tighten:
see ``docs/policy.md``. Regulatory caps usually come from a jurisdiction preset file
(``policies/presets/NAME.yaml``) which the loader resolves into :class:`Regulatory`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from clearline.core.policy import expr as E
from clearline.core.policy.parts import Strict, When, check_code, compile_when


class HouseholdCap(Strict):
    """Total drawable consumer credit lines per household (regulatory)."""

    limit: float = Field(gt=0)
    reason: str
    layer: Literal["regulatory"] = "regulatory"

    @model_validator(mode="after")
    def _reason_on_layer(self) -> HouseholdCap:
        check_code(self.reason, "regulatory")
        return self


class IncomeShareCap(Strict):
    """A line at most ``max_share`` of verified annual income (12 x monthly income).

    ``unverified`` says what happens when income is not verified: ``skip`` (no cap),
    ``no_increase`` (the line may not grow) or ``zero`` (no drawable line).
    """

    max_share: float = Field(gt=0, le=1)
    reason: str
    unverified: Literal["skip", "no_increase", "zero"] = "no_increase"
    unverified_reason: str | None = None

    @model_validator(mode="after")
    def _reasons(self) -> IncomeShareCap:
        check_code(self.reason, "regulatory")
        check_code(self.unverified_reason, "regulatory")
        if self.unverified != "skip" and self.unverified_reason is None:
            raise ValueError(f"unverified: {self.unverified!r} needs an unverified_reason code")
        return self


class Regulatory(Strict):
    """Hard caps no other layer can override (a resolved jurisdiction preset)."""

    preset: str | None = None
    version: str = Field(min_length=1)
    jurisdiction: str = ""
    description: str = ""
    household_cap: HouseholdCap | None = None
    income_share_cap: IncomeShareCap | None = None
    max_apr: float | None = Field(default=None, gt=0, le=1)

    @field_validator("version", mode="before")
    @classmethod
    def _as_text(cls, v: object) -> object:
        return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


class MacroEntry(Strict):
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


class Macro(Strict):
    """Overlay applied when stress reaches ``stress_index``; it can only tighten."""

    version: str = "1"
    stress_index: float = Field(gt=0)
    reason: str
    grades: dict[str, MacroEntry]

    @model_validator(mode="after")
    def _reason_on_layer(self) -> Macro:
        check_code(self.reason, "macro")
        return self


class BusinessRule(Strict):
    """A product contraction applied to a class of accounts (marked class-wide).

    ``no_increase`` turns increases into keeps; ``decrease`` cuts by ``limit_factor``
    (wind-down); ``freeze`` and ``close`` stop the line. It never loosens a decision.
    """

    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    version: str = "1"
    when: When
    action: Literal["no_increase", "decrease", "freeze", "close"]
    limit_factor: float | None = None
    reason: str

    _expr: E.Node = PrivateAttr()

    @field_validator("when")
    @classmethod
    def _parses(cls, v: object) -> object:
        compile_when(v)  # type: ignore[arg-type]
        return v

    @model_validator(mode="after")
    def _consistent(self) -> BusinessRule:
        check_code(self.reason, "business")
        f = self.limit_factor
        if self.action == "decrease" and (f is None or not 0 < f < 1):
            raise ValueError("action 'decrease' needs 0 < limit_factor < 1")
        if self.action != "decrease" and f is not None:
            raise ValueError(f"action {self.action!r} takes no limit_factor")
        self._expr = compile_when(self.when)
        return self

    @property
    def expr(self) -> E.Node:
        return self._expr
