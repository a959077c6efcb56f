"""Synthetic portfolio simulator (see docs/simulator.md)."""

from clearline.sim.api import SimResult, simulate
from clearline.sim.config import DEFAULT_SHARES, TYPES, SimConfig

__all__ = ["DEFAULT_SHARES", "TYPES", "SimConfig", "SimResult", "simulate"]
