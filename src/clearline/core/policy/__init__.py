"""Line policy: model, loader, expression language and the names a policy may use."""

from __future__ import annotations

from clearline.core.policy.expr import ExprError
from clearline.core.policy.load import PolicyError, load_policy, parse_policy
from clearline.core.policy.model import (
    SEVERITY,
    BusinessRule,
    Condition,
    Grade,
    Hysteresis,
    InitialLine,
    MatrixEntry,
    Policy,
    Regulatory,
    Rule,
)

__all__ = [
    "SEVERITY",
    "BusinessRule",
    "Condition",
    "ExprError",
    "Grade",
    "Hysteresis",
    "InitialLine",
    "MatrixEntry",
    "Policy",
    "PolicyError",
    "Regulatory",
    "Rule",
    "load_policy",
    "parse_policy",
]
