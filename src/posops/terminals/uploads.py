"""Reads an uploaded file from a multipart request, refusing more than the size limit, and serves stored ones."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, File, UploadFile
from fastapi.responses import FileResponse

from posops.terminals.onboarding import UPLOAD_RULES
from posops.terminals.schemas import DocumentOut


@dataclass(frozen=True)
class Upload:
    """An uploaded file's name, declared type and content (at most one byte over the limit)."""

    filename: str
    content_type: str
    content: bytes


async def read_upload(file: Annotated[UploadFile, File(description="PDF, JPEG or PNG, at most 10 MiB")]) -> Upload:
    """Read the multipart field `file`; content beyond the limit is not read (the service refuses it)."""
    content = await file.read(UPLOAD_RULES.max_bytes + 1)
    return Upload(file.filename or "", file.content_type or "application/octet-stream", content)


UploadDep = Annotated[Upload, Depends(read_upload)]


def download(path: Path, document: DocumentOut) -> FileResponse:
    """Send a stored document as an attachment, never to be sniffed into another type."""
    return FileResponse(path, media_type=document.content_type, filename=document.filename,
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
