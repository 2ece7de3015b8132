"""Stored documents: upload checks, files kept under POSOPS_VAR_DIR/uploads (written once), and serving them.

Onboarding materials, reactivation evidence and repair-ticket attachments all go through here:
:func:`accepted_name` checks an upload, :func:`save` writes it, :func:`record` adds its row in the
caller's transaction and :func:`owned` finds it again for download.

A file is written before its database row and removed again when that transaction fails, so a
failed upload leaves neither a row without a file nor a file without a row.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated

from fastapi import Depends, File, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUploadFile

from posops.core.auth import Principal
from posops.core.errors import Invalid, NotFound
from posops.core.labels import Condition, Label, catalog_condition, catalog_sentence
from posops.core.models import StoredDocument

UPLOADS = "uploads"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


@dataclass(frozen=True)
class SavedFile:
    """A file just written: its path relative to the var folder, content hash and size."""

    path: str
    sha256: str
    size: int


def display_name(filename: str) -> str:
    """Reduce a client's file name to its last component, without control characters, at most 200 chars."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name
    name = _UNSAFE.sub("_", name).strip() or "upload"
    return name[-200:]


def save(var_dir: Path, folder: str, content: bytes, suffix: str) -> SavedFile:
    """Write ``content`` to a new file under ``var_dir/uploads/folder`` and return where it went."""
    digest = hashlib.sha256(content).hexdigest()
    relative = PurePosixPath(UPLOADS, folder, f"{digest[:24]}-{uuid.uuid4().hex[:12]}{suffix.lower()}")
    target = var_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with partial.open("xb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(target)
    return SavedFile(str(relative), digest, len(content))


@contextmanager
def kept_only_if_committed(var_dir: Path, saved: SavedFile) -> Iterator[None]:
    """Remove the saved file again when the block (the transaction recording it) fails."""
    try:
        yield
    except BaseException:
        (var_dir / saved.path).unlink(missing_ok=True)
        raise


def accepted_name(filename: str, content_type: str, content: bytes) -> str:
    """The file name to keep for an upload, or Invalid("file", why) when its type, size or content is refused."""
    shown = display_name(filename)
    problem = check_upload(shown, content_type, len(content), content[:16])
    if problem is not None:
        raise Invalid("file", Label(problem.zh, problem.en))
    return shown


def record(session: Session, principal: Principal, owner_type: str, owner_id: int, kind: str, filename: str,
           content_type: str, saved: SavedFile) -> StoredDocument:
    """Add the row of a saved upload to the caller's transaction (flushed, so it has its id)."""
    document = StoredDocument(owner_type=owner_type, owner_id=owner_id, kind=kind, filename=filename,
                              content_type=content_type.split(";")[0].strip().lower(), size_bytes=saved.size,
                              sha256=saved.sha256, path=saved.path, uploaded_by=principal.username,
                              uploaded_by_user_id=principal.user_id)
    session.add(document)
    session.flush()
    return document


def owned(session: Session, owner_type: str, owner_id: int, document_id: int) -> StoredDocument:
    """The document ``document_id`` if it belongs to that owner; NotFound otherwise (never another's file)."""
    document = session.get(StoredDocument, document_id)
    if document is None or document.owner_type != owner_type or document.owner_id != owner_id:
        raise NotFound(key="error.not_found.document")
    return document


def locate(var_dir: Path, relative: str) -> Path:
    """Return the absolute path of a stored file, refusing anything outside the uploads folder."""
    root = (var_dir / UPLOADS).resolve()
    path = (var_dir / relative).resolve()
    if root not in path.parents or not path.is_file():
        raise NotFound(key="error.not_found.document_file")
    return path


@dataclass(frozen=True)
class UploadRules:
    """What an uploaded material may be: content types with their file extensions, and a size limit."""

    extensions: Mapping[str, tuple[str, ...]]
    max_bytes: int



UPLOAD_RULES = UploadRules(
    extensions={
        "application/pdf": (".pdf",),
        "image/jpeg": (".jpg", ".jpeg"),
        "image/png": (".png",),
    },
    max_bytes=10 * 1024 * 1024,
)
"""Scans and phone photos of documents: PDF, JPEG or PNG, at most 10 MiB."""



_MAGIC: Mapping[str, bytes] = {
    "application/pdf": b"%PDF-",
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
}



_CONDITION = "upload.condition."


def check_upload(
    filename: str, content_type: str, size: int, head: bytes | None = None, rules: UploadRules = UPLOAD_RULES
) -> Condition | None:
    """Return why an upload is refused (code, zh-CN, English), or ``None`` when it is acceptable.

    ``head`` is the start of the file (a few bytes suffice); when given, it must match the
    declared type, so a renamed file is refused.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    limit_mib = rules.max_bytes / (1024 * 1024)
    if size <= 0:
        return catalog_condition(_CONDITION, "upload_empty")
    if size > rules.max_bytes:
        return catalog_condition(_CONDITION, "upload_too_large", str(size), limit_mib=limit_mib)
    if kind not in rules.extensions:
        return catalog_condition(_CONDITION, "upload_type_not_allowed", kind)
    name = PureWindowsPath(PurePosixPath(filename).name).name
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in rules.extensions[kind]:
        extension = Label(suffix, suffix) if suffix else catalog_sentence("upload.no_extension")
        return catalog_condition(_CONDITION, "upload_extension_mismatch", suffix, extension=extension, kind=kind)
    magic = _MAGIC.get(kind)
    if head is not None and magic is not None and not head.startswith(magic):
        return catalog_condition(_CONDITION, "upload_content_mismatch", kind, kind=kind)
    return None


class DocumentOut(BaseModel):
    """An uploaded document (its file is downloaded separately)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


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
UPLOAD_FIELD_PREFIX = "file_"
"""A console form that uploads several documents names each file field ``file_<what it is>``."""


async def read_uploads(request: Request) -> dict[str, Upload]:
    """Every file chosen in a multipart console form, by what it is (``file_bank_account`` → ``bank_account``)."""
    form = await request.form()
    uploads = {}
    for name, value in form.multi_items():
        if name.startswith(UPLOAD_FIELD_PREFIX) and isinstance(value, StarletteUploadFile) and value.filename:
            content = await value.read(UPLOAD_RULES.max_bytes + 1)
            uploads[name.removeprefix(UPLOAD_FIELD_PREFIX)] = Upload(
                value.filename, value.content_type or "application/octet-stream", content)
    return uploads


UploadsDep = Annotated[dict[str, Upload], Depends(read_uploads)]



def download(path: Path, document: DocumentOut) -> FileResponse:
    """Send a stored document as an attachment, never to be sniffed into another type."""
    return FileResponse(path, media_type=document.content_type, filename=document.filename,
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
