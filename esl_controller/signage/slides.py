"""A product's promo slide for signage screens, drawn from the same content as its shelf label.

Pure: `LabelContent` in, PNG bytes out. Its words and numbers are those of the HTML slide
(`signage.slide_content`: the label's price formatting and its EU price-reduction facts,
struck regular price, the lowest price of the 30 days before, or the note saying why it is
unknown), so a screen and the shelf label never disagree. Bundled fonts and Pillow's BASIC
layout give the same bytes everywhere, so an unchanged slide keeps its content hash and
players keep their cached copy.
"""

from __future__ import annotations

import io
import textwrap

from PIL import Image, ImageDraw

from esl_controller.labels.content import LabelContent
from esl_controller.labels.fonts import Font, get_font
from esl_controller.signage.slide_content import SlideContent, build_slide_content

BACKGROUND = (250, 248, 243)
INK = (28, 28, 30)
MUTED = (95, 95, 102)
PROMO_RED = (200, 16, 46)
PROMO_INK = (255, 255, 255)
BOLD = "DejaVuSans-Bold.ttf"
REGULAR = "DejaVuSans.ttf"
CONDENSED_BOLD = "DejaVuSansCondensed-Bold.ttf"
MIN_SIDE = 200
MAX_SIDE = 7680


def render_promo_slide(content: LabelContent, width: int = 1920, height: int = 1080) -> bytes:
    """The product's slide: name, brand and size, big price, unit price; on promotion a red
    band, the struck regular price and the prior-price line (or its note)."""
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise ValueError(
            f"slide size {width}x{height} is outside {MIN_SIDE}..{MAX_SIDE} px per side"
        )
    slide = build_slide_content(content)
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    unit = height / 1080  # layout is designed at 1080 p and scaled
    margin = int(72 * unit)
    top = margin
    if slide.promo is not None:
        top = _draw_promo_band(draw, slide.promo.band, width, unit)
    _draw_product(draw, slide, margin, top + int(40 * unit), width - 2 * margin, unit)
    _draw_prices(draw, slide, margin, width - margin, height - margin, unit)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _font(name: str, size: float) -> Font:
    return get_font(name, max(8, int(size)))


def _draw_promo_band(draw: ImageDraw.ImageDraw, word: str, width: int, unit: float) -> int:
    band = int(150 * unit)
    draw.rectangle((0, 0, width, band), fill=PROMO_RED)
    font = _font(BOLD, 96 * unit)
    draw.text((int(72 * unit), band // 2), word, font=font, fill=PROMO_INK, anchor="lm")
    return band


def _draw_product(
    draw: ImageDraw.ImageDraw,
    content: SlideContent,
    left: int,
    top: int,
    max_width: int,
    unit: float,
) -> None:
    y = top
    if content.brand:
        brand_font = _font(REGULAR, 48 * unit)
        draw.text((left, y), content.brand, font=brand_font, fill=MUTED)
        y += int(64 * unit)
    name_size, lines = _wrap_to_fit(draw, content.name, max_width, 110 * unit, max_lines=2)
    name_font = _font(BOLD, name_size)
    for line in lines:
        draw.text((left, y), line, font=name_font, fill=INK)
        y += int(name_size * 1.2)
    if content.size:
        draw.text(
            (left, y + int(8 * unit)), content.size, font=_font(REGULAR, 48 * unit), fill=MUTED
        )


def _draw_prices(
    draw: ImageDraw.ImageDraw,
    content: SlideContent,
    left: int,
    right: int,
    bottom: int,
    unit: float,
) -> None:
    """The price block sits bottom right; facts about it (unit price, prior price) bottom left."""
    colour = PROMO_RED if content.promo else INK
    price_text = content.price.text
    price_size, _ = _wrap_to_fit(draw, price_text, (right - left) * 0.6, 300 * unit, max_lines=1)
    draw.text((right, bottom), price_text, font=_font(BOLD, price_size), fill=colour, anchor="rd")
    facts: list[tuple[str, Font, tuple[int, int, int], bool]] = []  # text, font, ink, struck
    if content.promo is not None:
        facts.append((content.promo.was.text, _font(BOLD, 72 * unit), MUTED, True))
        if content.promo.prior:
            facts.append((content.promo.prior, _font(CONDENSED_BOLD, 40 * unit), INK, False))
    if content.unit_price is not None:
        facts.append((content.unit_price, _font(REGULAR, 48 * unit), INK, False))
    y = bottom
    for text, font, fill, struck in reversed(facts):
        draw.text((left, y), text, font=font, fill=fill, anchor="ld")
        if struck:
            _strike(draw, (left, y), text, font)
        y -= int(font.size * 1.35)


def _strike(draw: ImageDraw.ImageDraw, origin: tuple[int, int], text: str, font: Font) -> None:
    """A line through the middle of the regular price's digits, as on the label."""
    left, top, right, bottom = draw.textbbox(origin, text, font=font, anchor="ld")
    middle = (top + bottom) // 2
    draw.line((left - 4, middle, right + 4, middle), fill=PROMO_RED, width=max(3, font.size // 12))


def _wrap_to_fit(
    draw: ImageDraw.ImageDraw, text: str, max_width: float, start_size: float, max_lines: int
) -> tuple[int, list[str]]:
    """The largest size (from `start_size` down) at which `text` fits in `max_lines` lines."""
    size = int(start_size)
    while size > 12:
        font = _font(BOLD, size)
        average = draw.textlength("n", font=font) or 1
        lines = textwrap.wrap(text, width=max(1, int(max_width / average))) or [text]
        if len(lines) <= max_lines and all(
            draw.textlength(line, font=font) <= max_width for line in lines
        ):
            return size, lines
        size = int(size * 0.92)
    lines = textwrap.wrap(text, width=max(1, int(max_width / 7))) or [text]
    return 12, lines[:max_lines]
