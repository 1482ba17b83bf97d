from __future__ import annotations

import dataclasses
import io
from datetime import date

import pytest
from PIL import Image

from esl_controller.labels.content import LabelContent, Money, PromoInfo, StockInfo, UnitPrice
from esl_controller.signage.slide_content import build_slide_content
from esl_controller.signage.slides import PROMO_RED, render_promo_slide


def content(**changes) -> LabelContent:
    base = LabelContent(
        gtin="5941768000015",
        name="Cafea boabe Qualità Oro",
        brand="Lavazza",
        price=Money(4999, "RON"),
        locale="ro_RO",
        unit_price=UnitPrice(Money(4999, "RON"), "kg"),
        promo=None,
        stock=StockInfo("in_stock", 10, None),
        digital_link="https://id.gs1.org/01/05941768000015",
        size_text="1 kg",
    )
    return dataclasses.replace(base, **changes)


PROMO = PromoInfo(
    was=Money(5999, "RON"), prior_lowest=Money(5499, "RON"), prior_note=None, ends=date(2026, 12, 1)
)


def decode(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


def test_slide_is_a_full_colour_png_of_the_requested_size():
    image = decode(render_promo_slide(content(), 1280, 720))
    assert image.format == "PNG" and image.mode == "RGB" and image.size == (1280, 720)


def test_same_content_gives_the_same_bytes():
    assert render_promo_slide(content()) == render_promo_slide(content())


def test_price_change_changes_the_slide():
    assert render_promo_slide(content()) != render_promo_slide(content(price=Money(3999, "RON")))


def test_promotion_draws_the_red_band_and_differs_by_prior_price():
    regular = decode(render_promo_slide(content()))
    promo_png = render_promo_slide(content(promo=PROMO, price=Money(4499, "RON")))
    promo = decode(promo_png)
    assert promo.getpixel((5, 5)) == PROMO_RED
    assert regular.getpixel((5, 5)) != PROMO_RED
    unknown_prior = dataclasses.replace(PROMO, prior_lowest=None, prior_note="Prior price n/a")
    assert render_promo_slide(content(promo=unknown_prior, price=Money(4499, "RON"))) != promo_png


def test_unknown_locale_is_refused_with_its_name():
    with pytest.raises(ValueError, match="xx_XX"):
        render_promo_slide(content(locale="xx_XX"))


def test_absurd_size_is_refused():
    with pytest.raises(ValueError, match="outside"):
        render_promo_slide(content(), 10, 10)


def prior_price_line(label: LabelContent) -> str:
    slide = build_slide_content(label)
    return slide.promo.prior if slide.promo else ""


def test_the_prior_price_statement_is_in_the_store_language_as_on_the_label():
    romanian = content(promo=PROMO)
    assert prior_price_line(romanian) == "Cel mai mic preț din ultimele 30 de zile: 54,99\u00a0lei"
    german = content(locale="de_DE", price=Money(4999, "EUR"), promo=PROMO)
    assert prior_price_line(german).startswith("Niedrigster Preis der letzten 30 Tage: ")
    assert prior_price_line(content()) == ""
    unknown = dataclasses.replace(PROMO, prior_lowest=None, prior_note="Istoric 12/30 zile")
    assert prior_price_line(content(promo=unknown)) == "Istoric 12/30 zile"
