"""Keeps uploaded documents on disk under POSOPS_VAR_DIR/uploads: written once, never overwritten.

A file is written before its database row and removed again when that transaction fails, so a
failed upload leaves neither a row without a file nor a file without a row.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from posops.core.errors import NotFound

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


def locate(var_dir: Path, relative: str) -> Path:
    """Return the absolute path of a stored file, refusing anything outside the uploads folder."""
    root = (var_dir / UPLOADS).resolve()
    path = (var_dir / relative).resolve()
    if root not in path.parents or not path.is_file():
        raise NotFound("document file not found")
    return path
