"""The line policy as a validated pydantic model.

A policy is data, not code: conditions are expressions in a small language of its own
(:mod:`clearline.core.policy.expr`), parsed and type-checked at load and evaluated over
whole columns (nothing is ever ``eval``-ed). Every name a policy uses (feature, reason
code, grade) is checked at load, so a typo fails loudly instead of silently switching a
rule off. Layers and their precedence: ``docs/policy.md``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from clearline.core.policy import expr as E
from clearline.core.policy.model_overlays import (
    BusinessRule,
    HouseholdCap,
    Macro,
    MacroEntry,
    Regulatory,
)
from clearline.core.policy.parts import (
    SEVERITY,
    Action,
    Condition,
    Outcome,
    Strict,
    When,
    check_code,
    compile_when,
)

__all__ = [
    "SEVERITY",
    "Action",
    "BusinessRule",
    "Condition",
    "Grade",
    "HouseholdCap",
    "Hysteresis",
    "InitialLine",
    "Line",
    "Macro",
    "MacroEntry",
    "MatrixEntry",
    "Policy",
    "Regulatory",
    "Rule",
]

RuleLayer = Literal["individual", "event", "business"]


class Rule(Outcome):
    """A knock-out or rule: the first rule whose condition holds decides."""

    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    when: When
    reason: str
    layer: RuleLayer = "individual"

    _expr: E.Node = PrivateAttr()

    @field_validator("when")
    @classmethod
    def _parses(cls, v: Any) -> Any:
        compile_when(v)  # refused here so the error names rules[i].when
        return v

    @model_validator(mode="after")
    def _reason_on_layer(self) -> Rule:
        check_code(self.reason, self.layer)
        self._expr = compile_when(self.when)
        return self

    @property
    def expr(self) -> E.Node:
        return self._expr


class MatrixEntry(Outcome):
    """One utilisation band of a grade; ``utilisation_below`` is an exclusive bound."""

    utilisation_below: float | None = None

    @field_validator("reason")
    @classmethod
    def _known_reason(cls, v: str | None) -> str | None:
        return check_code(v)


class Grade(Strict):
    """A risk band: the first band whose bounds hold (score >= min_score, pd <= max_pd)."""

    grade: str = Field(min_length=1)
    min_score: float | None = None
    max_pd: float | None = Field(default=None, ge=0, le=1)


class Line(Strict):
    """Sizing bounds: new limits are rounded down to ``round_to`` and kept in bounds."""

    min_limit: float = Field(default=0.0, ge=0)
    max_limit: float = Field(gt=0)
    round_to: float = Field(default=100.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Line:
        if self.min_limit > self.max_limit:
            raise ValueError("min_limit must not exceed max_limit")
        return self


class Hysteresis(Strict):
    """Keeps a line from flapping between reviews (applies to matrix actions only).

    An increase needs the score at least ``increase_margin`` points above its grade's
    ``min_score`` and no adverse action (``last_action`` decrease/freeze/close) within
    ``adverse_cooldown_days``; a decrease needs the score ``decrease_margin`` points
    below the next better grade's ``min_score``; neither happens within
    ``min_days_between_changes`` of the last limit change. Inputs are the optional
    feature columns ``last_action`` and ``days_since_last_change`` (absent or null: no
    history). A held action becomes ``keep``.
    """

    increase_margin: float = Field(default=0.0, ge=0)
    decrease_margin: float = Field(default=0.0, ge=0)
    adverse_cooldown_days: int = Field(default=0, ge=0)
    min_days_between_changes: int = Field(default=0, ge=0)


class IncomeBand(Strict):
    max_pd: float | None = Field(default=None, ge=0, le=1)
    income_multiple: float = Field(ge=0)


class InitialLine(Strict):
    """New lines: ``limit = income_multiple(PD band) x verified annual income``.

    Bands are tried in order (first ``max_pd`` the PD does not exceed; the last band
    has none). Unverified income counts at ``unverified_income_factor``. The result is
    rounded down and kept within ``line`` bounds (0 when the multiple is 0: declined),
    then the regulatory caps apply.
    """

    bands: list[IncomeBand] = Field(min_length=1)
    unverified_income_factor: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> InitialLine:
        pds = [b.max_pd for b in self.bands]
        if pds[-1] is not None or any(p is None for p in pds[:-1]):
            raise ValueError("bands: every band but the last needs max_pd (the last is catch-all)")
        if any(a >= b for a, b in zip(pds[:-2], pds[1:-1], strict=False)):  # type: ignore[operator]
            raise ValueError("bands: max_pd must increase")
        return self


class Policy(Strict):
    """A complete line policy. ``version`` is ``name@release+hash8`` of the content."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    release: str = Field(alias="version", min_length=1)
    description: str = ""
    lgd: float = Field(gt=0, le=1)
    grades: list[Grade] = Field(min_length=1)
    knockouts: list[Rule] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    grade_actions: dict[str, list[MatrixEntry]]
    hysteresis: Hysteresis | None = None
    line: Line
    initial_line: InitialLine | None = None
    business: list[BusinessRule] = Field(default_factory=list)
    macro: Macro | None = None
    household_cap: HouseholdCap | None = None
    regulatory: Regulatory | None = None

    _version: str = PrivateAttr(default="")
    _compiled: Any = PrivateAttr(default=None)

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
        names = self.grade_names
        if len(set(names)) != len(names):
            raise ValueError(f"grades: duplicate grade names in {names}")
        _check_grades(self.grades)
        if set(self.grade_actions) != set(names):
            raise ValueError(
                f"grade_actions: needs exactly the grades {names}, got {list(self.grade_actions)}"
            )
        for g, bands in self.grade_actions.items():
            _check_bands(g, bands)
        ids = [r.id for r in self.all_rules] + [b.id for b in self.business]
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

    @property
    def effective_household_cap(self) -> HouseholdCap | None:
        """The tighter of the policy's own cap and its regulatory preset's."""
        caps = [self.household_cap]
        if self.regulatory is not None:
            caps.append(self.regulatory.household_cap)
        live = [c for c in caps if c is not None]
        return min(live, key=lambda c: c.limit) if live else None

    @property
    def max_apr(self) -> float | None:
        return self.regulatory.max_apr if self.regulatory is not None else None


def _check_grades(grades: list[Grade]) -> None:
    last = grades[-1]
    if last.min_score is not None or last.max_pd is not None:
        if len(grades) > 1:
            raise ValueError("grades: the last (worst) grade must have no bounds (catch-all)")
    for g in grades[:-1]:
        if g.min_score is None and g.max_pd is None:
            raise ValueError(
                f"grades: only the last (worst) grade may omit min_score/max_pd ({g.grade})"
            )
    scores = [g.min_score for g in grades if g.min_score is not None]
    if any(a <= b for a, b in zip(scores, scores[1:], strict=False)):
        raise ValueError("grades: min_score must strictly decrease from best to worst")
    pds = [g.max_pd for g in grades if g.max_pd is not None]
    if any(a >= b for a, b in zip(pds, pds[1:], strict=False)):
        raise ValueError("grades: max_pd must strictly increase from best to worst")


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
