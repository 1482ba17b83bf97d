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
from esl_controller.labels.render import display_image

JPEG_QUALITY = 100
WHITE_RGB, BLACK_RGB = (255, 255, 255), (0, 0, 0)


class PictureError(ValueError):
    pass


def jpeg_for(image: PackedImage, match: TagTypeMatch) -> bytes:
    """The upload for one label. The outbox keeps planes in our model's panel orientation;
    they are turned back to display orientation, then as the tag type wants."""
    shown = image.to_image()
    if match.model is not None:
        try:
            shown = display_image(shown, match.model)
        except ValueError as exc:
            raise PictureError(f"tag type {match.hw_type:02X}: {exc}") from None
    want = (match.height, match.width) if match.quarter_turn else (match.width, match.height)
    if shown.size != want:
        raise PictureError(
            f"image is {shown.width}x{shown.height}, tag type {match.hw_type:02X} "
            f"wants {want[0]}x{want[1]}"
        )
    indices = np.asarray(shown)
    inks = np.array([WHITE_RGB, BLACK_RGB, match.accent_rgb or BLACK_RGB], dtype=np.uint8)
    picture = Image.fromarray(inks[indices], mode="RGB")
    if match.quarter_turn:
        picture = picture.transpose(Image.Transpose.ROTATE_270)  # 90 degrees clockwise
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    return out.getvalue()
