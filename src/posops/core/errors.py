"""Domain errors raised by use cases, each said in zh-CN and English, and the one JSON shape the API gives them.

Every error answer of the API has ``{"detail": {"code", "message": {"zh-CN", "en"}, "fields"?: [...]}}``;
the console shows ``message`` (or each field's ``message``) in the page's language.

>>> NotFound(key="error.not_found.terminal").detail()["message"]["zh-CN"]
'找不到该终端。'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from posops.core.i18n import catalog
from posops.core.inputs import CONTROL_PATTERNS
from posops.core.labels import Label, catalog_sentence, sentence_case

EXCERPT_CHARS = 80
"""How much of a refused input an error may repeat back, at most."""


def _said(message: str | Label | None, key: str | None, values: dict[str, object]) -> Label:
    if key is not None:
        return catalog_sentence(key, **values)
    if isinstance(message, Label):
        return message
    text = message or ""
    return Label(text, text)


class PosopsError(Exception):
    """Base of the errors a use case raises on purpose; `status` is its HTTP status, `code` its stable name.

    Give the catalogue ``key`` of the sentence (and its placeholder ``values``): the error is then
    said in both languages and the key is its code.
    """

    status = 400
    code = "error"

    def __init__(self, message: str | Label | None = None, *, key: str | None = None, **values: object) -> None:
        self.said = _said(message, key, values)
        super().__init__(self.said.en)
        self.message = self.said.en
        if key is not None:
            self.code = key

    def text(self, lang: str = "zh-CN") -> str:
        """The error in ``lang``."""
        return self.said.text(lang)

    def detail(self) -> Any:
        """The JSON ``detail`` of the HTTP answer."""
        return {"code": self.code, "message": {"zh-CN": self.said.zh, "en": self.said.en}}


class NotFound(PosopsError):
    """The thing does not exist, or the caller may not know that it does."""

    status = 404
    code = "not_found"


class Conflict(PosopsError):
    """The request clashes with the current state (a duplicate, an illegal transition)."""

    status = 409
    code = "conflict"


class Forbidden(PosopsError):
    """The caller's role may not do this."""

    status = 403
    code = "forbidden"


class Unauthorized(PosopsError):
    """No valid credentials were given."""

    status = 401
    code = "unauthorized"


class Problem(NamedTuple):
    """One refused field: its dotted name, why (both languages) and, for files of rows, the line."""

    field: str
    reason: Label
    line: int | None = None
    context: dict[str, Any] | None = None
    """Facts a client may act on (where in a frame a decode failed, say); never the refused input itself."""

    def as_dict(self) -> dict[str, Any]:
        """The problem as one entry of the API's ``fields``."""
        entry: dict[str, Any] = {"field": self.field, "reason": self.reason.en,
                                 "message": {"zh-CN": self.reason.zh, "en": self.reason.en}}
        if self.line is not None:
            entry["line"] = self.line
        if self.context is not None:
            entry["context"] = self.context
        return entry


class Invalid(PosopsError):
    """Input failed a rule: names the field and the reason (a catalogue ``key`` with its ``values``)."""

    status = 422
    code = "invalid"

    def __init__(self, field: str, reason: str | Label | None = None, *, key: str | None = None,
                 line: int | None = None, **values: object) -> None:
        self.problems = [Problem(field, _said(reason, key, values), line)]
        super().__init__(_summary(self.problems))

    @classmethod
    def many(cls, problems: Sequence[Problem]) -> Invalid:
        """One error for several problems (every row of a file, every field of a form)."""
        first = problems[0]
        exc = cls(first.field, first.reason, line=first.line)
        exc.problems = list(problems)
        exc.said = _summary(exc.problems)
        exc.message = exc.said.en
        return exc

    def detail(self) -> Any:
        """The error with every refused field in ``fields``."""
        return {**super().detail(), "fields": [p.as_dict() for p in self.problems]}


class RuleBroken(ValueError):
    """Raised by a schema's validator: the broken rule as a catalogue sentence, so both languages can say it."""

    def __init__(self, key: str, **values: object) -> None:
        self.said = catalog_sentence(key, **values)
        super().__init__(self.said.en)


def field_label(field: str) -> Label:
    """How a page names a field (``field.<name>`` in the catalogue, by its last named part); else the name.

    >>> field_label("devices.0.serial_number")
    Label(zh='序列号', en='serial number')
    """
    names = [part for part in field.split(".") if not part.isdigit()]
    name = names[-1] if names else field
    texts = catalog().get(f"field.{name}")
    return Label(texts["zh-CN"], sentence_case(texts["en"])) if texts else Label(name, name)


def input_problems(errors: Sequence[Any], *, skip: int = 0) -> list[Problem]:
    """Pydantic's validation errors as problems said in both languages (never repeating the input).

    ``skip`` leading parts of each location are dropped (FastAPI puts "body" or "query" first).
    """
    return [Problem(".".join(excerpt(str(p)) for p in err["loc"][skip:]) or "body", _input_reason(err),
                    err.get("line")) for err in errors]


def _input_reason(err: Any) -> Label:
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, RuleBroken):
        return cause.said
    key = f"error.input.{err['type']}"
    if err["type"] == "string_pattern_mismatch" and (err.get("ctx") or {}).get("pattern") in CONTROL_PATTERNS:
        key = "error.input.control_character"
    values = {k: _ctx_value(v) for k, v in (err.get("ctx") or {}).items()}
    if key in catalog():
        try:
            return catalog_sentence(key, **values)
        except KeyError:
            pass
    return catalog_sentence("error.input.other")


def _ctx_value(value: object) -> object:
    return excerpt(value) if not isinstance(value, int | float) else value


def _summary(problems: Sequence[Problem]) -> Label:
    first = problems[0]
    where = Label(f"第 {first.line} 行 ", f"line {first.line}: ") if first.line is not None else Label("", "")
    more = Label(f"（另有 {len(problems) - 1} 处）", f" (and {len(problems) - 1} more)") \
        if len(problems) > 1 else Label("", "")
    name, reason = field_label(first.field), first.reason
    return Label(f"{where.zh}{name.zh}：{reason.zh.rstrip('。')}{more.zh}",
                 f"{where.en}{name.en}: {reason.en.rstrip('.')}{more.en}")


def excerpt(value: object) -> str:
    """A refused input as an error may repeat it: at most EXCERPT_CHARS characters."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"
