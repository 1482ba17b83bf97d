"""Our rendered label as the JPEG an OpenEPaperLink AP maps back to its inks.

Pure. Uploaded with `dither=0`, the AP maps every pixel to the nearest ink of the tag
type's colour table (makeimage.cpp). So each palette index is painted in exactly the ink
the AP knows (white, black, the tag type's own red or yellow), and the JPEG is written at
full quality without chroma subsampling: its small errors never move a pixel closer to
another ink (tests/esl/drivers/oepl count the mismatched pixels per panel).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from esl_controller.esl.drivers.oepl.tagtypes import TagTypeMatch
from esl_controller.labels.planes import PackedImage

JPEG_QUALITY = 100
WHITE_RGB, BLACK_RGB = (255, 255, 255), (0, 0, 0)


class PictureError(ValueError):
    pass


def jpeg_for(image: PackedImage, match: TagTypeMatch) -> bytes:
    """The upload for one label: display orientation turned as the tag type wants."""
    want = (match.height, match.width) if match.quarter_turn else (match.width, match.height)
    if (image.width, image.height) != want:
        raise PictureError(
            f"image is {image.width}x{image.height}, tag type {match.hw_type:02X} "
            f"wants {want[0]}x{want[1]}"
        )
    indices = np.asarray(image.to_image())
    inks = np.array([WHITE_RGB, BLACK_RGB, match.accent_rgb or BLACK_RGB], dtype=np.uint8)
    picture = Image.fromarray(inks[indices], mode="RGB")
    if match.quarter_turn:
        picture = picture.transpose(Image.Transpose.ROTATE_270)  # 90 degrees clockwise
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    return out.getvalue()
