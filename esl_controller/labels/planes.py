"""A rendered label as 1-bit planes: what the outbox keeps and every driver starts from.

Pure: no network, no database. Each driver builds its own wire form from a
`PackedImage` when it sends (our MQTT frame adds a header; an OpenEPaperLink access
point wants a picture file), so the outbox never holds one driver's bytes.

Layout: the black plane, then (BWR/BWY) the accent plane; each row padded to a whole
byte, most significant bit first. An accent pixel sets only its accent bit.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops

COLOUR_MODES = ("BW", "BWR", "BWY")  # codes 0, 1, 2 where a wire form needs a number
WHITE, BLACK, ACCENT = 0, 1, 2
MAX_DIMENSION = 4096
# Level 3 packs a label to within ~20% of level 6 in a third of the time; encoding
# throughput during a full-store re-price matters more than the stored bytes.
ZLIB_LEVEL = 3
_HIGHEST_VALUE = {"BW": BLACK, "BWR": ACCENT, "BWY": ACCENT}
ACCENT_RGB = {"BW": None, "BWR": (200, 0, 0), "BWY": (230, 190, 0)}
_BIT_TO_BLACK = [BLACK if value else WHITE for value in range(256)]
_BIT_TO_ACCENT = [ACCENT if value else WHITE for value in range(256)]


@dataclass(frozen=True)
class PackedImage:
    """A label image packed to planes and compressed (zlib), with its content hash."""

    width: int
    height: int
    colour_mode: str
    crc32: int  # of the raw planes
    compressed: bytes
    content_hash: str

    def planes(self) -> bytes:
        return zlib.decompress(self.compressed)

    def to_image(self) -> Image.Image:
        """Mode "P": 0 white, 1 black, 2 accent, with a palette for previews."""
        return planes_to_image(self.width, self.height, self.colour_mode, self.planes())


def checked_mode(colour_mode: str) -> str:
    mode = colour_mode.upper() if isinstance(colour_mode, str) else colour_mode
    if mode not in COLOUR_MODES:
        raise ValueError(
            f"colour mode must be one of {', '.join(COLOUR_MODES)}, got {colour_mode!r}"
        )
    return mode


def mode_code(colour_mode: str) -> int:
    return COLOUR_MODES.index(checked_mode(colour_mode))


def palette(colour_mode: str) -> list[int]:
    """Flat RGB palette for index 0 white, 1 black, 2 accent (for previews and PNGs)."""
    accent = ACCENT_RGB[checked_mode(colour_mode)] or (255, 255, 255)
    return [255, 255, 255, 0, 0, 0, *accent]


def plane_size(width: int, height: int) -> int:
    """Bytes in one 1-bit plane: every row padded to a whole byte."""
    return (width + 7) // 8 * height


def planes_size(width: int, height: int, colour_mode: str) -> int:
    return plane_size(width, height) * (1 if checked_mode(colour_mode) == "BW" else 2)


def content_hash(width: int, height: int, colour_mode: str, planes: bytes) -> str:
    """What the label shows, independent of sequence number and compression."""
    digest = hashlib.sha256(struct.pack(">HHB", width, height, mode_code(colour_mode)))
    digest.update(planes)
    return digest.hexdigest()


def check_dimensions(width: int, height: int, error: type[Exception] = ValueError) -> None:
    if not (0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION):
        raise error(f"image is {width}x{height}; each side must be 1..{MAX_DIMENSION} pixels")


def pack_image(image: Image.Image, colour_mode: str) -> PackedImage:
    """Pack a mode "P" image (0 white, 1 black, 2 accent) into compressed 1-bit planes.

    The expensive half of sending a label, done once per rendered image (in the render
    pool); a driver later adds only its own framing.
    """
    mode = checked_mode(colour_mode)
    if image.mode not in ("P", "L"):
        raise ValueError(f"image must be mode 'P' with values 0/1/2, got mode {image.mode!r}")
    width, height = image.size
    check_dimensions(width, height)
    pixels = np.asarray(image)  # height x width palette indices, no copy
    highest = int(pixels.max()) if pixels.size else 0
    if highest > _HIGHEST_VALUE[mode]:
        raise ValueError(
            f"pixel value {highest} is not valid for a {mode} label "
            f"(allowed: 0 white, 1 black{', 2 accent' if mode != 'BW' else ''})"
        )
    # packbits pads every row to a whole byte, MSB first: exactly the plane layout.
    planes = np.packbits(pixels == BLACK, axis=1).tobytes()
    if mode != "BW":
        planes += np.packbits(pixels == ACCENT, axis=1).tobytes()
    return PackedImage(
        width=width,
        height=height,
        colour_mode=mode,
        crc32=zlib.crc32(planes),
        compressed=zlib.compress(planes, ZLIB_LEVEL),
        content_hash=content_hash(width, height, mode, planes),
    )


def planes_to_image(width: int, height: int, colour_mode: str, planes: bytes) -> Image.Image:
    """Mode "P" image from raw planes (the inverse of `pack_image`)."""
    mode = checked_mode(colour_mode)
    size = (width, height)
    one = plane_size(width, height)
    image = Image.frombytes("1", size, planes[:one]).point(_BIT_TO_BLACK, "L")
    if mode != "BW":
        accent_image = Image.frombytes("1", size, planes[one:]).point(_BIT_TO_ACCENT, "L")
        # Planes never overlap (an accent pixel sets only its accent bit): max merges them.
        image = ImageChops.lighter(image, accent_image)
    indexed = Image.frombytes("P", size, image.tobytes())
    indexed.putpalette(palette(mode))
    return indexed


def planes_overlap(planes: bytes, size: int) -> bool:
    black = int.from_bytes(planes[:size], "big")
    accent = int.from_bytes(planes[size:], "big")
    return bool(black & accent)
