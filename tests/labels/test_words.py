"""Label words from the gettext catalogues: every locale, fallbacks, and that they fit."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from PIL import Image

from esl_controller.labels.content import LabelContent, Money, StockInfo, content_fingerprint
from esl_controller.labels.hardware import HardwareModel
from esl_controller.labels.price_format import unit_price_text
from esl_controller.labels.render import (
    ELLIPSIS,
    _Canvas,
    fit_text,
    prior_price_text,
    promo_ends_text,
    render_label,
    stock_text,
)
from esl_controller.labels.templates import Element, LabelTemplate
from esl_controller.labels.words import (
    CATALOGUE_DIR,
    available_languages,
    catalogue_path,
    label_words,
)
from tests.labels.conftest import promo_info

MakeContent = Callable[..., LabelContent]
REQUIRED = ("en", "ro", "de", "pl", "hu", "ru", "el")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")

# (promo band, stock badge when in stock, prior-price lead-in) as a shop in each locale prints them
EXPECTED = {
    "en_GB": ("PROMO", "In stock", "Lowest price 30 days before: "),
    "ro_RO": ("PROMOȚIE", "În stoc", "Cel mai mic preț din ultimele 30 de zile: "),
    "de_DE": ("AKTION", "Auf Lager", "Niedrigster Preis der letzten 30 Tage: "),
    "pl_PL": ("PROMOCJA", "Dostępny", "Najniższa cena z 30 dni przed obniżką: "),
    "hu_HU": ("AKCIÓ", "Készleten", "Az akciót megelőző 30 nap legalacsonyabb ára: "),
    "ru_RU": ("АКЦИЯ", "В наличии", "Самая низкая цена за 30 дней до скидки: "),
    "el_GR": ("ΠΡΟΣΦΟΡΑ", "Διαθέσιμο", "Χαμηλότερη τιμή των τελευταίων 30 ημερών: "),
}


def pot_messages() -> dict[tuple[str, str | None], str]:
    with (CATALOGUE_DIR / "labels.pot").open("rb") as handle:
        catalog = read_po(handle)
    return {(m.id, m.context): m.id for m in catalog if m.id}


def element_of(template: LabelTemplate, size_key: str, kind: str) -> Element:
    return next(e for e in template.layouts[size_key].elements if e.type == kind)


def test_the_required_languages_have_catalogues() -> None:
    assert set(REQUIRED) <= set(available_languages())
    for language in REQUIRED:
        assert catalogue_path(language).is_file()


@pytest.mark.parametrize("language", sorted(set(available_languages()) - {"en"}))
def test_every_catalogue_translates_every_message_and_keeps_its_placeholders(
    language: str,
) -> None:
    with catalogue_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language)
    translated = {(m.id, m.context): m for m in catalog if m.id}
    for key, msgid in pot_messages().items():
        message = translated.get(key)
        assert message is not None and message.string, f"{language}: {msgid!r} untranslated"
        assert not message.fuzzy, f"{language}: {msgid!r} is fuzzy"
        assert set(PLACEHOLDER.findall(message.string)) == set(PLACEHOLDER.findall(msgid))
        assert message.string.endswith(" ") == msgid.endswith(" "), f"{language}: {msgid!r}"


@pytest.mark.parametrize("locale", sorted(EXPECTED))
def test_each_locale_prints_its_own_words(
    locale: str, templates: dict[str, LabelTemplate], make_content: MakeContent
) -> None:
    band, in_stock, lead_in = EXPECTED[locale]
    words = label_words(locale)
    promo = templates["promo"]
    assert words.gettext(element_of(promo, "296x128", "text").text) == band
    badge = element_of(templates["stock"], "296x128", "stock_badge")
    content = make_content(locale=locale, promo=promo_info(prior=899))
    assert stock_text(badge, content) == in_stock
    prior = prior_price_text(element_of(promo, "296x128", "prior_price"), content)
    assert prior is not None and prior.startswith(lead_in)
    ends = promo_ends_text(element_of(promo, "296x128", "promo_ends"), content)
    assert ends is not None and words.date(date(2025, 3, 31)) in ends


def test_the_template_words_are_all_in_the_catalogue(
    templates: dict[str, LabelTemplate],
) -> None:
    """A template word missing from the catalogue would print English on every label."""
    known = {msgid for msgid, context in pot_messages() if context is None}
    for template in templates.values():
        for layout in template.layouts.values():
            for element in layout.elements:
                for text in _words_of(element):
                    assert text in known, f"{template.source}: {text!r} has no catalogue entry"


def _words_of(element: Element) -> list[str]:
    if element.type == "text":
        return [element.text] if element.text else []
    if element.type in ("promo_ends", "prior_price"):
        return [element.text] + ([element.no_history_text] if element.type == "prior_price" else [])
    if element.type == "stock_badge":
        return [element.in_stock_text, element.low_text, element.out_text, element.restock_text]
    return []


def test_a_missing_message_prints_in_english(tmp_path: Path) -> None:
    po = tmp_path / "xx" / "LC_MESSAGES" / "labels.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "In stock"\nmsgstr "Auf Lager"\n\n'
        '#, fuzzy\nmsgid "Low stock"\nmsgstr "Wenig"\n',
        encoding="utf-8",
    )
    words = label_words("xx_YY", tmp_path)
    assert words.gettext("In stock") == "Auf Lager"
    assert words.gettext("Out of stock") == "Out of stock"  # not in the catalogue
    assert words.gettext("Low stock") == "Low stock"  # fuzzy: unreviewed, so English
    assert label_words("zz_ZZ", tmp_path).gettext("In stock") == "In stock"


def test_the_piece_word_comes_from_the_catalogue() -> None:
    assert unit_price_text(Money(150, "RON"), "piece", "ro_RO") == "1,50 lei/buc."
    assert unit_price_text(Money(150, "PLN"), "piece", "pl_PL") == "1,50 zł/szt."
    assert unit_price_text(Money(150, "HUF"), "piece", "hu_HU").endswith("/db")
    assert unit_price_text(Money(150, "EUR"), "piece", "en_IE") == "€1.50/piece"


def test_a_corrected_translation_changes_the_fingerprint(make_content: MakeContent) -> None:
    romanian = make_content()
    german = make_content(locale="de_DE")
    assert label_words("ro_RO").digest != label_words("de_DE").digest
    assert content_fingerprint(romanian, "price", "2.9-bwr") != content_fingerprint(
        german, "price", "2.9-bwr"
    )


def _localised_contents(make_content: MakeContent, locale: str) -> list[LabelContent]:
    promo = replace(promo_info(prior=None, note=None), ends=date(2025, 12, 31))
    with_prior = make_content(locale=locale, promo=promo_info(prior=899))
    return [
        make_content(locale=locale, promo=promo),
        with_prior,
        *(
            make_content(locale=locale, stock=StockInfo(level, 0, date(2025, 12, 31)))
            for level in ("in_stock", "low", "out")
        ),
    ]


@pytest.mark.parametrize("language", available_languages())
def test_every_language_fits_every_layout_without_cutting_a_word(
    language: str,
    templates: dict[str, LabelTemplate],
    models: dict[str, HardwareModel],
    make_content: MakeContent,
) -> None:
    """The band, badge, until and prior-price words of each language fit their boxes whole."""
    locale = {"en": "en_GB", "el": "el_GR"}.get(language, f"{language}_{language.upper()}")
    words = label_words(locale)
    sized = {model.size_key: model for model in models.values()}
    for template in templates.values():
        for key, layout in template.layouts.items():
            canvas = _Canvas(Image.new("P", (layout.width, layout.height)), layout, sized[key])
            for content in _localised_contents(make_content, locale):
                for element in layout.elements:
                    text = _printed(element, content, words)
                    if not text:
                        continue
                    fitted = fit_text(text, element, canvas)
                    assert not any(ELLIPSIS in line for line in fitted.lines), (
                        f"{template.name} {key} {element.type} in {locale}: {text!r} is cut"
                    )


def _printed(element: Element, content: LabelContent, words: object) -> str | None:
    if element.type == "text" and element.text:
        return words.gettext(element.text)  # type: ignore[attr-defined]
    if element.type == "prior_price":
        return prior_price_text(element, content)
    if element.type == "promo_ends":
        return promo_ends_text(element, content)
    if element.type == "stock_badge":
        return stock_text(element, content)
    return None


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
def test_ocr_reads_the_german_words_off_the_labels(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    """What a shopper reads, not what a string says: tesseract (English data) on the pixels."""
    model = models["2.9-bwr"]
    content = make_content(
        locale="de_DE", price=Money(249, "EUR"), unit_price=None, promo=promo_info(prior=299)
    )
    promo = render_label(templates["promo"], replace(content, name="Milch"), model)
    band = element_of(templates["promo"], "296x128", "rect").box
    band_text = _ocr(promo.crop((band.x, band.y, band.right, band.bottom)), paper=(1, 2))
    assert "AKTION" in band_text and "bis" in band_text
    assert "Preis der letzten 30 Tage" in _ocr(promo)
    stock = render_label(templates["stock"], replace(content, promo=None), model)
    badge = element_of(templates["stock"], "296x128", "stock_badge").box
    inside = (badge.x + 3, badge.y + 3, badge.right - 3, badge.bottom - 3)  # not the frame
    assert "Auf Lager" in _ocr(stock.crop(inside))


def _plain(text: str) -> str:
    """Without diacritics: the English tesseract data reads "În" as "In"."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


# Latin-script locales the English OCR data reads reliably on a 2.9" label; the other
# catalogues are checked by the text and fit tests above.
OCR_LOCALES = ("en_GB", "ro_RO", "de_DE", "fr_FR", "es_ES", "nl_NL")


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
@pytest.mark.parametrize("locale", OCR_LOCALES)
def test_ocr_reads_each_locales_badges_and_band_off_the_pixels(
    locale: str,
    templates: dict[str, LabelTemplate],
    models: dict[str, HardwareModel],
    make_content: MakeContent,
) -> None:
    model = models["2.9-bwr"]
    words = label_words(locale)
    badge = element_of(templates["stock"], "296x128", "stock_badge")
    inside = (badge.box.x + 3, badge.box.y + 3, badge.box.right - 3, badge.box.bottom - 3)
    for level, message, paper in (
        ("in_stock", "In stock", (0,)),
        ("low", "Low stock", (0,)),
        ("out", "Out of stock", (1, 2)),  # on the accent fill
    ):
        stock = StockInfo(level, 0, None)
        image = render_label(templates["stock"], make_content(locale=locale, stock=stock), model)
        assert _plain(words.gettext(message)) in _plain(_ocr(image.crop(inside), paper))
    band = element_of(templates["promo"], "296x128", "rect").box
    promo = render_label(templates["promo"], make_content(locale=locale, promo=promo_info()), model)
    read = _ocr(promo.crop((band.x, band.y, band.right, band.bottom)), paper=(1, 2))
    assert _plain(words.gettext("PROMO")) in _plain(read)


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
def test_ocr_reads_lei_not_lel_in_the_12_px_unit_price(
    templates: dict[str, LabelTemplate], models: dict[str, HardwareModel], make_content: MakeContent
) -> None:
    """Measured: with DejaVu's own hinting tesseract read this box as "7,49 lel/l"."""
    model = models["2.9-bwr"]
    element = element_of(templates["price"], "296x128", "unit_price")
    assert element.size == 12
    image = render_label(templates["price"], make_content(), model)
    box = element.box
    assert "lei/l" in _ocr(image.crop((box.x, box.y, box.right, box.bottom)))


def _ocr(image: Image.Image, paper: tuple[int, ...] = (0,)) -> str:
    """Text tesseract reads, ink black on white: `paper` are the background's palette indices."""
    binary = image.point(lambda index: 255 if index in paper else 0, mode="L")
    big = binary.resize((binary.width * 4, binary.height * 4), Image.Resampling.NEAREST)
    done = subprocess.run(
        ["tesseract", "stdin", "stdout", "-l", "eng", "--psm", "11"],
        input=_png(big),
        capture_output=True,
        check=True,
    )
    return " ".join(done.stdout.decode("utf-8", "replace").split())


def _png(image: Image.Image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_installed_package_carries_every_catalogue() -> None:
    """The wheel takes package data by these globs; a catalogue outside them would be lost."""
    import tomllib

    package = CATALOGUE_DIR.parents[1]
    pyproject = tomllib.loads((package.parent / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["esl_controller"]
    shipped = {path for pattern in globs for path in package.glob(pattern)}
    catalogues = set(CATALOGUE_DIR.rglob("*.po")) | set(CATALOGUE_DIR.rglob("*.pot"))
    assert catalogues and catalogues <= shipped
