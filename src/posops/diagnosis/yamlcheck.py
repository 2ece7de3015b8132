"""Shape checks shared by the knowledge-base loaders: each raises KnowledgeError naming the file and the entry."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from posops.diagnosis.errors import KnowledgeError


def finite(value: Any) -> bool:
    """True for an int or float (not a bool) that is neither infinite nor NaN."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def positive_number(value: Any, file: str, where: str, what: str) -> float:
    """Return a finite number above zero as a float, or raise naming `what` ("cost", "factor of x")."""
    if not finite(value) or value <= 0:
        raise KnowledgeError(file, where, f"{what} must be a positive number, got {value!r}")
    return float(value)


def mapping(raw: Any, file: str, where: str) -> Mapping[str, Any]:
    """Return `raw` when it is a mapping, else raise saying what was found instead."""
    if not isinstance(raw, Mapping):
        raise KnowledgeError(file, where, f"expected a mapping, got {type(raw).__name__}")
    return raw


def as_list(raw: Any, file: str, where: str) -> list[Any]:
    """Return `raw` when it is a list, else raise saying what was found instead."""
    if not isinstance(raw, list):
        raise KnowledgeError(file, where, f"expected a list, got {type(raw).__name__}")
    return raw
