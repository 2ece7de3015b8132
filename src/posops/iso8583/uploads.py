"""Receives an uploaded frame log or capture into a private temporary file, deleted as soon as it is analysed.

The file may hold full card numbers: it is written only to a fresh ``0700`` temporary folder and
removed when the analysis ends, whatever happens. It is never kept.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import BinaryIO

from fastapi import Request
from starlette.datastructures import UploadFile

from posops.core.errors import Invalid

MAX_UPLOAD_BYTES = 1 << 30
"""1 GiB: about 8 million logged frames."""
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Spooled:
    """An upload waiting on disk: where it is, the name it was sent under, its size."""

    path: Path
    name: str
    size: int


@contextmanager
def _private_file() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="posops-traffic-") as folder:
        yield Path(folder) / "upload"


def _too_big() -> Invalid:
    return Invalid("file", key="iso8583.error.too_big", mib=MAX_UPLOAD_BYTES >> 20)


def _copy(source: BinaryIO, target: Path) -> int:
    size = 0
    with target.open("wb") as out:
        while chunk := source.read(_CHUNK):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise _too_big()
            out.write(chunk)
    return size


@contextmanager
def spooled_file(upload: UploadFile) -> Iterator[Spooled]:
    """Copy a form's uploaded file to a private temporary file; 422 when it is empty or too big."""
    with _private_file() as path:
        upload.file.seek(0)
        size = _copy(upload.file, path)
        if size == 0:
            raise Invalid("file", key="iso8583.error.empty_file")
        yield Spooled(path, upload.filename or "upload", size)


@asynccontextmanager
async def spooled_request(request: Request) -> AsyncIterator[Spooled]:
    """Write a request's upload to a private temporary file: the multipart part ``file``, or else the raw body.

    A raw body is named by its ``Content-Disposition: attachment; filename="…"`` header, never by
    the URL: a file name may hold a card number, and URLs end up in access logs.
    """
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=16)
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise Invalid("file", key="iso8583.error.no_file_part")
            with spooled_file(upload) as spooled:
                yield spooled
        finally:
            await form.close()
        return
    with _private_file() as path:
        size = 0
        with path.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise _too_big()
                out.write(chunk)
        if size == 0:
            raise Invalid("file", key="iso8583.error.empty_body")
        yield Spooled(path, _disposition_filename(request.headers.get("content-disposition")) or "upload", size)


def _disposition_filename(header: str | None) -> str | None:
    if not header:
        return None
    message = EmailMessage()
    message["content-disposition"] = header
    return message.get_filename()

