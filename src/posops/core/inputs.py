"""Bounded input types shared by every edge (API paths, queries, bodies, console forms): ids, counts and text.

A value past these bounds is a field-named 422, never a database error: an id fits a signed 32-bit column,
and text has a length and no control characters (PostgreSQL text refuses NUL; a lone surrogate is not text).

>>> from pydantic import TypeAdapter
>>> TypeAdapter(Id).validate_python(2**31 - 1) == MAX_ID
True
>>> TypeAdapter(Line).validate_python(" 甲商户 ")
'甲商户'
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

MAX_ID = 2**31 - 1
"""The largest id an INTEGER primary key holds on PostgreSQL (SQLite's go to 2**63 - 1, PostgreSQL's stop here)."""

MAX_COUNT = 1_000_000
"""The largest count, page number or limit an answer may be asked for."""

ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
"""Text on one line: no control character at all."""

MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
"""Text over several lines: tabs and line breaks, no other control character."""

CONTROL_PATTERNS = frozenset({ONE_LINE, MULTI_LINE})
"""The patterns whose refusal is said as 'contains a control character' rather than 'wrong format'."""


def one_line(max_length: int, *, min_length: int = 0, strip: bool = True) -> StringConstraints:
    """Constraints of one line of text, at most ``max_length`` characters (surrounding blanks dropped)."""
    return StringConstraints(strip_whitespace=strip, min_length=min_length, max_length=max_length, pattern=ONE_LINE)


def multi_line(max_length: int, *, min_length: int = 0, strip: bool = True) -> StringConstraints:
    """Constraints of text over several lines, at most ``max_length`` characters."""
    return StringConstraints(strip_whitespace=strip, min_length=min_length, max_length=max_length,
                             pattern=MULTI_LINE)


def code(max_length: int, pattern: str, *, min_length: int = 0) -> StringConstraints:
    """Constraints of a code with its own format (serial number, TID …), bounded in length as well."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length, pattern=pattern)


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A record's id, in a path, a query or a body."""

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
"""A count or number of items (zero allowed)."""

Line = Annotated[str, one_line(128)]
"""A short line of text: a region, a contact, a model (may be empty)."""

Name = Annotated[str, one_line(128, min_length=1)]
"""A name that must be given."""

Word = Annotated[str, one_line(64)]
"""A short key: a taxonomy id, a check id, an outcome, a language."""

Search = Annotated[str, one_line(128)]
"""Text searched for in a list (a query string)."""

Note = Annotated[str, multi_line(500)]
"""A note over several lines (may be empty)."""

RequiredNote = Annotated[str, multi_line(500, min_length=1)]
"""A note that must be given."""

LongText = Annotated[str, multi_line(2000)]
"""A longer text in the person's own words: a complaint, a description."""

ClockTime = Annotated[str, code(5, r"^([01][0-9]|2[0-3]):[0-5][0-9]$", min_length=5)]
"""A local time of day, ``HH:MM`` (24 hours): opening hours, a maintenance window."""

FORM_FIELD_CHARS = 20_000
"""The most a console form field may carry before its form's own rules read it."""

FormText = Annotated[str, StringConstraints(max_length=FORM_FIELD_CHARS)]
"""A console form field as posted: only bounded here, the form's schema (or the view) checks the rest."""
