"""Line policy: model, loader, and the names a policy may use."""

from __future__ import annotations

from clearline.core.policy.load import PolicyError, load_policy, parse_policy
from clearline.core.policy.model import SEVERITY, Condition, MatrixEntry, Policy, Rule

__all__ = [
    "SEVERITY",
    "Condition",
    "MatrixEntry",
    "Policy",
    "PolicyError",
    "Rule",
    "load_policy",
    "parse_policy",
]
