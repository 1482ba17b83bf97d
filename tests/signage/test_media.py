"""store_media: content-addressed files on disk plus their MediaAsset row."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.models import MediaAsset
from esl_controller.signage import media
from esl_controller.signage.media import MediaError, media_path, store_media

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"pixels" * 100


def test_stores_the_file_under_its_sha256(settings: Settings, session: Session):
    asset = store_media(settings, PNG_BYTES, "welcome.png", "image/png", session)
    sha = hashlib.sha256(PNG_BYTES).hexdigest()
    assert asset.sha256 == sha
    assert (asset.filename, asset.content_type, asset.size) == ("welcome.png", "image/png", 608)
    assert (settings.media_dir / sha).read_bytes() == PNG_BYTES
    assert not [p for p in settings.media_dir.iterdir() if p.name.startswith(".")]


def test_storing_the_same_bytes_twice_changes_nothing(settings: Settings, session: Session):
    first = store_media(settings, PNG_BYTES, "a.png", "image/png", session)
    session.commit()
    second = store_media(settings, PNG_BYTES, "b.png", "image/png; charset=binary", session)
    session.commit()
    assert second.sha256 == first.sha256
    assert second.filename == "a.png"  # the first upload's row stays
    assert session.scalar(select(func.count()).select_from(MediaAsset)) == 1
    assert len(list(settings.media_dir.iterdir())) == 1


@pytest.mark.parametrize("content_type", ["image/gif", "text/html", "application/pdf", ""])
def test_refuses_other_content_types(settings: Settings, session: Session, content_type: str):
    with pytest.raises(MediaError, match="is not allowed"):
        store_media(settings, PNG_BYTES, "x", content_type, session)
    assert not settings.media_dir.exists()


def test_refuses_empty_and_oversized_files(
    settings: Settings, session: Session, monkeypatch: pytest.MonkeyPatch
):
    with pytest.raises(MediaError, match="empty"):
        store_media(settings, b"", "x.png", "image/png", session)
    monkeypatch.setattr(media, "MAX_MEDIA_BYTES", 100)
    with pytest.raises(MediaError, match="608 bytes; the limit is 100 bytes"):
        store_media(settings, PNG_BYTES, "x.png", "image/png", session)


def test_keeps_only_the_base_name_of_a_client_path(settings: Settings, session: Session):
    asset = store_media(settings, b"webm", "C:\\Users\\me\\clip.webm", "video/webm", session)
    assert asset.filename == "clip.webm"


def test_media_path_refuses_anything_but_a_hash(settings: Settings):
    with pytest.raises(MediaError, match="not a sha256"):
        media_path(settings, "../../etc/passwd")
    assert media_path(settings, "a" * 64) == settings.media_dir / ("a" * 64)
