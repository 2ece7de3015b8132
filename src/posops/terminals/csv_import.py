"""Reads merchant and terminal CSV files into validated rows, collecting every error with its line."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from posops.core.errors import Problem, input_problems
from posops.core.labels import catalog_sentence

RowT = TypeVar("RowT", bound=BaseModel)


@dataclass
class ParsedCsv(Generic[RowT]):
    """Rows that passed validation (with their line numbers) and every problem found."""

    rows: list[tuple[int, RowT]]
    errors: list[Problem]


MAX_ROWS = 10_000
"""The default most rows of one import (POSOPS_IMPORT_MAX_ROWS)."""


def parse_csv(content: bytes, model: type[RowT], *, renames: dict[str, str] | None = None,
              max_rows: int = MAX_ROWS) -> ParsedCsv[RowT]:
    """Parse UTF-8 (or UTF-8 with BOM) CSV into `model` rows; line 1 is the header.

    A file over ``max_rows`` rows, or that the csv module cannot read (a value over its field size limit,
    an unclosed quote), is refused as a whole: one problem naming the file and the line.
    """
    try:
        return _parse(content, model, renames, max_rows)
    except csv.Error:
        kib = csv.field_size_limit() // 1024
        return ParsedCsv([], [Problem("file", catalog_sentence("terminals.error.csv_unreadable", kib=kib))])


def _parse(content: bytes, model: type[RowT], renames: dict[str, str] | None, max_rows: int) -> ParsedCsv[RowT]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return ParsedCsv([], [Problem("file", catalog_sentence("terminals.error.csv_not_utf8", byte=exc.start))])
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        return ParsedCsv([], [Problem("header", catalog_sentence("terminals.error.csv_no_header"), 1)])
    known = set(model.model_fields) | set((renames or {}).keys())
    unknown = [h for h in header if h not in known]
    if unknown:
        return ParsedCsv([], [Problem("header", catalog_sentence("terminals.error.csv_unknown_columns",
                                                                 columns=", ".join(unknown)), 1)])
    parsed: ParsedCsv[RowT] = ParsedCsv([], [])
    for index, raw in enumerate(reader):
        line = index + 2
        if index >= max_rows:
            too_many = catalog_sentence("terminals.error.csv_too_many_rows", max_rows=max_rows)
            return ParsedCsv([], [Problem("file", too_many, line)])
        if None in raw:
            parsed.errors.append(Problem("row", catalog_sentence("terminals.error.csv_extra_values"), line))
            continue
        values = {(renames or {}).get(k.strip(), k.strip()): v.strip()
                  for k, v in raw.items() if v is not None and v.strip() != ""}
        try:
            parsed.rows.append((line, model.model_validate(values)))
        except ValidationError as exc:
            parsed.errors.extend(problem._replace(line=line) for problem in input_problems(exc.errors()))
    return parsed
