"""Legibility: what a camera reads off every template on every hardware model.

Each label is rendered, each element a shopper must read (name, price, unit price) is cropped
out of it, binarised (the box's commonest pixel is paper, anything else ink), upscaled by an
integer factor with NEAREST (a phone camera sees whole e-paper pixels, never blends them) and
read by tesseract. The English data cannot read diacritics, so words compare without them;
case, spacing and punctuation are where tesseract errs on perfectly legible text, so the
comparison keeps only letters and digits.

BW, BWR and BWY panels of one size share a layout and give the same binarised crops, so an
identical crop is read once (the reading is cached by its pixels), which keeps the test fast.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass, replace
from functools import cache

import pytest
from PIL import Image

from esl_controller.labels.content import LabelContent, Money, StockInfo, UnitPrice
from esl_controller.labels.fonts import get_font
from esl_controller.labels.hardware import HardwareModel, load_hardware_models
from esl_controller.labels.price_format import NBSP, money_text, unit_price_text
from esl_controller.labels.render import ELLIPSIS, _Canvas, fit_text, render_label
from esl_controller.labels.templates import (
    Box,
    Element,
    LabelTemplate,
    TemplateError,
    load_templates,
)
from tests.labels.conftest import BASE_CONTENT, promo_info

TESSERACT = shutil.which("tesseract")
pytestmark = pytest.mark.skipif(
    TESSERACT is None,
    reason="tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-eng; "
    ".ci/run installs it when missing)",
)

# A phone camera a hand's width from the shelf sees 3 to 4 camera pixels per label pixel; a
# shopper's camera refocuses, so an element reads when it reads at one of these scales
# (tesseract alone turns "Oro" at 14 px into "Gro" at exactly 4x and reads it at 3x).
UPSCALES = (4, 3)
READ_ELEMENTS = ("name", "price", "unit_price")
DIGITS = "0123456789.,"  # what a price's units and decimals are made of


def _ron(minor: int) -> Money:
    return Money(minor, "RON")


# Short and long names, Romanian (with diacritics) and English; prices with one digit, with a
# thousands group and under one leu.
PRODUCTS = (
    replace(
        BASE_CONTENT,
        name="Pâine albă",
        price=_ron(499),
        unit_price=UnitPrice(_ron(998), "kg"),
    ),
    replace(
        BASE_CONTENT,
        name="Cafea boabe prăjită Lavazza Qualità Oro",
        price=_ron(123450),
        unit_price=UnitPrice(_ron(123450), "kg"),
    ),
    replace(
        BASE_CONTENT,
        name="Sparkling mineral water",
        price=_ron(99),
        unit_price=UnitPrice(_ron(198), "l"),
    ),
)


@dataclass(frozen=True)
class Pair:
    template: LabelTemplate
    model: HardwareModel

    def __str__(self) -> str:
        return f"{self.template.name}-{self.model.id}"


def _pairs() -> list[Pair]:
    """Every (template, model) whose template has a layout for the model's panel."""
    models = load_hardware_models()
    pairs = []
    for template in load_templates(models=models).values():
        for model in models.values():
            try:
                template.layout_for(model)
            except TemplateError:
                continue
            pairs.append(Pair(template, model))
    return pairs


PAIRS = _pairs()


def _content_for(template: LabelTemplate, product: LabelContent) -> LabelContent:
    """The product as this template shows it: a promotion for the promo layout."""
    if template.kind == "promo":
        return replace(product, promo=promo_info())
    if template.kind == "stock":
        return replace(product, stock=StockInfo("in_stock", 5, None))
    return product


@pytest.mark.parametrize("pair", PAIRS, ids=str)
def test_ocr_reads_the_name_price_and_unit_price(pair: Pair) -> None:
    layout = pair.template.layout_for(pair.model)
    elements = [e for e in layout.elements if e.type in READ_ELEMENTS]
    assert any(e.type == "name" for e in elements), f"{pair} shows no product name"
    misread = []
    for product in PRODUCTS:
        content = _content_for(pair.template, product)
        image = render_label(pair.template, content, pair.model)
        for element in elements:
            wanted = _expected(element, content, image, pair)
            binary = _binary(image, element)
            reads = []
            for scale in UPSCALES:
                reads.append(_read(binary, element.type, scale))
                if _letters(wanted) in _letters(reads[-1]):
                    break
            else:
                misread.append(f"{element.type}: printed {wanted!r}, read {reads!r}")
    assert not misread, f"{pair}:\n" + "\n".join(misread)


def _expected(element: Element, content: LabelContent, image: Image.Image, pair: Pair) -> str:
    """What the element prints. For the price and unit price only the digits must read."""
    if element.type == "price":
        return _digits(money_text(content.price, content.locale))
    if element.type == "unit_price":
        assert content.unit_price is not None
        unit = content.unit_price
        return _digits(unit_price_text(unit.amount, unit.per, content.locale, NBSP))
    canvas = _Canvas(image.copy(), pair.template.layout_for(pair.model), pair.model)
    lines = fit_text(content.name, element, canvas).lines
    # A cut name is read up to its last whole word (the ellipsis says the rest is missing).
    words = " ".join(lines).split()
    if words and ELLIPSIS in words[-1]:
        words = words[:-1]
    return " ".join(words)


def _binary(image: Image.Image, element: Element) -> Image.Image:
    """The element's box as ink 1 on paper 0; paper is the box's commonest palette index."""
    box = element.box
    crop = image.crop((box.x, box.y, box.right, box.bottom))
    paper = max(crop.getcolors() or [(0, 0)])[1]
    return crop.point(lambda index: 0 if index == paper else 1, mode="1")


def _read(binary: Image.Image, kind: str, scale: int) -> str:
    if kind == "name":
        return _ocr(_png(binary, scale), "6")  # a block of one to four lines
    if kind == "unit_price":
        return _ocr(_png(binary, scale), "13")  # one raw line; psm 7 drops short blocky lines
    major, minor = _price_parts(binary)
    # Big units and small raised decimals confuse one pass: each is read on its own.
    return (
        _ocr(_png(major, scale), "13", DIGITS)
        + " "
        + _ocr(_png(_first_line(minor), scale), "13", DIGITS)
    )


def _price_parts(binary: Image.Image) -> tuple[Image.Image, Image.Image]:
    """The price's big integer units, and the rest (decimals and symbol), cut apart.

    Glyphs are runs of inked columns; the tall ones are the units. Rows outside the units'
    height (a neighbour's ink at the box's edge) are left out.
    """
    runs = _column_runs(binary)
    if not runs:
        return binary, binary
    tallest = max(bottom - top for _, _, top, bottom in runs)
    tall = [run for run in runs if run[3] - run[2] >= 0.6 * tallest]
    left, right = tall[0][0], tall[-1][1]
    top, bottom = min(r[2] for r in tall), max(r[3] for r in tall)
    major = binary.crop((left, top, right, bottom))
    rest = [run for run in runs if run[0] >= right]
    minor = binary.crop((right, top, max([r[1] for r in rest], default=right + 1), bottom))
    return major, minor


def _first_line(binary: Image.Image) -> Image.Image:
    """The top run of inked rows: the raised decimals, without the symbol under them."""
    rows = [
        binary.crop((0, y, binary.width, y + 1)).getbbox() is not None for y in range(binary.height)
    ]
    if True not in rows:
        return binary
    top = rows.index(True)
    bottom = rows.index(False, top) if False in rows[top:] else binary.height
    return binary.crop((0, top, binary.width, bottom))


def _column_runs(binary: Image.Image) -> list[tuple[int, int, int, int]]:
    """(left, right, top, bottom) of each run of adjacent inked columns, by its tallest solid
    stretch of inked rows (decimals over a symbol are two stretches, a units digit one)."""
    runs: list[tuple[int, int, int, int]] = []
    start = None
    for x in range(binary.width + 1):
        column = binary.crop((x, 0, x + 1, binary.height)).getbbox() if x < binary.width else None
        if column and start is None:
            start = x
        if not column and start is not None:
            runs.append((start, x, *_solid_rows(binary.crop((start, 0, x, binary.height)))))
            start = None
    return runs


def _solid_rows(binary: Image.Image) -> tuple[int, int]:
    """Top and bottom of the longest stretch of rows that all hold ink."""
    best, top = (0, 0), None
    for y in range(binary.height + 1):
        inked = y < binary.height and binary.crop((0, y, binary.width, y + 1)).getbbox()
        if inked and top is None:
            top = y
        if not inked and top is not None:
            if y - top > best[1] - best[0]:
                best = (top, y)
            top = None
    return best


def _png(binary: Image.Image, scale: int) -> bytes:
    """The ink, black on white, NEAREST-upscaled, with a white margin (tesseract misses ink at
    an image's edge, and misreads a short line lost in a wide blank box)."""
    binary = binary.crop(binary.getbbox() or (0, 0, binary.width, binary.height))
    grey = binary.point(lambda ink: 0 if ink else 255, mode="L")
    big = grey.resize((grey.width * scale, grey.height * scale), Image.Resampling.NEAREST)
    framed = Image.new("L", (big.width + 40, big.height + 40), 255)
    framed.paste(big, (20, 20))
    buffer = io.BytesIO()
    framed.save(buffer, format="PNG")
    return buffer.getvalue()


@cache
def _ocr(png: bytes, psm: str, only: str = "") -> str:
    options = ["-c", f"tessedit_char_whitelist={only}"] if only else []
    done = subprocess.run(
        [str(TESSERACT), "stdin", "stdout", "-l", "eng", "--psm", psm, *options],
        input=png,
        capture_output=True,
        check=True,
        env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},
    )
    return " ".join(done.stdout.decode("utf-8", "replace").split())


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _letters(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", _plain(text).lower())


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


# The 1.54" promo layout has no row to spare for the amount: it prints in one run at 10 px
# (docs/operations.md, "Changing a label template: legibility").
PRIOR_AMOUNT_IN_ONE_RUN = {"152x152"}
PRIOR_LOCALES = ("en_GB", "ro_RO", "de_DE", "pl_PL", "hu_HU", "el_GR", "ru_RU")


@pytest.mark.parametrize("pair", [p for p in PAIRS if p.template.kind == "promo"], ids=str)
def test_ocr_reads_the_30_day_prior_price_amount(pair: Pair) -> None:
    """The number a reduction is judged against reads in every locale's longest words."""
    layout = pair.template.layout_for(pair.model)
    element = next(e for e in layout.elements if e.type == "prior_price")
    if layout.size_key in PRIOR_AMOUNT_IN_ONE_RUN:
        assert not element.amount_size
        return
    assert element.amount_size >= 12, f"{pair}: the amount prints below 12 px"
    line = sum(get_font(element.font, element.amount_size, layout.fonts_dir).getmetrics())
    amount_line = replace(
        element, box=Box(element.box.x, element.box.bottom - line, element.box.w, line)
    )
    misread = []
    for locale in PRIOR_LOCALES:
        content = replace(_content_for(pair.template, PRODUCTS[0]), locale=locale)
        assert content.promo is not None and content.promo.prior_lowest is not None
        wanted = _digits(money_text(content.promo.prior_lowest, locale))
        image = render_label(pair.template, content, pair.model)
        reads = [_ocr(_png(_binary(image, amount_line), s), "13", DIGITS) for s in UPSCALES]
        if not any(wanted in _digits(read) for read in reads):
            misread.append(f"{locale}: printed {wanted!r}, read {reads!r}")
    assert not misread, f"{pair}:\n" + "\n".join(misread)
