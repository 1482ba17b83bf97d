"""Small previews of signage images for the playlist editor's item list and media picker.

Videos get no thumbnail: a poster frame would need a video decoder we do not ship, and the
editor shows a video icon instead.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable

from PIL import Image, UnidentifiedImageError

THUMBNAIL_BOX = (160, 90)  # a 16:9 screen, small enough for a list row on a phone
MAX_SOURCE_PIXELS = 40_000_000  # a 50 MB upload may not expand into gigabytes in memory


class ThumbnailError(ValueError):
    """The bytes are not an image we can preview."""


def _no_preview() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", THUMBNAIL_BOX, (208, 215, 222)).save(out, format="PNG")
    return out.getvalue()


NO_PREVIEW = _no_preview()  # shown for a stored file that cannot be decoded


def thumbnail_png(data: bytes) -> bytes:
    """The image scaled to fit THUMBNAIL_BOX (never enlarged), as PNG bytes."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_SOURCE_PIXELS:
                raise ThumbnailError("the image is too large to preview")
            image.draft("RGB", THUMBNAIL_BOX)  # JPEG decodes at a reduced scale: much faster
            preview = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ThumbnailError("not an image that can be previewed") from exc
    preview.thumbnail(THUMBNAIL_BOX)
    out = io.BytesIO()
    preview.save(out, format="PNG", optimize=True)
    return out.getvalue()


class ThumbnailCache:
    """The last few hundred thumbnails by key (a content hash, or a path with its mtime), so
    a list page does not decode every image on every load."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], bytes]) -> bytes:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        png = thumbnail_png(load())
        with self._lock:
            self._entries[key] = png
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return png
