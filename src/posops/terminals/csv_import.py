"""Reads merchant and terminal CSV files into validated rows, collecting every error with its line."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

RowT = TypeVar("RowT", bound=BaseModel)


@dataclass
class ParsedCsv(Generic[RowT]):
    """Rows that passed validation (with their line numbers) and every problem found."""

    rows: list[tuple[int, RowT]]
    errors: list[tuple[int | None, str, str]]


def parse_csv(content: bytes, model: type[RowT], *, renames: dict[str, str] | None = None,
              max_rows: int = 100_000) -> ParsedCsv[RowT]:
    """Parse UTF-8 (or UTF-8 with BOM) CSV into `model` rows; line 1 is the header."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return ParsedCsv([], [(None, "file", f"not UTF-8 text (byte {exc.start})")])
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        return ParsedCsv([], [(1, "header", "the file is empty or has no header line")])
    known = set(model.model_fields) | set((renames or {}).keys())
    unknown = [h for h in header if h not in known]
    if unknown:
        return ParsedCsv([], [(1, "header", f"unknown column(s): {', '.join(unknown)}")])
    parsed: ParsedCsv[RowT] = ParsedCsv([], [])
    for index, raw in enumerate(reader):
        line = index + 2
        if index >= max_rows:
            parsed.errors.append((line, "file", f"more than {max_rows} rows"))
            break
        if None in raw:
            parsed.errors.append((line, "row", "more values than columns"))
            continue
        values = {(renames or {}).get(k.strip(), k.strip()): v.strip()
                  for k, v in raw.items() if v is not None and v.strip() != ""}
        try:
            parsed.rows.append((line, model.model_validate(values)))
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "row"
                parsed.errors.append((line, field, err["msg"]))
    return parsed
