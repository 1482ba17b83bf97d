"""Media for signage players, stored on disk by content hash.

A file's name is the sha256 of its bytes, so storing the same bytes twice changes nothing,
a stored file never changes (players and browsers may cache it forever) and the served URL
reveals nothing that is not already known to whoever holds the hash.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.models import MediaAsset

MAX_MEDIA_BYTES = 50 * 1024 * 1024
ALLOWED_CONTENT_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/webp", "video/mp4", "video/webm"}
)
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
MAX_FILENAME_LENGTH = 255


class MediaError(ValueError):
    """The upload cannot be stored; the message says why."""


def is_sha256(text: str) -> bool:
    return bool(SHA256_PATTERN.match(text))


def media_path(settings: Settings, sha256: str) -> Path:
    """Where the asset with this hash lives; refuses anything that is not a hash, so a
    caller can never be steered outside `media_dir`."""
    if not is_sha256(sha256):
        raise MediaError(f"not a sha256 hex digest: {sha256[:80]!r}")
    return settings.media_dir / sha256


def validate_upload(data: bytes, filename: str, content_type: str) -> str:
    """Check an upload; return its content type without parameters (e.g. `; charset`)."""
    base_type = content_type.split(";", 1)[0].strip().lower()
    if base_type not in ALLOWED_CONTENT_TYPES:
        allowed = ", ".join(sorted(ALLOWED_CONTENT_TYPES))
        raise MediaError(f"content type {content_type!r} is not allowed (allowed: {allowed})")
    if not data:
        raise MediaError("the file is empty")
    if len(data) > MAX_MEDIA_BYTES:
        raise MediaError(
            f"the file is {len(data):,} bytes; the limit is {MAX_MEDIA_BYTES:,} bytes "
            f"({MAX_MEDIA_BYTES / 1_048_576:g} MB)"
        )
    if not filename.strip():
        raise MediaError("the file has no name")
    return base_type


def store_media(
    settings: Settings, data: bytes, filename: str, content_type: str, session: Session
) -> MediaAsset:
    """Write `media_dir/<sha256>` (atomically) and its MediaAsset row; idempotent.

    Uploading bytes that are already stored returns the existing row unchanged. The row is
    added to `session` (flushed, not committed): the caller owns the transaction.
    """
    base_type = validate_upload(data, filename, content_type)
    sha256 = hashlib.sha256(data).hexdigest()
    _write_once(media_path(settings, sha256), data)
    existing = session.get(MediaAsset, sha256)
    if existing is not None:
        return existing
    asset = MediaAsset(
        sha256=sha256,
        filename=_clean_filename(filename),
        content_type=base_type,
        size=len(data),
    )
    session.add(asset)
    session.flush()
    return asset


def _write_once(path: Path, data: bytes) -> None:
    """Write via a temp file and rename, so a reader never sees half a file; a file that is
    already there (same hash, same bytes) is left alone."""
    if path.exists() and path.stat().st_size == len(data):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _clean_filename(filename: str) -> str:
    """Only the base name, for display: a browser may send a full client-side path."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:MAX_FILENAME_LENGTH] or "upload"
