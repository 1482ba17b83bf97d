"""QR codes for GS1 Digital Link URIs, drawn as whole-pixel modules.

Encoding a QR code in pure Python (segno) costs milliseconds, far more than drawing the rest
of a label, so matrices are cached by URI: a re-render of the same product reuses its code.
"""

from __future__ import annotations

from functools import lru_cache

import segno
from PIL import Image

QUIET_MODULES = 4  # ISO/IEC 18004 quiet zone on every side
ERROR_LEVEL = "m"


@lru_cache(maxsize=8192)
def qr_matrix(uri: str) -> tuple[bytes, ...]:
    """Rows of the QR symbol for `uri`, 1 = dark module, 0 = light; no quiet zone."""
    if not uri:
        raise ValueError("QR code needs a non-empty URI")
    code = segno.make(uri, error=ERROR_LEVEL, micro=False)
    return tuple(bytes(1 if module else 0 for module in row) for row in code.matrix)


def qr_module_px(box_width: int, box_height: int, modules: int) -> int:
    """The largest whole-pixel module size that fits the symbol plus quiet zones in the box."""
    return min(box_width, box_height) // (modules + 2 * QUIET_MODULES)


def qr_image(uri: str, box_width: int, box_height: int, ink: int) -> tuple[Image.Image, int]:
    """The symbol as a "P" image (palette index `ink` on 0) and its module size in pixels.

    The image excludes the quiet zone; the caller centres it in a white box. ValueError when
    the box cannot hold the symbol at one pixel per module.
    """
    rows = qr_matrix(uri)
    size = len(rows)
    module = qr_module_px(box_width, box_height, size)
    if module < 1:
        needed = size + 2 * QUIET_MODULES
        raise ValueError(
            f"QR code for {uri!r} needs {needed}x{needed} px, box is {box_width}x{box_height}"
        )
    ink_rows = b"".join(rows).replace(b"\x01", bytes([ink])) if ink != 1 else b"".join(rows)
    matrix = Image.frombytes("P", (size, size), ink_rows)
    return matrix.resize((size * module, size * module), Image.Resampling.NEAREST), module
