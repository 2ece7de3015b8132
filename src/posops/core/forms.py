"""Console forms: field text into validated schemas, yuan into fen, and refusals into messages for the page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from posops.core.errors import Invalid, PosopsError, field_label, input_problems
from posops.core.i18n import translate
from posops.core.transitions import TransitionError

ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")
_SPLIT = re.compile(r"[\s,，、;；]+")


def validated(model: type[ModelT], data: dict[str, Any]) -> ModelT:
    """Validate form data into `model`, turning every problem into one Invalid naming its fields."""
    return validated_as(TypeAdapter(model), data)


def validated_as(adapter: TypeAdapter[T], data: dict[str, Any]) -> T:
    """Validate form data with a type adapter (for unions), every problem in one Invalid naming its fields."""
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise Invalid.many(input_problems(exc.errors())) from None


def dates(text: str, field_name: str) -> list[date] | None:
    """Read dates (YYYY-MM-DD) separated by spaces, commas or new lines; None when the field is empty."""
    items = [t for t in _SPLIT.split(text.strip()) if t]
    if not items:
        return None
    try:
        return [date.fromisoformat(t) for t in items]
    except ValueError:
        raise Invalid(field_name, key="error.invalid.dates") from None


def lines(text: str) -> list[str]:
    """Read one item per line, dropping blank lines."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def yuan_to_fen(text: str, field_name: str) -> int:
    """Read an amount in yuan with at most two decimals ("81.58", "1,234") as integer fen."""
    try:
        amount = Decimal(text.replace(",", "").replace("，", "").strip())
    except InvalidOperation:
        raise Invalid(field_name, key="error.invalid.yuan") from None
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise Invalid(field_name, key="error.invalid.yuan_positive")
    return int(amount * 100)


@dataclass
class Refusal:
    """Why a console action was refused, ready for the page: a message and, when known, what is missing."""

    message: str
    missing: list[str] = field(default_factory=list)
    status: int = 400


def refusal(exc: PosopsError, lang: str) -> Refusal:
    """Say in the page's language why an action was refused."""
    if isinstance(exc, TransitionError):
        missing = [c.en if lang == "en" else c.zh for c in exc.unmet]
        headline = translate("terminals.refusal.missing", lang) if missing else exc.text(lang)
        return Refusal(headline, missing, exc.status)
    if isinstance(exc, Invalid):
        return Refusal(_joined([_problem_text(p.field, p.reason.text(lang), p.line, lang) for p in exc.problems],
                               lang), [], exc.status)
    return Refusal(exc.text(lang), [], exc.status)


def _problem_text(field_name: str, reason: str, line: int | None, lang: str) -> str:
    name, reason = field_label(field_name).text(lang), reason.rstrip("。.")
    where = "" if line is None else translate("forms.line", lang, line=line)
    return f"{where}{name}: {reason}" if lang == "en" else f"{where}{name}：{reason}"


def _joined(parts: list[str], lang: str) -> str:
    return "; ".join(parts) if lang == "en" else "；".join(parts)
