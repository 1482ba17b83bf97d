"""`GET /media/<sha256>`: the files signage players show, by content hash.

No login: players are screens, not users. That exposes nothing guessable: a file is only
reachable by the sha256 of its bytes, which nobody can derive without already holding the
file (or the playlist message naming it), and the route serves only `media_dir`, never
a path. The hash never changes meaning, so the response may be cached forever.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, send_file
from werkzeug.exceptions import NotFound

from esl_controller.models import MediaAsset
from esl_controller.signage.media import is_sha256, media_path
from esl_controller.web.database import get_session, get_settings

IMMUTABLE_CACHE = "public, max-age=31536000, immutable"

bp = Blueprint("media", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/media/<sha256>")
def media(sha256: str) -> Any:
    if not is_sha256(sha256):
        raise NotFound("media are addressed by the sha256 of their bytes (64 hex digits)")
    path = media_path(get_settings(), sha256)
    if not path.is_file():
        raise NotFound(f"no media {sha256}")
    asset = get_session().get(MediaAsset, sha256)
    # The file is written before its row commits; a player asking in between still gets it.
    content_type = asset.content_type if asset else _sniff_content_type(path)
    # conditional=True answers If-None-Match with 304 and Range requests (video seeking)
    # with 206, against the ETag we set: the hash itself.
    response = send_file(path.resolve(), mimetype=content_type, conditional=True, etag=sha256)
    response.headers["Cache-Control"] = IMMUTABLE_CACHE
    return response


_MAGIC = (
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
)


def _sniff_content_type(path: Path) -> str:
    with path.open("rb") as file:
        head = file.read(16)
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    return "application/octet-stream"
