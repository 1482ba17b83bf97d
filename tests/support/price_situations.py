"""Hypothesis strategies for a product's price situation: its regular price, price history,
promotions (past, current, overlapping) and stock, in every locale and currency a label
formats. `label_content` turns one into the `LabelContent` the shelf label is drawn from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hypothesis import strategies as st

from esl_controller.catalogue.prior_price import PricePoint
from esl_controller.catalogue.promotions import PromoPeriod
from esl_controller.labels.content import LabelContent, build_label_content
from esl_controller.labels.price_format import CURRENCY_SYMBOLS, LOCALE_STYLES

NOW = datetime(2026, 3, 14, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class SituationProduct:
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


@dataclass(frozen=True)
class SituationStore:
    locale: str
    timezone: str


@dataclass(frozen=True)
class PriceSituation:
    product: SituationProduct
    store: SituationStore
    history: tuple[PricePoint, ...]
    promotions: tuple[PromoPeriod, ...]

    @property
    def regular_minor(self) -> int:
        return self.product.price_minor


def label_content(situation: PriceSituation, now: datetime = NOW) -> LabelContent:
    return build_label_content(
        situation.product, situation.store, situation.history, situation.promotions, now
    )


prices = st.integers(min_value=1, max_value=2_000_000)
hours_ago = st.integers(min_value=0, max_value=24 * 120)


@st.composite
def promotions(draw: st.DrawFn) -> PromoPeriod:
    starts = NOW - timedelta(hours=draw(st.integers(min_value=-48, max_value=24 * 60)))
    length = timedelta(hours=draw(st.integers(min_value=1, max_value=24 * 40)))
    return PromoPeriod(draw(prices), starts, starts + length)


@st.composite
def price_situations(draw: st.DrawFn) -> PriceSituation:
    regular = draw(prices)
    history = [
        PricePoint(draw(prices), NOW - timedelta(hours=ago))
        for ago in draw(st.lists(hours_ago, max_size=5, unique=True))
    ]
    # The regular price took effect some time ago (or the history does not show when).
    if draw(st.booleans()):
        history.append(PricePoint(regular, NOW - timedelta(hours=draw(hours_ago))))
    unit, quantity = draw(
        st.sampled_from(
            [("g", 400.0), ("kg", 1.0), ("ml", 330.0), ("l", 1.5), ("piece", 6.0), ("g", None)]
        )
    )
    stock = draw(st.none() | st.integers(min_value=0, max_value=200))
    product = SituationProduct(
        gtin="5941234000013",
        name=draw(st.sampled_from(["Brânză telemea", "Молоко 3,2%", "Γιαούρτι", "Żubrówka"])),
        brand=draw(st.sampled_from(["", "Stâna", "Простоквашино"])),
        net_quantity=quantity,
        unit=unit,
        price_minor=regular,
        currency=draw(st.sampled_from(sorted(CURRENCY_SYMBOLS))),
        stock=stock,
        low_stock_threshold=5,
        restock_date=draw(st.none() | st.just(date(2026, 3, 20))),
    )
    store = SituationStore(
        locale=draw(st.sampled_from(sorted(LOCALE_STYLES))),
        timezone=draw(st.sampled_from(["UTC", "Europe/Bucharest", "Europe/Moscow"])),
    )
    promos = draw(st.lists(promotions(), max_size=3))
    return PriceSituation(product, store, tuple(history), tuple(promos))
