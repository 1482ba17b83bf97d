"""The renderer: (template, content, hardware model) -> the label's image. Pure.

The result is a "P" image in display orientation whose pixels are palette indices 0 white,
1 black and 2 accent (never 2 on a BW panel). Text is drawn without anti-aliasing (e-paper
has no grey) with bundled fonts and Pillow's BASIC layout, so the same inputs give the same
bytes on every machine. Only images and logos are dithered; text and barcodes never are.

Speed: everything that does not depend on the content (static text, bands, lines, logos) is
drawn once per (layout, model) into a cached background that each label copies; fonts and
text measurements are cached too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw

from esl_controller.labels import barcode
from esl_controller.labels.content import LabelContent, Money
from esl_controller.labels.fonts import Font, draw_text, get_font, text_advance, text_bbox
from esl_controller.labels.hardware import BLACK, WHITE, HardwareModel
from esl_controller.labels.price_format import (
    NBSP,
    PriceParts,
    format_money,
    money_text,
    unit_price_text,
)
from esl_controller.labels.qr import QUIET_MODULES, qr_image
from esl_controller.labels.templates import Box, Element, LabelTemplate, Layout
from esl_controller.labels.words import LabelWords, label_words

ELLIPSIS = "…"
_BREAKABLE_SPACE = re.compile(r"[ \t\r\n]+")
STOCK_LEVELS = ("in_stock", "low", "out")


class RenderError(ValueError):
    """The content cannot be drawn with this template on this model; says why."""


def render_label(
    template: LabelTemplate,
    content: LabelContent,
    model: HardwareModel,
    words: LabelWords | None = None,
) -> Image.Image:
    """The label as a "P" image of `model.width` x `model.height`, palette from the model.

    The template's words print in `words` (by default the catalogue of the content's locale).
    """
    words = words or label_words(content.locale)
    layout = template.layout_for(model)
    image = static_layer(layout, model, words).copy()
    canvas = _Canvas(image, layout, model, words)
    for element in layout.dynamic_elements:
        _DRAWERS[element.type](canvas, element, content)
    return image


def panel_image(image: Image.Image, model: HardwareModel) -> Image.Image:
    """`image` turned from display orientation to the panel's native scan orientation."""
    if image.size != (model.width, model.height):
        raise ValueError(f"image is {image.size}, {model.id} shows {model.width}x{model.height}")
    turn = _CLOCKWISE[model.rotation]
    return image.copy() if turn is None else image.transpose(turn)


def display_image(panel: Image.Image, model: HardwareModel) -> Image.Image:
    """The inverse of `panel_image`: a panel-oriented image turned back for display."""
    turn = _CLOCKWISE[(360 - model.rotation) % 360]
    image = panel.copy() if turn is None else panel.transpose(turn)
    if image.size != (model.width, model.height):
        width, height = (model.height, model.width) if turn else (model.width, model.height)
        raise ValueError(
            f"image is {panel.width}x{panel.height}; a {model.id} panel is {width}x{height}"
        )
    return image


_CLOCKWISE = {
    0: None,
    90: Image.Transpose.ROTATE_270,  # Pillow rotates counter-clockwise
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


@lru_cache(maxsize=256)
def static_layer(
    layout: Layout, model: HardwareModel, words: LabelWords | None = None
) -> Image.Image:
    """Background with every content-independent element drawn. Callers copy, never draw.

    Static words ("PROMO") print in `words` (English by default).
    """
    if (layout.width, layout.height) != (model.width, model.height):
        raise RenderError(f"layout {layout.size_key} does not fit {model.id} ({model.size_key})")
    image = Image.new("P", (model.width, model.height), WHITE)
    image.putpalette(model.flat_palette)
    canvas = _Canvas(image, layout, model, words)
    for element in layout.static_elements:
        _STATIC_DRAWERS[element.type](canvas, element)
    return image


class _Canvas:
    """One image being drawn, with what the drawers need to turn roles into ink."""

    def __init__(
        self,
        image: Image.Image,
        layout: Layout,
        model: HardwareModel,
        words: LabelWords | None = None,
    ) -> None:
        self.image = image
        self.draw = ImageDraw.Draw(image)
        self.draw.fontmode = "1"  # no anti-aliasing: e-paper pixels are ink or paper
        self.layout = layout
        self.model = model
        self.words = words or label_words("en")

    def ink(self, colour: str) -> int:
        if colour == "black":
            return BLACK
        if colour == "white":
            return WHITE
        if colour == "accent":
            return self.model.accent_index
        return self.model.on_accent_index  # on_accent

    def text_ink(self, colour: str) -> int:
        """Ink for glyphs: a light accent (yellow) is unreadable as text on white, so black."""
        if colour == "accent" and self.model.on_accent_index == BLACK:
            return BLACK
        return self.ink(colour)

    def font(self, name: str, size: int) -> Font:
        return get_font(name, size, self.layout.fonts_dir)


# ------------------------------------------------------------------------ text measuring


def _bbox(font: Font, text: str) -> tuple[int, int, int, int]:
    """Ink box relative to the pen start on the baseline (Pillow's "ls" anchor)."""
    return text_bbox(font, text)


def _extent(font: Font, text: str) -> tuple[int, int]:
    """(left overhang, ink width) of `text`: draw at x + overhang to keep ink right of x."""
    left, _, right, _ = text_bbox(font, text)
    overhang = min(left, 0)
    return -overhang, right - overhang


def _blit(
    canvas: _Canvas, xy: tuple[int, int], text: str, font: Font, ink: int, anchor: str = "la"
) -> None:
    """Draw `text` at `xy`: its ascender line ("la") or its baseline ("ls") at y."""
    x, y = xy
    baseline = y + _metrics(font)[0] if anchor == "la" else y
    draw_text(canvas.draw, x, baseline, text, font, ink)


@lru_cache(maxsize=512)
def _metrics(font: Font) -> tuple[int, int]:
    return font.getmetrics()


@lru_cache(maxsize=512)
def _line_height(font: Font) -> int:
    ascent, descent = _metrics(font)
    return ascent + descent


@dataclass(frozen=True)
class FittedText:
    font: Font
    lines: tuple[str, ...]
    line_height: int


def fit_text(
    text: str, element: Element, canvas: _Canvas, max_lines: int | None = None
) -> FittedText:
    """Largest font size at which `text` fits the element's box.

    Tries one line from `size` down to `min_size`, then wrapping onto up to `max_lines`
    lines, then cuts the text at `min_size` and ends it with an ellipsis. Never clips a glyph.
    """
    box, lines_allowed = element.box, max_lines or element.max_lines
    text = _BREAKABLE_SPACE.sub(" ", text).strip(" ")  # NBSP stays: it binds "8,99 lei"
    big = canvas.font(element.font, element.size)
    full_width = _extent(big, text)[1]
    # Ink width scales about linearly with size, so skip sizes that cannot possibly fit.
    estimate = element.size * box.w // max(full_width, 1) + 1
    for size in range(min(element.size, estimate), element.min_size - 1, -1):
        font = canvas.font(element.font, size)
        if _line_height(font) <= box.h and _extent(font, text)[1] <= box.w:
            return FittedText(font, (text,), _line_height(font))
    if lines_allowed > 1:
        for size in range(element.size, element.min_size - 1, -1):
            font = canvas.font(element.font, size)
            fit_lines = min(lines_allowed, box.h // _line_height(font))
            if fit_lines < 2 or full_width * size / element.size > fit_lines * box.w * 1.05:
                continue
            lines = _wrap(text, font, box.w)
            if len(lines) <= fit_lines:
                return FittedText(font, tuple(lines), _line_height(font))
    font = canvas.font(element.font, element.min_size)
    fit_lines = max(1, min(lines_allowed, box.h // _line_height(font)))
    lines = _wrap(text, font, box.w)
    if len(lines) > fit_lines:
        lines = [
            *lines[: fit_lines - 1],
            _with_ellipsis(" ".join(lines[fit_lines - 1 :]), font, box.w),
        ]
    return FittedText(font, tuple(lines), _line_height(font))


def _wrap(text: str, font: Font, width: int) -> list[str]:
    """Greedy word wrap; a word wider than the box is broken between characters.

    Decides with cached word advances (words repeat across a catalogue), then checks each
    line's real ink width; only if a line's side bearings overflow does it wrap exactly.
    """
    space = text_advance(font, " ")
    lines: list[str] = []
    current, current_width = "", 0.0
    for word in text.split(" "):
        word_width = text_advance(font, word)
        if current and current_width + space + word_width <= width:
            current, current_width = f"{current} {word}", current_width + space + word_width
            continue
        if current:
            lines.append(current)
        current, current_width = word, word_width
    if current:
        lines.append(current)
    if all(_extent(font, line)[1] <= width for line in lines):
        return lines
    return _wrap_exactly(text, font, width)


def _wrap_exactly(text: str, font: Font, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if _extent(font, candidate)[1] <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while _extent(font, current)[1] > width and len(current) > 1:
            cut = _longest_prefix(current, font, width)
            lines.append(current[:cut])
            current = current[cut:]
    if current:
        lines.append(current)
    return lines


def _longest_prefix(text: str, font: Font, width: int, suffix: str = "") -> int:
    """Length of the longest prefix of `text` that fits `width` with `suffix` appended."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if _extent(font, text[:middle].rstrip() + suffix)[1] <= width:
            low = middle
        else:
            high = middle - 1
    return low


def _with_ellipsis(text: str, font: Font, width: int) -> str:
    cut = _longest_prefix(text, font, width, ELLIPSIS)
    return text[:cut].rstrip() + ELLIPSIS


def _draw_fitted(canvas: _Canvas, element: Element, fitted: FittedText, ink: int) -> Box:
    """Draw fitted lines aligned in the box; returns the box the ink occupies."""
    box = element.box
    block = fitted.line_height * len(fitted.lines)
    top = box.y + _offset(element.valign, box.h, block)
    left_most, right_most = box.right, box.x
    for row, line in enumerate(fitted.lines):
        overhang, width = _extent(fitted.font, line)
        x = box.x + _offset(element.align, box.w, width)
        _blit(canvas, (x + overhang, top + row * fitted.line_height), line, fitted.font, ink)
        left_most, right_most = min(left_most, x), max(right_most, x + width)
    return Box(left_most, top, right_most - left_most, block)


def _offset(align: str, room: int, used: int) -> int:
    if align in ("center", "middle"):
        return (room - used) // 2
    if align in ("right", "bottom"):
        return room - used
    return 0


def _draw_text_in(canvas: _Canvas, element: Element, text: str, ink: int | None = None) -> Box:
    fitted = fit_text(text, element, canvas)
    colour = canvas.text_ink(element.colour) if ink is None else ink
    return _draw_fitted(canvas, element, fitted, colour)


# ---------------------------------------------------------------------- element drawers


def _draw_text(canvas: _Canvas, element: Element, content: LabelContent) -> None:
    value = str(getattr(content, element.field))
    if value:
        _draw_text_in(canvas, element, value)


def _draw_name(canvas: _Canvas, element: Element, content: LabelContent) -> None:
    _draw_text_in(canvas, element, content.name)


def _draw_price(canvas: _Canvas, element: Element, content: LabelContent) -> None:
    parts = format_money(content.price, content.locale)
    ink = canvas.text_ink(element.colour)
    box = element.box
    minor_ratio = (element.minor_size or round(element.size * 0.45)) / element.size
    for size in range(element.size, element.min_size - 1, -1):
        placed = _place_price(canvas, element, parts, size, max(6, round(size * minor_ratio)))
        if placed.width <= box.w and placed.height <= box.h:
            break
    else:
        raise RenderError(
            f"price {money_text(content.price, content.locale)} does not fit the "
            f"{box.w}x{box.h} price box even at {element.min_size} px"
        )
    left = box.x + _offset(element.align, box.w, placed.width)
    top = box.y + _offset(element.valign, box.h, placed.height)
    for dx, dy, text, font in placed.pieces:
        _blit(canvas, (left + dx, top + dy), text, font, ink, "ls")


@dataclass(frozen=True)
class _PlacedPrice:
    width: int
    height: int
    pieces: tuple[tuple[int, int, str, Font], ...]  # x, baseline y (group-relative), text, font


def _place_price(
    canvas: _Canvas, element: Element, parts: PriceParts, size: int, small_size: int
) -> _PlacedPrice:
    """Big integer units, small raised decimals, the symbol on the locale's side.

    With the symbol after, it sits under the decimals on the baseline ("2⁴⁹ over €");
    with the symbol before, it is raised like the decimals ("£2⁴⁹").
    """
    big = canvas.font(element.font, size)
    small = canvas.font(element.font, small_size)
    gap = max(2, size // 8)
    major_box = _bbox(big, parts.major)
    top, bottom = major_box[1], max(major_box[3], 0)  # relative to the baseline
    pieces: list[tuple[int, int, str, Font]] = []
    x = 0
    if parts.symbol_before:
        sym = _bbox(small, parts.symbol)
        pieces.append((x - sym[0], top - sym[1], parts.symbol, small))
        x += sym[2] - sym[0] + gap
    pieces.append((x - major_box[0], 0, parts.major, big))
    x += major_box[2] - major_box[0] + gap
    column = 0
    if parts.minor:
        minor = _bbox(small, parts.minor)
        pieces.append((x - minor[0], top - minor[1], parts.minor, small))
        column = minor[2] - minor[0]
    if not parts.symbol_before:
        sym = _bbox(small, parts.symbol)
        sym_width = sym[2] - sym[0]
        # Under the decimals, bottom of its ink on the digits' baseline (its descender allowed).
        pieces.append(
            (x - sym[0] + max(0, (column - sym_width) // 2), -sym[3], parts.symbol, small)
        )
        column = max(column, sym_width)
    width = x + column
    # Shift baselines so the group's ink top is at y=0.
    ink_top = min(top, *(dy + _bbox(p, t)[1] for _, dy, t, p in pieces))
    ink_bottom = max(bottom, *(dy + _bbox(p, t)[3] for _, dy, t, p in pieces))
    shifted = tuple((dx, dy - ink_top, t, p) for dx, dy, t, p in pieces)
    return _PlacedPrice(width, ink_bottom - ink_top, shifted)


def _draw_unit_price(canvas: _Canvas, element: Element, content: LabelContent) -> None:
    if content.unit_price is not None:
        unit = content.unit_price
        _draw_text_in(canvas, element, unit_price_text(unit.amount, unit.per, content.locale, NBSP))


def _draw_old_price(canvas: _Canvas, element: Element, content: LabelContent) -> None:
    """The regular price, struck through across the middle of its digits."""
    if content.promo is None:
        return
    fitted = fit_text(money_text(content.promo.was, content.locale, NBSP), element, canvas)
    inked = _draw_fitted(canvas, element, fitted, canvas.text_ink(element.colour))
    baseline = inked.y + _metrics(fitted.font)[0]
    digit_top = _bbox(fitted.font, "0")[1]  # negative: above the baseline
    thickness = max(1, fitted.font.size // 12)
    top = baseline + digit_top // 2 - thickness // 2
    canvas.draw.rectangle(
        (inked.x, top, inked.right - 1, top + thickness - 1),
        fill=canvas.text_ink(element.strike_colour),
    )


def prior_price_text(
    element: Element, content: LabelContent, words: LabelWords | None = None
) -> str | None:
    """The EU 2019/2161 prior-price line, or None when the label announces no reduction.

    With no lowest-30-day price known it prints the content's note (or the template's),
    never a number the history does not prove.
    """
    promo = content.promo
    if promo is None:
        return None
    words = words or label_words(content.locale)
    if promo.prior_lowest is not None:
        return words.gettext(element.text) + money_text(promo.prior_lowest, content.locale, NBSP)
    return promo.prior_note or words.gettext(element.no_history_text)


def stock_text(element: Element, content: LabelContent, words: LabelWords | None = None) -> str:
    """What the stock badge says: In stock / Low stock / Out of stock · back <date>."""
    stock = content.stock
    if stock.level not in STOCK_LEVELS:
        raise RenderError(f"unknown stock level {stock.level!r}; expected one of {STOCK_LEVELS}")
    words = words or label_words(content.locale)
    if stock.level == "in_stock":
        return words.gettext(element.in_stock_text)
    if stock.level == "low":
        return words.gettext(element.low_text)
    out = words.gettext(element.out_text)
    if stock.restock_date is None:
        return out
    when = words.date(stock.restock_date, element.date_format)
    return f"{out} · {_with_date(words.gettext(element.restock_text), when)}"


def promo_ends_text(
    element: Element, content: LabelContent, words: LabelWords | None = None
) -> str | None:
    """ "until 31.03.2025" in the label's words, or None without a promotion end."""
    if content.promo is None or content.promo.ends is None:
        return None
    words = words or label_words(content.locale)
    when = words.date(content.promo.ends, element.date_format)
    return _with_date(words.gettext(element.text), when)


def _with_date(text: str, when: str) -> str:
    # replace, not str.format: a template's own words may hold other braces
    return text.replace("{date}", when)


def _draw_prior_price(canvas: _Canvas, element: Element, content: LabelContent) -> None:
    promo = content.promo
    if promo is not None and promo.prior_lowest is not None and element.amount_size:
        _draw_prior_amount_apart(canvas, element, content, promo.prior_lowest)
        return
    text = prior_price_text(element, content, canvas.words)
    if text:
        _draw_text_in(canvas, element, text)


def _draw_prior_amount_apart(
    canvas: _Canvas, element: Element, content: LabelContent, amount: Money
) -> None:
    """The lead-in words fitted above, the amount on the box's last line at `amount_size`."""
    box = element.box
    amount_font = canvas.font(element.font, element.amount_size)
    amount_h = _line_height(amount_font)
    words = canvas.words.gettext(element.text).strip()
    lead_in = replace(element, box=Box(box.x, box.y, box.w, box.h - amount_h))
    _draw_text_in(canvas, lead_in, words)
    below = replace(
        element,
        box=Box(box.x, box.bottom - amount_h, box.w, amount_h),
        size=element.amount_size,
        min_size=min(element.amount_size, element.min_size + 2),
        max_lines=1,
    )
    _draw_text_in(canvas, below, money_text(amount, content.locale, NBSP))


def _draw_promo_ends(canvas: _Canvas, element: Element, content: LabelContent) -> None:
    text = promo_ends_text(element, content, canvas.words)
    if text:
        _draw_text_in(canvas, element, text)


def _draw_stock_badge(canvas: _Canvas, element: Element, content: LabelContent) -> None:
    """In stock: black frame; low: accent frame; out: accent fill with on-accent text."""
    text = stock_text(element, content, canvas.words)
    box = element.box
    inset = _centred(_inset(element, 3, 2))
    if content.stock.level == "out":
        canvas.draw.rectangle(_corners(box), fill=canvas.ink("accent"))
        _draw_text_in(canvas, inset, text, canvas.ink("on_accent"))
        return
    colour = "accent" if content.stock.level == "low" else element.colour
    canvas.draw.rectangle(_corners(box), outline=canvas.ink(colour), width=2)
    _draw_text_in(canvas, inset, text, canvas.text_ink(colour))


@lru_cache(maxsize=256)
def _inset(element: Element, dx: int, dy: int) -> Element:
    box = element.box
    return replace(element, box=Box(box.x + dx, box.y + dy, box.w - 2 * dx, box.h - 2 * dy))


@lru_cache(maxsize=256)
def _centred(element: Element) -> Element:
    return replace(element, align="center", valign="middle")


def _corners(box: Box) -> tuple[int, int, int, int]:
    return box.x, box.y, box.right - 1, box.bottom - 1


def _draw_barcode(canvas: _Canvas, element: Element, content: LabelContent) -> None:
    box = element.box
    module = barcode.module_width_px(box.w, canvas.model.px_per_mm)
    if module is None:
        raise RenderError(f"barcode box {box.w} px cannot hold an EAN-13 on {canvas.model.id}")
    canvas.draw.rectangle(_corners(box), fill=WHITE)  # quiet zones are part of the symbol
    ink = canvas.ink(element.colour)
    try:
        pattern = barcode.ean13_modules(content.gtin)
    except barcode.NotEan13Error:
        _draw_text_in(canvas, _centred(element), f"GTIN {content.gtin}", ink)
        return
    font = _digits_font(canvas, element, module)
    geo = barcode.geometry(box.w, box.h, module, _metrics(font)[0] + 1)
    canvas.image.paste(barcode.bars_image(pattern, geo, ink), (box.x + geo.left, box.y))
    guards = barcode.guard_extension(geo, ink)
    canvas.image.paste(guards, (box.x + geo.left, box.y + geo.bars_height))
    first, left_group, right_group = barcode.digit_groups(content.gtin)
    y = box.y + geo.bars_height + 1
    advance = int(text_advance(font, "0"))  # DejaVu figures are tabular: one advance for all
    _blit(canvas, (box.x + geo.left - module - advance, y), first, font, ink)
    for group, (start, end) in (
        (left_group, barcode.LEFT_GROUP_MODULES),
        (right_group, barcode.RIGHT_GROUP_MODULES),
    ):
        x = box.x + geo.left + start * module + ((end - start) * module - advance * 6) // 2
        _blit(canvas, (x, y), group, font, ink)


def _digits_font(canvas: _Canvas, element: Element, module: int) -> Font:
    """The template's digit size, shrunk until six digits fit under their 42 modules."""
    room = (barcode.RIGHT_GROUP_MODULES[1] - barcode.RIGHT_GROUP_MODULES[0]) * module - 2
    for size in range(element.size, 5, -1):
        font = canvas.font(element.font, size)
        if int(text_advance(font, "0")) * 6 <= room:
            return font
    return canvas.font(element.font, 6)


def _draw_qr(canvas: _Canvas, element: Element, content: LabelContent) -> None:
    box = element.box
    try:
        symbol, module = qr_image(content.digital_link, box.w, box.h, canvas.ink(element.colour))
    except ValueError as exc:
        raise RenderError(str(exc)) from exc
    side = symbol.size[0] + 2 * QUIET_MODULES * module
    left, top = box.x + (box.w - side) // 2, box.y + (box.h - side) // 2
    canvas.draw.rectangle((left, top, left + side - 1, top + side - 1), fill=WHITE)
    canvas.image.paste(symbol, (left + QUIET_MODULES * module, top + QUIET_MODULES * module))


_DRAWERS = {
    "text": _draw_text,
    "name": _draw_name,
    "price": _draw_price,
    "unit_price": _draw_unit_price,
    "old_price": _draw_old_price,
    "prior_price": _draw_prior_price,
    "promo_ends": _draw_promo_ends,
    "stock_badge": _draw_stock_badge,
    "barcode": _draw_barcode,
    "qr": _draw_qr,
}

# ------------------------------------------------------------------ static element drawers


def _draw_static_text(canvas: _Canvas, element: Element) -> None:
    _draw_text_in(canvas, element, canvas.words.gettext(element.text))


def _draw_rect(canvas: _Canvas, element: Element) -> None:
    ink = canvas.ink(element.colour)
    if element.fill:
        canvas.draw.rectangle(_corners(element.box), fill=ink)
    else:
        canvas.draw.rectangle(_corners(element.box), outline=ink, width=element.width)


def _draw_line(canvas: _Canvas, element: Element) -> None:
    # A line is its box filled: a horizontal rule is a box h px high, a vertical one w px wide.
    canvas.draw.rectangle(_corners(element.box), fill=canvas.ink(element.colour))


def _draw_image(canvas: _Canvas, element: Element) -> None:
    dithered = dithered_image(canvas.layout.images_dir / element.file, element.box, canvas.model)
    box = element.box
    x = box.x + (box.w - dithered.size[0]) // 2
    y = box.y + (box.h - dithered.size[1]) // 2
    canvas.image.paste(dithered, (x, y))


def dithered_image(path: Path, box: Box, model: HardwareModel) -> Image.Image:
    """A PNG scaled to fit `box` and Floyd-Steinberg dithered to the model's palette."""
    with Image.open(path) as source:
        rgba = source.convert("RGBA")
    flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat.alpha_composite(rgba)
    scale = min(box.w / flat.size[0], box.h / flat.size[1])
    size = (max(1, int(flat.size[0] * scale)), max(1, int(flat.size[1] * scale)))
    rgb = flat.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    palette = Image.new("P", (1, 1))
    palette.putpalette(model.flat_palette)
    return rgb.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG)


_STATIC_DRAWERS = {
    "text": _draw_static_text,
    "rect": _draw_rect,
    "line": _draw_line,
    "image": _draw_image,
    "logo": _draw_image,
}
