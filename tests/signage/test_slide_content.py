"""A promo slide states what the product's shelf label states: the same price, unit price,
struck price and 30-day prior price, and a promotion band only for a real reduction."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings

from esl_controller.catalogue.prior_price import PricePoint
from esl_controller.catalogue.promotions import PromoPeriod
from esl_controller.labels.content import LabelContent
from esl_controller.labels.price_format import NBSP, money_text, unit_price_text
from esl_controller.signage.slide_content import SlideContent, SlideWords, build_slide_content
from tests.support.price_situations import (
    NOW,
    PriceSituation,
    SituationProduct,
    SituationStore,
    label_content,
    price_situations,
)

PRODUCT = SituationProduct(
    gtin="5941234000013",
    name="Cașcaval Dalia",
    brand="Hochland",
    net_quantity=400,
    unit="g",
    price_minor=2499,
    currency="RON",
    stock=40,
    low_stock_threshold=5,
    restock_date=None,
)
STORE = SituationStore(locale="ro_RO", timezone="Europe/Bucharest")
STEADY = (PricePoint(2499, NOW - timedelta(days=90)),)


def days(n: float):
    return NOW + timedelta(days=n)


def slide_of(
    history=STEADY, promotions=(), product: SituationProduct = PRODUCT
) -> tuple[LabelContent, SlideContent]:
    content = label_content(PriceSituation(product, STORE, tuple(history), tuple(promotions)))
    return content, build_slide_content(content)


def slide_words(slide: SlideContent) -> list[str]:
    texts = [slide.name, slide.brand, slide.size, slide.price.text, slide.stock]
    texts.append(slide.unit_price or "")
    if slide.promo:
        texts += [slide.promo.band, slide.promo.ends or "", slide.promo.was.text, slide.promo.prior]
    return texts


def test_regular_price_slide():
    _, slide = slide_of()
    assert slide.price.text == f"24,99{NBSP}lei"
    assert (slide.price.parts.major, slide.price.parts.minor) == ("24", "99")
    assert slide.unit_price == f"62,48{NBSP}lei/kg"
    assert (slide.name, slide.brand, slide.size, slide.lang) == (
        "Cașcaval Dalia",
        "Hochland",
        "400 g",
        "ro-RO",
    )
    assert slide.promo is None
    assert (slide.stock, slide.stock_level) == ("În stoc", "in_stock")


def test_promotion_states_struck_price_prior_price_and_its_last_day():
    _, slide = slide_of(promotions=[PromoPeriod(1999, days(-2), days(5))])
    assert slide.price.text == f"19,99{NBSP}lei"
    assert slide.unit_price == f"49,98{NBSP}lei/kg"
    assert slide.promo is not None
    assert slide.promo.band == "PROMOȚIE"
    assert slide.promo.was.text == f"24,99{NBSP}lei"
    assert slide.promo.prior == f"Cel mai mic preț din ultimele 30 de zile: 24,99{NBSP}lei"
    assert slide.promo.ends == "până la 19.03.2026"


def test_fake_discount_shows_the_price_without_a_reduction():
    # 19,99 for months, raised to 24,99 ten days ago, "reduced" back to 19,99: no reduction.
    history = [PricePoint(1999, days(-90)), PricePoint(2499, days(-10))]
    content, slide = slide_of(history, [PromoPeriod(1999, days(-1), days(6))])
    assert content.promo is None
    assert slide.price.text == f"19,99{NBSP}lei"
    assert slide.promo is None
    assert not any("PROMO" in text or "24,99" in text for text in slide_words(slide))


def test_progressive_reduction_is_stated_against_the_price_before_its_first_step():
    first = PromoPeriod(2199, days(-12), days(-2))
    deeper = PromoPeriod(1799, days(-2), days(5))
    _, slide = slide_of(promotions=[first, deeper])
    assert slide.price.text == f"17,99{NBSP}lei"
    assert slide.promo.was.text == f"24,99{NBSP}lei"
    assert slide.promo.prior == f"Cel mai mic preț din ultimele 30 de zile: 24,99{NBSP}lei"


def test_promotion_without_history_says_so_and_invents_no_prior_price():
    _, slide = slide_of(history=[], promotions=[PromoPeriod(1999, days(-2), days(5))])
    assert slide.promo.prior == "Preț anterior indisponibil: istoric 0/30 zile"


def test_out_of_stock_with_restock_date():
    product = replace(PRODUCT, stock=0, restock_date=NOW.date() + timedelta(days=4))
    _, slide = slide_of(product=product)
    assert (slide.stock, slide.stock_level) == ("Stoc epuizat · revine pe 18.03.2026", "out")


def test_words_can_be_given_in_the_store_language():
    words = SlideWords(promo_band="PROMOȚIE", promo_ends="până la {date}", in_stock="În stoc")
    content, _ = slide_of(promotions=[PromoPeriod(1999, days(-2), days(5))])
    slide = build_slide_content(content, words)
    assert (slide.promo.band, slide.promo.ends, slide.stock) == (
        "PROMOȚIE",
        "până la 19.03.2026",
        "În stoc",
    )


def test_unknown_locale_is_refused_with_its_name():
    content, _ = slide_of()
    with pytest.raises(ValueError, match="xx_XX"):
        build_slide_content(replace(content, locale="xx_XX"))


# --- properties: whatever the price situation, slide and label state the same prices -------


@settings(max_examples=400, deadline=None)
@given(price_situations())
def test_slide_states_the_label_prices(situation: PriceSituation):
    label = label_content(situation)
    slide = build_slide_content(label)
    locale = label.locale
    assert slide.price.text == money_text(label.price, locale, NBSP)
    if label.unit_price is None:
        assert slide.unit_price is None
    else:
        unit = label.unit_price
        assert slide.unit_price == unit_price_text(unit.amount, unit.per, locale, NBSP)
    assert (slide.promo is None) == (label.promo is None)
    if label.promo is not None:
        assert slide.promo.was.text == money_text(label.promo.was, locale, NBSP)
        if label.promo.prior_lowest is not None:
            assert slide.promo.prior.endswith(money_text(label.promo.prior_lowest, locale, NBSP))
        else:
            assert slide.promo.prior == label.promo.prior_note


@settings(max_examples=400, deadline=None)
@given(price_situations())
def test_slide_announces_only_reductions_against_the_prior_price(situation: PriceSituation):
    label = label_content(situation)
    slide = build_slide_content(label)
    if slide.promo is None:
        assert not any("PROMO" in text for text in slide_words(slide))
        return
    assert label.price.minor < situation.regular_minor
    prior = label.promo.prior_lowest
    assert prior is None or label.price.minor < prior.minor
