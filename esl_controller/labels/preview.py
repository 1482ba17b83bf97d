"""What a label shows, as an ordinary RGB PNG (for the dashboard and for people).

Pixels are mapped through the hardware model's colour table, so the preview is exactly the
label: same size, display orientation, no smoothing.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import cast

from PIL import Image

from esl_controller.labels.hardware import HardwareModel


def preview_image(image: Image.Image, model: HardwareModel) -> Image.Image:
    """`image` (palette indices, display orientation) as RGB in the model's real colours."""
    if image.mode != "P":
        raise ValueError(f"expected a rendered label (mode P), got mode {image.mode}")
    if image.size != (model.width, model.height):
        raise ValueError(f"image is {image.size}, {model.id} shows {model.width}x{model.height}")
    # One band (mode P), so the extrema are (lowest, highest); Pillow's type covers all modes.
    _, highest = cast(tuple[int, int], image.getextrema())
    used = max(highest, 0)
    if used >= len(model.palette):
        raise ValueError(f"pixel value {used} has no colour on {model.id} ({model.colour_mode})")
    indexed = image.copy()
    indexed.putpalette(model.flat_palette)
    return indexed.convert("RGB")


def preview_png(image: Image.Image, model: HardwareModel) -> bytes:
    buffer = io.BytesIO()
    preview_image(image, model).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def write_preview(path: Path, image: Image.Image, model: HardwareModel) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(preview_png(image, model))
    return path
