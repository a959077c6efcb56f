"""clearline: an explainable credit-line risk engine."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Scorecard", "__version__"]


def __getattr__(name: str) -> object:
    # Imported lazily so `clearline --help` does not pay for scikit-learn.
    if name == "Scorecard":
        from clearline.core.scoring.scorecard import Scorecard

        return Scorecard
    raise AttributeError(name)
