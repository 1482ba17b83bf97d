"""A manager's announcement text as a full-screen PNG slide (players show images, not text).

Pure: text in, PNG bytes out, the same bytes every time (bundled fonts, BASIC layout), so the
same announcement is stored once by content hash.
"""

from __future__ import annotations

import io
import textwrap

from PIL import Image, ImageDraw

from esl_controller.labels.fonts import get_font

MAX_ANNOUNCEMENT_LENGTH = 280
BACKGROUND = (16, 42, 67)
INK = (255, 255, 255)
ACCENT = (255, 196, 0)
FONT = "DejaVuSans-Bold.ttf"


def render_announcement(text: str, width: int = 1920, height: int = 1080) -> bytes:
    """Centre `text` (wrapped, largest size that fits) on a dark slide with an accent bar."""
    lines_text = " ".join(text.split())
    if not lines_text:
        raise ValueError("the announcement text is empty")
    if len(lines_text) > MAX_ANNOUNCEMENT_LENGTH:
        raise ValueError(
            f"the announcement is {len(lines_text)} characters; at most "
            f"{MAX_ANNOUNCEMENT_LENGTH} fit on a screen"
        )
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    bar = max(4, height // 40)
    draw.rectangle((0, 0, width, bar), fill=ACCENT)
    draw.rectangle((0, height - bar, width, height), fill=ACCENT)
    size, lines = _fit(draw, lines_text, width * 0.85, (height - 4 * bar) * 0.85)
    font = get_font(FONT, size)
    line_height = int(size * 1.25)
    top = (height - line_height * len(lines)) // 2
    for index, line in enumerate(lines):
        line_width = draw.textlength(line, font=font)
        draw.text(((width - line_width) / 2, top + index * line_height), line, font=font, fill=INK)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _fit(
    draw: ImageDraw.ImageDraw, text: str, max_width: float, max_height: float
) -> tuple[int, list[str]]:
    """The largest font size (and its line breaks) at which the wrapped text fits the box."""
    size = max(8, int(max_height / 2))
    while size > 8:
        font = get_font(FONT, size)
        average = draw.textlength("n", font=font) or 1
        lines = textwrap.wrap(text, width=max(1, int(max_width / average)))
        fits_width = all(draw.textlength(line, font=font) <= max_width for line in lines)
        if fits_width and len(lines) * size * 1.25 <= max_height:
            return size, lines
        size = int(size * 0.9)
    return 8, textwrap.wrap(text, width=max(1, int(max_width / 5)))
