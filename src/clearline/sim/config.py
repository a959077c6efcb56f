"""Simulator settings and the per-type behaviour parameters.

The behaviour types and their defaults are documented in ``docs/simulator.md``; the
numbers here were tuned so that a default-sized run gives a 12-month-ahead default rate
of a few per cent for accounts open at mid-window (see the doc for measured values).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# Behaviour types, in a fixed order: the order is the integer code used internally.
TYPES: tuple[str, ...] = ("steady", "deteriorator", "misuser", "multi_lender", "innocent")
DEFAULT_SHARES: dict[str, float] = {
    "steady": 0.70,
    "deteriorator": 0.08,
    "misuser": 0.03,
    "multi_lender": 0.07,
    "innocent": 0.12,
}

# Repayment stages of a borrower (a small state machine advanced once a month).
HEALTHY, CREEP, LATE, PARTIAL, STOPPED = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class TypeParams:
    """How one behaviour type acts. Rates are per month unless said otherwise."""

    mu_z: float  # mean of the latent risk score z (sd ``Z_SD``)
    onset: float  # base hazard of entering distress at z = 0 and neutral macro
    onset_stage: int  # stage entered on onset (CREEP for deteriorators, else LATE)
    sudden: float  # share of onsets that jump straight to STOPPED
    cure_late: float  # LATE -> HEALTHY
    cure_partial: float  # PARTIAL -> HEALTHY
    occasional_late: float  # chance a healthy borrower pays one instalment late
    draw: float  # chance an open account takes a drawdown in a month
    draw_frac: tuple[float, float]  # beta(a, b) for the share of the available line
    inquiry: float  # background external inquiries (Poisson mean)
    inquiry_burst: float  # chance of an inquiry burst in a month
    move: float  # chance of moving city once within the window
    second_line: float  # chance of a second product line


TYPE_PARAMS: dict[str, TypeParams] = {
    "steady": TypeParams(
        0.0, 0.0018, 2, 0.30, 0.30, 0.10, 0.015, 0.12, (2.0, 4.0), 0.03, 0.004, 0.04, 0.10
    ),
    "deteriorator": TypeParams(
        0.8, 0.035, 1, 0.0, 0.05, 0.02, 0.04, 0.15, (2.0, 3.0), 0.06, 0.02, 0.10, 0.15
    ),
    "misuser": TypeParams(
        1.0, 0.0, 4, 1.0, 0.0, 0.0, 0.0, 0.05, (2.0, 3.0), 0.05, 0.03, 0.15, 0.05
    ),
    "multi_lender": TypeParams(
        0.6, 0.010, 2, 0.35, 0.20, 0.05, 0.05, 0.28, (3.0, 2.5), 0.25, 0.22, 0.08, 0.30
    ),
    # Innocent look-alikes never enter distress and never pay late (onset and lateness 0).
    "innocent": TypeParams(
        -0.6, 0.0, 0, 0.0, 0.0, 0.0, 0.0, 0.12, (2.0, 4.0), 0.03, 0.0, 0.0, 0.10
    ),
}

Z_SD = 0.8  # spread of the latent risk within a type
Z_HAZARD = 1.0  # onset hazard multiplier per unit of z: exp(Z_HAZARD * z)
STRESS_POWER = 3.0  # onset hazard multiplier in a month: stress_index ** STRESS_POWER


@dataclass(frozen=True)
class SimConfig:
    """What to simulate.

    Parameters
    ----------
    borrowers, months, seed, start
        Size, window length (calendar months from ``start``) and the random seed; the
        same config always gives identical frames.
    type_shares
        Behaviour type -> share (normalised); ``None`` uses ``DEFAULT_SHARES``. Types not
        named get share 0.
    macro_peak
        Peak of the stress index during the bad spell (1.0 gives a flat macro).
    macro_start
        Month index (0-based) where the bad spell starts; ``None`` puts it at 40 % of the
        window.
    macro_length
        Length of the bad spell in months.
    household_share
        Share of borrowers who live in a household with other borrowers.
    """

    borrowers: int = 20000
    months: int = 24
    seed: int = 7
    start: date = date(2024, 1, 1)
    type_shares: dict[str, float] | None = None
    macro_peak: float = 1.4
    macro_start: int | None = None
    macro_length: int = 5
    household_share: float = 0.2
    shares: dict[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.borrowers, bool) or not isinstance(self.borrowers, int):
            raise ValueError(f"borrowers must be an integer, got {self.borrowers!r}")
        if self.borrowers < 1:
            raise ValueError(f"borrowers must be >= 1, got {self.borrowers}")
        if isinstance(self.months, bool) or not isinstance(self.months, int):
            raise ValueError(f"months must be an integer, got {self.months!r}")
        if not 1 <= self.months <= 120:
            raise ValueError(f"months must be between 1 and 120, got {self.months}")
        if not isinstance(self.start, date) or self.start.day != 1:
            # Months of the window are calendar months (the macro table is monthly).
            raise ValueError(f"start must be the first day of a month, got {self.start!r}")
        if not 0.5 <= self.macro_peak <= 5.0:
            raise ValueError(f"macro_peak must be between 0.5 and 5, got {self.macro_peak}")
        if self.macro_length < 0:
            raise ValueError(f"macro_length must be >= 0, got {self.macro_length}")
        if self.macro_start is not None and self.macro_start < 0:
            raise ValueError(f"macro_start must be >= 0, got {self.macro_start}")
        if not 0.0 <= self.household_share <= 0.9:
            raise ValueError(f"household_share must be in [0, 0.9], got {self.household_share}")
        object.__setattr__(self, "shares", _normalise(self.type_shares))


def _normalise(shares: dict[str, float] | None) -> dict[str, float]:
    if shares is None:
        return dict(DEFAULT_SHARES)
    unknown = sorted(set(shares) - set(TYPES))
    if unknown:
        raise ValueError(f"unknown behaviour type(s) {unknown}; known types: {list(TYPES)}")
    for name, value in shares.items():
        if not isinstance(value, int | float) or value != value or value < 0:
            raise ValueError(f"share of {name!r} must be a non-negative number, got {value!r}")
    total = float(sum(shares.values()))
    if not total > 0 or total == float("inf"):
        raise ValueError("type_shares must sum to a positive, finite number")
    return {t: float(shares.get(t, 0.0)) / total for t in TYPES}
