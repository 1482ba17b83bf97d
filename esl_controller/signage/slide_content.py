"""The words and numbers of a product's promo slide, from the content of its shelf label.

Pure: `LabelContent` in, `SlideContent` out. Every legal statement comes from the label's
own functions (`labels.price_format` for money and unit prices, `labels.render` for the
prior-price line, the promotion's end and the stock badge), and the rules behind them (the
30-day prior price, what counts as a reduction) were applied once, in
`labels.content.build_label_content`. So a slide states exactly what the label states: a
promotion band and a struck price only where the label has them, the prior price or the
note saying why it is unknown, and the unit price beside the price.
"""

from __future__ import annotations

from dataclasses import dataclass

from esl_controller.labels.content import LabelContent
from esl_controller.labels.price_format import (
    NBSP,
    PriceParts,
    format_money,
    money_text,
    unit_price_text,
)
from esl_controller.labels.render import prior_price_text, promo_ends_text, stock_text
from esl_controller.labels.templates import Box, Element
from esl_controller.labels.words import label_words
from esl_controller.money import Money

_NO_BOX = Box(0, 0, 0, 0)  # the label's text functions take an element; a slide has no box


@dataclass(frozen=True)
class SlideWords:
    """The fixed words of a slide; the defaults are those of the promo label template."""

    promo_band: str = "PROMO"
    promo_ends: str = "until {date}"
    prior_price: str = "Lowest price 30 days before: "
    no_history: str = "Not enough price history to show the prior price"
    in_stock: str = "In stock"
    low_stock: str = "Low stock"
    out_of_stock: str = "Out of stock"
    restock: str = "back {date}"
    date_format: str = "%d.%m.%Y"


@dataclass(frozen=True)
class SlidePrice:
    """A price as one line ("24,99 lei", with a no-break space) and in the parts the slide
    sets in different sizes (integer units big, decimals and symbol small)."""

    text: str
    parts: PriceParts

    @property
    def gap(self) -> str:
        """What stands between the number and its symbol: a no-break space, or nothing."""
        return NBSP if self.parts.space else ""


@dataclass(frozen=True)
class SlidePromo:
    band: str  # "PROMO"
    ends: str | None  # "until 21.03.2025"; None when the promotion has no end date
    was: SlidePrice  # the regular price, struck through
    prior: str  # the 30-day prior price statement, or the note why it is unknown


@dataclass(frozen=True)
class SlideContent:
    gtin: str
    name: str
    brand: str
    size: str  # "400 g"; "" when unknown
    lang: str  # BCP 47 tag for the document: "ro-RO"
    price: SlidePrice  # the price to pay now
    unit_price: str | None  # "62,48 lei/kg" (98/6/EC); None for products sold without one
    promo: SlidePromo | None  # only when the label announces a reduction
    stock: str  # the stock badge's words
    stock_level: str  # in_stock | low | out


def build_slide_content(content: LabelContent, words: SlideWords | None = None) -> SlideContent:
    """What the product's slide says, in the words of its label. Raises ValueError for an
    unknown locale or currency (as the label does)."""
    words = words or SlideWords()
    locale = content.locale
    unit = content.unit_price
    return SlideContent(
        gtin=content.gtin,
        name=content.name,
        brand=content.brand,
        size=content.size_text,
        lang=locale.replace("_", "-"),
        price=_price(content.price, locale),
        unit_price=unit_price_text(unit.amount, unit.per, locale, NBSP) if unit else None,
        promo=_promo(content, words),
        stock=stock_text(_stock_element(words), content),
        stock_level=content.stock.level,
    )


def _price(money: Money, locale: str) -> SlidePrice:
    return SlidePrice(text=money_text(money, locale, NBSP), parts=format_money(money, locale))


def _promo(content: LabelContent, words: SlideWords) -> SlidePromo | None:
    if content.promo is None:
        return None
    prior = Element(
        type="prior_price", box=_NO_BOX, text=words.prior_price, no_history_text=words.no_history
    )
    ends = Element(
        type="promo_ends", box=_NO_BOX, text=words.promo_ends, date_format=words.date_format
    )
    return SlidePromo(
        band=label_words(content.locale).gettext(words.promo_band),
        ends=promo_ends_text(ends, content),
        was=_price(content.promo.was, content.locale),
        prior=prior_price_text(prior, content) or "",
    )


def _stock_element(words: SlideWords) -> Element:
    return Element(
        type="stock_badge",
        box=_NO_BOX,
        in_stock_text=words.in_stock,
        low_text=words.low_stock,
        out_text=words.out_of_stock,
        restock_text=words.restock,
        date_format=words.date_format,
    )
