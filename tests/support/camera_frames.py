"""A fake phone camera for browser tests: what a member of staff points it at, drawn as one
still frame and written as the YUV4MPEG2 (.y4m) file chromium plays as its camera
(`--use-fake-device-for-media-stream --use-file-for-fake-video-capture=FILE`).

The frame holds the label's own code (Code 128, as on a label's case) above a price label
drawn by the project's renderer, whose EAN-13 is the product's: both codes are in view, as
on a shelf, and each field of the shelf page must read only its own.
"""

from __future__ import annotations

from pathlib import Path

from barcode.codex import Code128
from PIL import Image, ImageDraw

from esl_controller.labels.content import LabelContent, Money, StockInfo
from esl_controller.labels.hardware import load_hardware_models
from esl_controller.labels.render import render_label
from esl_controller.labels.templates import load_templates

FRAME_SIZE = (640, 480)  # a phone camera's default VGA frame
QUIET_MODULES = 10  # Code 128's quiet zone on each side


def code128_image(text: str, module: int = 3, height: int = 90) -> Image.Image:
    """`text` as a Code 128 symbol in whole-pixel modules, quiet zones included ("L")."""
    (pattern,) = Code128(text).build()
    row = ("0" * QUIET_MODULES + pattern + "0" * QUIET_MODULES).encode("ascii")
    bars = Image.frombytes("L", (len(row), 1), row.translate(bytes.maketrans(b"01", b"\xff\x00")))
    return bars.resize((len(row) * module, height), Image.Resampling.NEAREST)


def price_label_image(gtin: str, name: str, model_id: str = "2.9-bwr") -> Image.Image:
    """The price label the renderer draws for a product with `gtin` ("RGB", panel size)."""
    models = load_hardware_models()
    content = LabelContent(
        gtin=gtin,
        name=name,
        brand="",
        price=Money(1150, "RON"),
        locale="ro_RO",
        unit_price=None,
        promo=None,
        stock=StockInfo(level="in_stock", quantity=10, restock_date=None),
        digital_link=f"https://id.gs1.org/01/{gtin.zfill(14)}",
    )
    template = load_templates(models=models)["price"]
    return render_label(template, content, models[model_id]).convert("RGB")


def shelf_frame(label_code: str, gtin: str, name: str) -> Image.Image:
    """One camera frame: the label's Code 128 above the product's price label, on grey."""
    frame = Image.new("RGB", FRAME_SIZE, (200, 200, 200))
    sticker = code128_image(label_code).convert("RGB")
    label = price_label_image(gtin, name)
    label = label.resize((label.width * 2, label.height * 2), Image.Resampling.NEAREST)
    top = 20
    frame.paste(sticker, ((FRAME_SIZE[0] - sticker.width) // 2, top))
    label_top = top + sticker.height + 40
    left = (FRAME_SIZE[0] - label.width) // 2
    ImageDraw.Draw(frame).rectangle(
        (left - 6, label_top - 6, left + label.width + 5, label_top + label.height + 5),
        fill=(40, 40, 40),  # the label's plastic case
    )
    frame.paste(label, (left, label_top))
    if sticker.width > FRAME_SIZE[0] or label_top + label.height > FRAME_SIZE[1]:
        raise ValueError(f"{label_code!r} and its label do not fit a {FRAME_SIZE} frame")
    return frame


def write_y4m(path: Path, image: Image.Image, frames: int = 1) -> Path:
    """`image` as a YUV4MPEG2 file of 4:2:0 frames (chromium loops it as its camera)."""
    width, height = image.size
    if width % 2 or height % 2:
        raise ValueError(f"4:2:0 needs an even width and height, got {width}x{height}")
    y, cb, cr = image.convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = y.tobytes() + b"".join(
        plane.resize(half, Image.Resampling.BOX).tobytes() for plane in (cb, cr)
    )
    header = f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode("ascii")
    path.write_bytes(header + (b"FRAME\n" + planes) * frames)
    return path
