"""Bundled fonts, loaded once per (file, size).

Fonts come from `label_templates/fonts/` (never the system), and Pillow's BASIC layout engine
is used (never libraqm, whose presence and version vary), so a label renders to the same
bytes on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from esl_controller.config import PROJECT_ROOT

DEFAULT_FONTS_DIR = PROJECT_ROOT / "label_templates" / "fonts"

Font = ImageFont.FreeTypeFont


def font_path(name: str, fonts_dir: Path | None = None) -> Path:
    """The bundled font file `name`; FileNotFoundError naming it when it is not there."""
    if not name or Path(name).name != name:
        raise FileNotFoundError(f"font {name!r} must be a bare file name in the fonts directory")
    path = (fonts_dir or DEFAULT_FONTS_DIR) / name
    if not path.is_file():
        raise FileNotFoundError(f"font {name!r} not found")
    return path


@lru_cache(maxsize=1024)
def get_font(name: str, size: int, fonts_dir: Path | None = None) -> Font:
    """A bundled TrueType font at `size` pixels, cached (the renderer asks for it per element)."""
    if size < 4:
        raise ValueError(f"font size must be at least 4 px, got {size}")
    path = font_path(name, fonts_dir)
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


def has_glyph(font: Font, char: str) -> bool:
    """Whether `font` draws `char` itself rather than its .notdef box (Pillow has no cmap API).

    An unassigned private-use code point always renders as .notdef, so a character whose mask
    equals that one is missing. Space-like characters have an empty mask and count as present
    when they have an advance width.
    """
    missing = bytes(font.getmask("\ue000", mode="1"))
    mask = font.getmask(char, mode="1")
    if mask.size[0] == 0 or mask.size[1] == 0:
        return font.getlength(char) > 0
    return bytes(mask) != missing


# ------------------------------------------------------------------------------ glyph cache
#
# FreeType hints and rasterises every glyph of every string it is asked to draw (~5 µs a glyph
# with DejaVu's bytecode hinting), and catalogues reuse the same few hundred characters. So
# text is composed from glyphs rasterised once per (font, character). Pen positions come from
# the hinted advances; the BASIC layout does not kern, so this is what it would draw anyway.


@dataclass(frozen=True, slots=True)
class Glyph:
    stamp: Image.Image | None  # 1-bit ink mask; None for blank glyphs (space)
    left: int  # ink box relative to the pen position on the baseline (top < 0: above it)
    top: int
    right: int
    bottom: int
    advance: float


@lru_cache(maxsize=32768)
def glyph(font: Font, char: str) -> Glyph:
    """`char` rasterised once, cropped to its real ink (metric boxes can be 1 px off).

    A dotted letter whose hinted dot touches its stem (or vanished) is rebuilt, so "lei" at
    12 px never reads "lel": see `_clear_dot`.
    """
    hinted = _rasterise(font, char)
    base = DOTLESS.get(char)
    if base is None or _dot_stands_apart(hinted):
        return hinted
    return _clear_dot(hinted, _rasterise(font, base))


# Letters whose dot sits over a stem, and the same letter without its dot.
DOTLESS = {"i": "ı", "j": "ȷ", "і": "ı", "ј": "ȷ"}  # Latin i j, Cyrillic і ј


def _ink_rows(stamp: Image.Image) -> list[bool]:
    width = stamp.width
    data = stamp.tobytes()
    stride = (width + 7) // 8
    return [any(data[row * stride : (row + 1) * stride]) for row in range(stamp.height)]


def _dot_stands_apart(letter: Glyph) -> bool:
    """Ink, then at least one blank row, then more ink: a dot clear of its stem."""
    if letter.stamp is None:
        return True
    runs = 0
    previous = False
    for inked in _ink_rows(letter.stamp):
        runs += inked and not previous
        previous = inked
    return runs >= 2


def _clear_dot(letter: Glyph, dotless: Glyph) -> Glyph:
    """The dotless letter with a square dot over its stem and one blank row between.

    DejaVu's hinting at 8-13 px merges the dot into the stem (bold 12 px) or drops it
    (condensed 8-9 px); the dot here is as wide as the stem's top, as in the design.
    """
    if dotless.stamp is None:
        return letter
    stem = dotless.stamp
    top_row = [x for x in range(stem.width) if stem.getpixel((x, 0))]
    dot_size = max(1, len(top_row))
    lift = dot_size + 1  # the dot's rows and the blank row under them
    stamp = Image.new("1", (stem.width, stem.height + lift), 0)
    stamp.paste(stem, (0, lift))
    draw = ImageDraw.Draw(stamp)
    draw.rectangle((top_row[0], 0, top_row[-1], dot_size - 1), fill=1)
    return Glyph(
        stamp,
        dotless.left,
        dotless.top - lift,
        dotless.right,
        dotless.bottom,
        letter.advance,
    )


def _rasterise(font: Font, char: str) -> Glyph:
    advance = font.getlength(char)
    # FreeType boxes are whole pixels; Pillow types them (and sizes) as floats for other fonts.
    left, top, right, bottom = (int(edge) for edge in font.getbbox(char, anchor="ls"))
    pad = 2 + int(font.size) // 4
    canvas = Image.new("1", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    draw = ImageDraw.Draw(canvas)
    draw.fontmode = "1"
    draw.text((pad - left, pad - top), char, 1, font, anchor="ls")
    ink = canvas.getbbox()
    if ink is None:
        return Glyph(None, 0, 0, 0, 0, advance)
    origin_x, origin_y = pad - left, pad - top  # where the pen and baseline sit in `canvas`
    return Glyph(
        canvas.crop(ink),
        ink[0] - origin_x,
        ink[1] - origin_y,
        ink[2] - origin_x,
        ink[3] - origin_y,
        advance,
    )


@lru_cache(maxsize=65536)
def text_bbox(font: Font, text: str) -> tuple[int, int, int, int]:
    """Ink box (left, top, right, bottom) of `text` relative to pen start on the baseline.

    An empty or blank text has the box (0, 0, 0, 0).
    """
    pen = 0.0
    left = top = 1 << 30
    right = bottom = -(1 << 30)
    for char in text:
        g = glyph(font, char)
        if g.stamp is not None:
            x = int(pen + 0.5)
            left, right = min(left, x + g.left), max(right, x + g.right)
            top, bottom = min(top, g.top), max(bottom, g.bottom)
        pen += g.advance
    if right < left:
        return 0, 0, 0, 0
    return left, top, right, bottom


def text_advance(font: Font, text: str) -> float:
    """How far the pen moves drawing `text` (the sum of hinted advances)."""
    return sum(glyph(font, char).advance for char in text)


def draw_text(
    draw: ImageDraw.ImageDraw, x: int, baseline: int, text: str, font: Font, ink: int
) -> None:
    """Draw `text` with its pen starting at (x, baseline), every pixel exactly `ink`."""
    pen = float(x)
    for char in text:
        g = glyph(font, char)
        if g.stamp is not None:
            draw.bitmap((int(pen + 0.5) + g.left, baseline + g.top), g.stamp, ink)
        pen += g.advance
