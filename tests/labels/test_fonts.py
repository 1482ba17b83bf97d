from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from esl_controller.labels.fonts import (
    DEFAULT_FONTS_DIR,
    draw_text,
    font_path,
    get_font,
    has_glyph,
    text_bbox,
)

BUNDLED = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansCondensed.ttf",
    "DejaVuSansCondensed-Bold.ttf",
)
NEEDED = (
    "șțăîâȘȚĂÎÂ"  # Romanian
    "ßäöüÄÖÜ"  # German
    "łŁąęśźżćńó"  # Polish
    "őűŐŰ"  # Hungarian
    "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя"  # Cyrillic
    "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩαβγδεζηθικλμνξοπρσςτυφχψωάέήίόύώ"  # Greek
    "€£$₽¥…·\u00a0\u202f%/"
)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_needed_character_has_a_glyph(name: str) -> None:
    font = get_font(name, 20)
    missing = [f"U+{ord(c):04X} {c}" for c in NEEDED if not has_glyph(font, c)]
    assert missing == []


def test_glyph_check_detects_a_missing_glyph() -> None:
    font = get_font("DejaVuSans.ttf", 20)
    assert not has_glyph(font, "一")  # CJK: not in DejaVu, so it would print a box
    assert has_glyph(font, "A")


def test_licence_is_bundled_with_the_fonts() -> None:
    licence = (DEFAULT_FONTS_DIR / "LICENSE-DejaVu.txt").read_text(encoding="utf-8")
    assert "Bitstream" in licence and "Permission is hereby granted" in licence
    for name in BUNDLED:
        assert (DEFAULT_FONTS_DIR / name).is_file()


def test_fonts_are_cached() -> None:
    assert get_font("DejaVuSans.ttf", 17) is get_font("DejaVuSans.ttf", 17)


def test_missing_font_is_named() -> None:
    with pytest.raises(FileNotFoundError, match=r"font 'Missing\.ttf' not found"):
        font_path("Missing.ttf")
    with pytest.raises(FileNotFoundError, match="bare file name"):
        font_path("../fonts/DejaVuSans.ttf")


def test_composed_text_is_freetype_glyphs_at_hinted_advances() -> None:
    """Text is composed from cached glyphs: each must land exactly where FreeType draws it."""
    font = get_font("DejaVuSansCondensed-Bold.ttf", 16)
    text = "Brânză Молоко Ελαιόλαδο 12,49 € jyłQ…"
    reference = Image.new("L", (420, 30), 0)
    reference_draw = ImageDraw.Draw(reference)
    reference_draw.fontmode = "1"
    pen = 2.0
    for char in text:
        reference_draw.text((int(pen + 0.5), 22), char, 255, font, anchor="ls")
        pen += font.getlength(char)
    composed = Image.new("L", (420, 30), 0)
    draw_text(ImageDraw.Draw(composed), 2, 22, text, font, 255)
    assert composed.tobytes() == reference.tobytes()
    assert set(composed.tobytes()) == {0, 255}  # no anti-aliasing grey
    # The measured box (what fitting uses) is exactly the ink.
    left, top, right, bottom = text_bbox(font, text)
    assert composed.getbbox() == (2 + left, 22 + top, 2 + right, 22 + bottom)


def _ink_rows_of(image: Image.Image, columns: range) -> list[bool]:
    return [any(image.getpixel((x, y)) for x in columns) for y in range(image.height)]


@pytest.mark.parametrize("name", BUNDLED)
@pytest.mark.parametrize("size", range(8, 25))
def test_the_dot_of_i_and_j_stands_clear_of_its_stem(name: str, size: int) -> None:
    """At every size labels use, a background row between dot and stem ("lei", not "lel")."""
    font = get_font(name, size)
    for letter in "ijіј":
        image = Image.new("1", (size * 2, size * 2), 0)
        draw_text(ImageDraw.Draw(image), size // 2, size + size // 2, letter, font, 1)
        box = image.getbbox()
        assert box is not None, f"{letter!r} at {size} px drew nothing"
        rows = _ink_rows_of(image, range(box[0], box[2]))[box[1] : box[3]]
        runs = sum(1 for y, ink in enumerate(rows) if ink and (y == 0 or not rows[y - 1]))
        assert runs == 2, f"{letter!r} at {size} px in {name}: {runs} ink runs, not dot and stem"


def test_lei_at_twelve_pixels_reads_lei() -> None:
    """The unit price's 12 px condensed bold "lei": the i has its dot above a blank row."""
    font = get_font("DejaVuSansCondensed-Bold.ttf", 12)
    image = Image.new("1", (40, 20), 0)
    draw_text(ImageDraw.Draw(image), 2, 14, "lei", font, 1)
    pen = 2 + int(text_bbox(font, "le")[2])  # the i starts after "le"'s ink
    i_columns = range(pen, image.getbbox()[2])
    rows = _ink_rows_of(image, i_columns)
    inked = [y for y, ink in enumerate(rows) if ink]
    assert any(not rows[y] for y in range(inked[0], inked[-1])), "dot and stem merge"
