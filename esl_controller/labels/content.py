"""What a label shows, as plain data: the renderer's only input besides template and model.

`LabelContent` is built from catalogue rows by `build_label_content` (pure: rows and a
clock reading in, content out), so rendering never touches the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from esl_controller.catalogue.gtin import to_gtin14, validate_gtin
from esl_controller.catalogue.prior_price import (
    FakeDiscount,
    PricedAt,
    PriorPrice,
    is_reduction,
    reduction_prior_price,
)
from esl_controller.catalogue.promotions import P, PromotionLike, active_promotion
from esl_controller.catalogue.stock import stock_level
from esl_controller.catalogue.units import unit_price
from esl_controller.labels.price_format import size_text
from esl_controller.labels.words import label_words
from esl_controller.money import Money


@dataclass(frozen=True)
class UnitPrice:
    amount: Money
    per: str  # "kg", "l", "m" or "piece"


@dataclass(frozen=True)
class PromoInfo:
    was: Money  # the regular price, shown struck through
    # Lowest price applied in the 30 days before the reduction (EU 2019/2161); None when the
    # history does not cover those 30 days, and then `prior_note` says so on the label.
    prior_lowest: Money | None
    prior_note: str | None
    ends: date | None


@dataclass(frozen=True)
class StockInfo:
    level: str  # in_stock | low | out
    quantity: int | None
    restock_date: date | None


@dataclass(frozen=True)
class LabelContent:
    gtin: str
    name: str
    brand: str
    price: Money  # the price to pay now (the promo price during a promotion)
    locale: str  # e.g. ro_RO, de_DE, pl_PL, ru_RU, en_GB, en_US, el_GR
    unit_price: UnitPrice | None
    promo: PromoInfo | None
    stock: StockInfo
    digital_link: str  # GS1 Digital Link URI for the QR code
    size_text: str = ""  # e.g. "500 g", shown near the unit price


# --- building content from catalogue rows -------------------------------------------------


class ProductLike(Protocol):
    """The attributes of `models.Product` the content depends on."""

    gtin: str
    name: str
    brand: str
    net_quantity: float | None
    unit: str
    price_minor: int
    currency: str
    stock: int | None
    low_stock_threshold: int
    restock_date: date | None


class StoreLike(Protocol):
    locale: str
    timezone: str


DIGITAL_LINK_BASE = "https://id.gs1.org/01/"

# What the label says when the prior price cannot be shown: {covered}/{window} days of
# history, or a product newer than the window. Short, and free of plural forms per number;
# the words come from the store locale's label catalogue (labels/words.py).
PRIOR_NOTE_HISTORY = "Prior price n/a: {covered}/{window} days of price history"
PRIOR_NOTE_NEW = "New product: no {window}-day prior price"


def build_label_content(
    product: ProductLike,
    store: StoreLike,
    history: Sequence[PricedAt],
    promotions: Sequence[PromotionLike],
    now: datetime,
    fake_discount: FakeDiscount = FakeDiscount.PLAIN,
) -> LabelContent:
    """What the product's label shows at `now` (aware UTC). Pure: no database, no clock.

    `history` is the product's regular price history and `promotions` its promotions (any
    of them; the one in force at `now` is chosen here). A "promotion" that does not lower
    the regular price is no reduction, so the label shows the regular price without one. One
    priced at or above the 30-day prior price is charged, but shown as a plain price: no
    promotion band, no struck price (`catalogue.prior_price.is_reduction`); with
    `fake_discount` REFUSE it is not applied at all (`refused_promotion` names it).
    """
    gtin = validate_gtin(product.gtin)
    regular = Money(product.price_minor, product.currency)
    promotion = active_promotion(promotions, now)
    if promotion is not None and promotion.price_minor >= regular.minor:
        promotion = None
    if promotion is not None and promotion is refused_promotion(
        product, history, promotions, now, fake_discount
    ):
        promotion = None
    price = Money(promotion.price_minor, regular.currency) if promotion else regular
    promo = _promo_info(regular, promotion, history, promotions, store)
    return LabelContent(
        gtin=gtin,
        name=product.name,
        brand=product.brand,
        price=price,
        locale=store.locale,
        unit_price=_unit_price(product, price),
        promo=promo,
        stock=_stock_info(product),
        digital_link=DIGITAL_LINK_BASE + to_gtin14(gtin),
        size_text=size_text(product.net_quantity, product.unit, store.locale),
    )


def _unit_price(product: ProductLike, price: Money) -> UnitPrice | None:
    quote = unit_price(price.minor, price.currency, product.net_quantity, product.unit)
    return UnitPrice(Money(quote.minor, quote.currency), quote.per) if quote else None


def refused_promotion(
    product: ProductLike,
    history: Sequence[PricedAt],
    promotions: Sequence[P],
    now: datetime,
    fake_discount: FakeDiscount,
) -> P | None:
    """The promotion in force at `now` that the store refuses as no reduction, if any.

    Only under REFUSE, and only a promotion below the regular price that is not below the
    30-day prior price (one at or above the regular price is ignored anyway).
    """
    if fake_discount is not FakeDiscount.REFUSE:
        return None
    promotion = active_promotion(promotions, now)
    if promotion is None or promotion.price_minor >= product.price_minor:
        return None
    prior = reduction_prior_price(promotion, history, promotions)
    return None if is_reduction(promotion.price_minor, product.price_minor, prior) else promotion


def _promo_info(
    regular: Money,
    promotion: PromotionLike | None,
    history: Sequence[PricedAt],
    promotions: Sequence[PromotionLike],
    store: StoreLike,
) -> PromoInfo | None:
    if promotion is None:
        return None
    prior = reduction_prior_price(promotion, history, promotions)
    if not is_reduction(promotion.price_minor, regular.minor, prior):
        return None  # the promotion's price is charged, but not announced as a reduction
    lowest = prior.lowest_minor
    return PromoInfo(
        was=regular,
        prior_lowest=Money(lowest, regular.currency) if lowest is not None else None,
        prior_note=None if lowest is not None else prior_note(prior, store.locale),
        ends=last_local_day(promotion.ends_at, store.timezone),
    )


def prior_note(prior: PriorPrice, locale: str) -> str:
    """The label's words for a missing prior price, in the store's language (English else)."""
    message = PRIOR_NOTE_NEW if prior.gap == "new_product" else PRIOR_NOTE_HISTORY
    words = label_words(locale).gettext(message)
    return words.replace("{covered}", str(prior.covered_days)).replace(
        "{window}", str(prior.window_days)
    )


def last_local_day(ends_at: datetime, timezone: str) -> date:
    """The last store-local day a promotion ending (exclusively) at `ends_at` is on.

    A naive `ends_at` is taken as UTC.
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown store timezone {timezone!r}") from exc
    aware = ends_at if ends_at.tzinfo is not None else ends_at.replace(tzinfo=UTC)
    last_moment = aware - timedelta(microseconds=1)
    return last_moment.astimezone(zone).date()


def _stock_info(product: ProductLike) -> StockInfo:
    level = stock_level(product.stock, product.low_stock_threshold)
    # A restock date only means something while the shelf is short.
    restock = product.restock_date if level != "in_stock" else None
    return StockInfo(level=level, quantity=product.stock, restock_date=restock)


FINGERPRINT_VERSION = "2"  # bump when the fingerprint's encoding changes


def content_fingerprint(content: LabelContent, template: str, model: str) -> str:
    """A stable sha256 hex of everything the renderer uses: equal inputs, equal fingerprint.

    The locale's label catalogue counts too: a corrected translation re-renders its labels.
    """
    document = {
        "v": FINGERPRINT_VERSION,
        "template": template,
        "model": model,
        "content": asdict(content),
        "words": label_words(content.locale).digest,
    }
    encoded = json.dumps(
        document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_value
    )
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _json_value(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot fingerprint {type(value).__name__}: {value!r}")
