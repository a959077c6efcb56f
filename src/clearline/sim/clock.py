"""Calendar arithmetic for the simulator, in integer days and seconds since the start.

The window starts on the first day of a month at 00:00 UTC; loop month ``m`` is calendar
month ``start + m``. Due dates follow docs/architecture.md: instalment ``k`` of a
drawdown on date ``d`` is due on ``d + k months``, clipped to the end of the month.
"""

from __future__ import annotations

from datetime import date

import numpy as np

DAY = 86400


class Clock:
    """Month boundaries from ``start`` for ``months`` months plus room for long terms."""

    def __init__(self, start: date, months: int, extra: int = 40) -> None:
        self.start = np.datetime64(start, "D")
        self.months = months
        first = self.start.astype("datetime64[M]")
        grid = (first + np.arange(months + extra + 1)).astype("datetime64[D]")
        self.month_day = (grid - self.start).astype(np.int64)  # first day of month m
        self.dim = np.diff(self.month_day)  # days in month m
        self.end_day = int(self.month_day[months])
        self.end_sec = self.end_day * DAY

    def month_start_sec(self, m: int | np.ndarray) -> np.ndarray:
        return self.month_day[m] * DAY

    def random_second_in_month(self, m: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A uniformly random second inside month ``m`` (array of month indices)."""
        m = np.asarray(m)
        span = self.dim[m] * DAY
        return self.month_day[m] * DAY + (rng.random(m.shape) * span).astype(np.int64)

    def due_day(self, draw_sec: np.ndarray, draw_month: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Day of instalment ``k`` of drawdowns made at ``draw_sec`` in ``draw_month``."""
        dom = draw_sec // DAY - self.month_day[draw_month]  # 0-based day of month
        target = draw_month + k
        return self.month_day[target] + np.minimum(dom, self.dim[target] - 1)

    def month_of_day(self, day: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.month_day, day, side="right") - 1

    def to_datetime_us(self, sec: np.ndarray) -> np.ndarray:
        """Seconds since start -> numpy datetime64[us] (naive, UTC)."""
        base = self.start.astype("datetime64[us]")
        return base + (np.asarray(sec, dtype=np.int64) * 1_000_000).astype("timedelta64[us]")

    def month_labels(self) -> list[str]:
        first = self.start.astype("datetime64[M]")
        return [str(first + i) for i in range(self.months)]
