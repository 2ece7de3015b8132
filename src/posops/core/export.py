"""CSV export of a console list: its filtered rows as a streamed download that Excel opens with Chinese intact.

Every list page links to ``<list path>.csv?<the page's own query>``; that route reads the same
filters, walks every page of the list (:func:`every_page`, at most :data:`EXPORT_MAX_ROWS` rows)
and answers :func:`csv_response`: UTF-8 with a byte-order mark (without it Excel reads the file
as GBK and garbles every Chinese name), a dated file name, headers from the catalogue in the
page's language. No cell carries a full card number: any run of 13 to 19 digits in a cell is
masked as a PAN (first six, last four), except in columns declared ``verbatim`` — identifiers
of a fixed format such as a serial number, TID, MID or phone number, which are never card numbers.

>>> mask_card_numbers("卡号 6222 0212 3456 7890 123 刷不了")
'卡号 622202*********0123 刷不了'
>>> safe_cell("=HYPERLINK(1)")
"'=HYPERLINK(1)"
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

from fastapi.responses import StreamingResponse

from posops.core.card_data import mask_card_numbers
from posops.core.i18n import translate
from posops.core.paging import MAX_PER_PAGE, Page
from posops.core.web import display_zone, local_time, templates

T = TypeVar("T")
EXPORT_MAX_ROWS = 5000
"""The most rows one export carries; every list page says so next to its export link."""
MEDIA_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"
FLUSH_AT = 64 * 1024
"""Characters gathered before a chunk of the file is sent."""
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet would read as the start of a formula (CSV injection)."""

templates.env.globals["export_limit"] = EXPORT_MAX_ROWS


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column of an export: its header (a catalogue key) and how a row gives its cell."""

    header: str
    value: Callable[[T], object]
    verbatim: bool = False
    """An identifier of a fixed format (serial number, TID, MID, phone): written as it is, never PAN-masked."""


def safe_cell(text: str) -> str:
    """Keep a spreadsheet from running a cell as a formula: one that starts like a formula gets a leading quote."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def cell_text(value: object, *, verbatim: bool = False) -> str:
    """A value as a CSV cell: nothing for None, times in the console's zone, card numbers masked unless verbatim."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = local_time(value)
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    return safe_cell(text if verbatim else mask_card_numbers(text))


def every_page(fetch: Callable[[int, int], Page[T]], limit: int = EXPORT_MAX_ROWS) -> Iterator[T]:
    """Every row of a paged list, page after page, at most ``limit`` rows.

    ``fetch(page, per_page)`` is the list's own use case. The first page is read at once, so a
    refusal (403, 404, 422) answers the request before any byte of the download is sent; the
    others are read as the download goes. Each page is its own transaction, as when paging by hand.
    """
    per_page = min(MAX_PER_PAGE, limit)
    return _pages_from(fetch, fetch(1, per_page), per_page, limit)


def _pages_from(fetch: Callable[[int, int], Page[T]], first: Page[T], per_page: int, limit: int) -> Iterator[T]:
    current, number, sent = first, 1, 0
    while True:
        yield from current.items[:limit - sent]
        sent += min(len(current.items), limit - sent)
        if sent >= limit or not current.items or number * per_page >= current.total:
            return
        number += 1
        current = fetch(number, per_page)


def first_rows(items: Iterable[T], limit: int = EXPORT_MAX_ROWS) -> Iterator[T]:
    """At most ``limit`` rows of a list that is not paged."""
    for index, item in enumerate(items):
        if index >= limit:
            return
        yield item


def file_name(name: str, day: date | None = None) -> str:
    """The download's name: the list's name and the day in the console's zone (``terminals-20260301.csv``)."""
    day = day or datetime.now(display_zone()).date()
    return f"{name}-{day:%Y%m%d}.csv"


def csv_lines(rows: Iterable[T], columns: Sequence[Column[T]], lang: str) -> Iterator[str]:
    """The file's text in chunks: the byte-order mark and the headers in ``lang``, then the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def taken() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([translate(column.header, lang) for column in columns])
    yield BOM + taken()
    for row in rows:
        writer.writerow([cell_text(column.value(row), verbatim=column.verbatim) for column in columns])
        if buffer.tell() >= FLUSH_AT:
            yield taken()
    yield taken()


def csv_response(rows: Iterable[T], columns: Sequence[Column[T]], *, lang: str, name: str,
                 day: date | None = None) -> StreamingResponse:
    """Stream ``rows`` as a CSV download (``text/csv; charset=utf-8``) named for the list and the day."""
    chunks = (text.encode("utf-8") for text in csv_lines(rows, columns, lang))
    return StreamingResponse(chunks, media_type=MEDIA_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{file_name(name, day)}"', "Cache-Control": "no-store"})
