from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import pytest

from esl_controller.catalogue.gtin import InvalidGTIN
from esl_controller.catalogue.prior_price import PricePoint, PriorPrice
from esl_controller.catalogue.promotions import PromoPeriod
from esl_controller.labels.content import (
    LabelContent,
    Money,
    PromoInfo,
    StockInfo,
    UnitPrice,
    build_label_content,
    content_fingerprint,
    prior_note,
)
from esl_controller.labels.words import available_languages
from esl_controller.models import PriceHistory, Product, Promotion, Store

NOW = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)  # Bucharest is UTC+2 until 30 March


@dataclass
class PlainProduct:
    gtin: str = "5941234000013"
    name: str = "Brânză telemea de oaie"
    brand: str = "Stâna din Bucegi"
    net_quantity: float | None = 400
    unit: str = "g"
    price_minor: int = 2299
    currency: str = "RON"
    stock: int | None = 40
    low_stock_threshold: int = 5
    restock_date: date | None = None


@dataclass
class PlainStore:
    locale: str = "ro_RO"
    timezone: str = "Europe/Bucharest"
    extra: list[str] = field(default_factory=list)  # unrelated attributes are ignored


LONG_HISTORY = [
    PricePoint(2399, NOW - timedelta(days=90)),
    PricePoint(2199, NOW - timedelta(days=20)),
    PricePoint(2299, NOW - timedelta(days=8)),
]


def promo(price: int, start_days: float = -2, end_days: float = 5) -> PromoPeriod:
    return PromoPeriod(price, NOW + timedelta(days=start_days), NOW + timedelta(days=end_days))


def build(
    product: PlainProduct | None = None,
    history: list[PricePoint] | None = None,
    promotions: list[PromoPeriod] | None = None,
    store: PlainStore | None = None,
) -> LabelContent:
    return build_label_content(
        product or PlainProduct(),
        store or PlainStore(),
        LONG_HISTORY if history is None else history,
        promotions or [],
        NOW,
    )


def test_regular_price_label() -> None:
    content = build()
    assert content == LabelContent(
        gtin="5941234000013",
        name="Brânză telemea de oaie",
        brand="Stâna din Bucegi",
        price=Money(2299, "RON"),
        locale="ro_RO",
        unit_price=UnitPrice(Money(5748, "RON"), "kg"),  # 22.99 / 0.4 kg = 57.475 -> 57.48
        promo=None,
        stock=StockInfo("in_stock", 40, None),
        digital_link="https://id.gs1.org/01/05941234000013",
        size_text="400 g",
    )


def test_active_promotion_sets_price_unit_price_and_promo_block() -> None:
    content = build(promotions=[promo(1799, start_days=-2, end_days=5)])
    assert content.price == Money(1799, "RON")
    assert content.unit_price == UnitPrice(Money(4498, "RON"), "kg")  # from the price charged
    assert content.promo == PromoInfo(
        was=Money(2299, "RON"),
        prior_lowest=Money(2199, "RON"),  # applied 20 days before: inside the 30-day window
        prior_note=None,
        ends=date(2025, 3, 19),  # ends 2025-03-19 10:00 UTC = 12:00 in Bucharest
    )


def test_cheapest_active_promotion_wins_and_future_or_past_ones_are_ignored() -> None:
    promotions = [
        promo(1899),
        promo(1699, start_days=-1, end_days=3),
        promo(999, start_days=1, end_days=8),  # not started
        promo(1099, start_days=-60, end_days=-40),  # long over
    ]
    assert build(promotions=promotions).price == Money(1699, "RON")


def test_promotion_bounds_start_inclusive_end_exclusive() -> None:
    assert build(promotions=[promo(1799, start_days=0, end_days=1)]).promo is not None
    assert build(promotions=[promo(1799, start_days=-1, end_days=0)]).promo is None


def test_promotion_not_below_regular_price_is_no_reduction() -> None:
    content = build(promotions=[promo(2299), promo(2499)])
    assert content.price == Money(2299, "RON")
    assert content.promo is None


def test_earlier_cheaper_promotion_in_window_is_the_prior_price() -> None:
    earlier = promo(1599, start_days=-20, end_days=-13)
    current = promo(1499, start_days=-2, end_days=5)
    content = build(promotions=[earlier, current])
    assert content.price == Money(1499, "RON")
    assert content.promo.prior_lowest == Money(1599, "RON")


def test_promotion_not_below_the_prior_price_is_charged_but_not_announced() -> None:
    # The regular price was 2199 twenty days ago: a "promotion" at 2199 (or above it) lowers
    # today's 2299 but is no reduction against the 30-day low, so it must not look like one.
    for price in (2199, 2249):
        content = build(promotions=[promo(price)])
        assert content.price == Money(price, "RON")
        assert content.unit_price == build(PlainProduct(price_minor=price)).unit_price
        assert content.promo is None


def test_promotion_after_an_earlier_cheaper_one_is_no_reduction() -> None:
    earlier = promo(1599, start_days=-20, end_days=-13)
    content = build(promotions=[earlier, promo(1799, start_days=-2, end_days=5)])
    assert content.price == Money(1799, "RON")
    assert content.promo is None


def test_short_history_says_so_in_the_store_language() -> None:
    history = [PricePoint(2299, NOW - timedelta(days=14))]
    content = build(history=history, promotions=[promo(1799, start_days=-2)])
    assert content.promo.prior_lowest is None
    assert content.promo.prior_note == "Preț anterior indisponibil: istoric 12/30 zile"


def test_prior_note_in_a_locale_without_catalogue_is_english() -> None:
    short = PriorPrice(None, "short", "short_history", 0, 30)
    assert prior_note(short, "sv_SE") == "Prior price n/a: 0/30 days of price history"


def test_prior_notes_name_the_days_in_every_language() -> None:
    short = PriorPrice(None, "short", "short_history", 12, 30)
    new = PriorPrice(None, "new", "new_product", 5, 30)
    for language in available_languages():
        assert "12/30" in prior_note(short, f"{language}_XX")
        assert "30" in prior_note(new, f"{language}_XX")
        assert prior_note(new, f"{language}_XX") != prior_note(short, f"{language}_XX")
    assert prior_note(new, "pl_PL") == "Nowy produkt: brak ceny z 30 dni"


def test_promo_end_date_is_the_last_local_day() -> None:
    # 22:00 UTC is midnight in Bucharest: the promotion's last day is the 20th.
    ends = datetime(2025, 3, 20, 22, 0, tzinfo=UTC)
    content = build(promotions=[PromoPeriod(1799, NOW - timedelta(days=1), ends)])
    assert content.promo.ends == date(2025, 3, 20)
    ends = datetime(2025, 3, 20, 22, 1, tzinfo=UTC)
    content = build(promotions=[PromoPeriod(1799, NOW - timedelta(days=1), ends)])
    assert content.promo.ends == date(2025, 3, 21)


def test_naive_promotion_end_is_taken_as_utc() -> None:
    naive_end = datetime(2025, 3, 20, 22, 0)
    start = NOW.replace(tzinfo=None) - timedelta(days=1)
    content = build_label_content(
        PlainProduct(),
        PlainStore(),
        [],
        [PromoPeriod(1799, start, naive_end)],
        NOW.replace(tzinfo=None),
    )
    assert content.promo.ends == date(2025, 3, 20)


def test_unknown_store_timezone_is_named() -> None:
    with pytest.raises(ValueError, match="unknown store timezone 'Mars/Olympus'"):
        build(promotions=[promo(1799)], store=PlainStore(timezone="Mars/Olympus"))


@pytest.mark.parametrize(
    ("stock", "restock", "expected"),
    [
        (0, date(2025, 3, 18), StockInfo("out", 0, date(2025, 3, 18))),
        (0, None, StockInfo("out", 0, None)),
        (3, date(2025, 3, 18), StockInfo("low", 3, date(2025, 3, 18))),
        (5, None, StockInfo("low", 5, None)),
        (6, date(2025, 3, 18), StockInfo("in_stock", 6, None)),  # no restock talk when stocked
        (None, None, StockInfo("in_stock", None, None)),
    ],
)
def test_stock_info(stock: int | None, restock: date | None, expected: StockInfo) -> None:
    assert build(PlainProduct(stock=stock, restock_date=restock)).stock == expected


def test_gtin12_is_padded_in_the_digital_link() -> None:
    content = build(PlainProduct(gtin=" 036000291452"))
    assert content.gtin == "036000291452"
    assert content.digital_link == "https://id.gs1.org/01/00036000291452"


def test_invalid_gtin_is_refused() -> None:
    with pytest.raises(InvalidGTIN, match="check digit is 5, expected 3"):
        build(PlainProduct(gtin="5941234000015"))


def test_multipack_and_single_piece() -> None:
    six_pack = build(PlainProduct(net_quantity=6, unit="piece", price_minor=1499))
    assert six_pack.unit_price == UnitPrice(Money(250, "RON"), "piece")
    assert six_pack.size_text == "6 buc."
    single = build(PlainProduct(net_quantity=1, unit="piece", price_minor=1499))
    assert single.unit_price is None


def test_no_quantity_no_unit_price_no_size() -> None:
    content = build(PlainProduct(net_quantity=None))
    assert content.unit_price is None
    assert content.size_text == ""


def test_works_with_sqlmodel_rows() -> None:
    store = Store(id="s1", name="Cluj", locale="de_DE", currency="EUR", timezone="Europe/Berlin")
    product = Product(
        id=7, store_id="s1", gtin="4006381333931", name="Weißbier naturtrüb", brand="Großmühle",
        net_quantity=500, unit="ml", price_minor=149, currency="EUR", stock=2,
    )  # fmt: skip
    history = [
        PriceHistory(product_id=7, price_minor=139, effective_at=NOW - timedelta(days=45)),
        PriceHistory(product_id=7, price_minor=149, effective_at=NOW - timedelta(days=10)),
    ]
    promotion = Promotion(
        product_id=7,
        price_minor=119,
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=6),
    )
    content = build_label_content(product, store, history, [promotion], NOW)
    assert content.price == Money(119, "EUR")
    assert content.unit_price == UnitPrice(Money(238, "EUR"), "l")
    assert content.promo.prior_lowest == Money(139, "EUR")
    assert content.stock.level == "low"
    assert content.size_text == "500 ml"


# --- fingerprint ---------------------------------------------------------------------------

BASE = build(PlainProduct(stock=0, restock_date=date(2025, 3, 18)), promotions=[promo(1799)])


def test_fingerprint_is_sha256_hex_and_equal_for_equal_inputs() -> None:
    again = build(PlainProduct(stock=0, restock_date=date(2025, 3, 18)), promotions=[promo(1799)])
    assert again is not BASE
    fingerprint = content_fingerprint(BASE, "price", "2.9bwr")
    assert len(fingerprint) == 64
    assert int(fingerprint, 16) >= 0
    assert content_fingerprint(again, "price", "2.9bwr") == fingerprint


@pytest.mark.parametrize(
    "changed",
    [
        replace(BASE, gtin="5941234000020"),
        replace(BASE, name=BASE.name + "!"),
        replace(BASE, brand=""),
        replace(BASE, price=Money(1798, "RON")),
        replace(BASE, price=Money(1799, "EUR")),
        replace(BASE, locale="de_DE"),
        replace(BASE, unit_price=None),
        replace(BASE, promo=replace(BASE.promo, prior_lowest=None, prior_note="x")),
        replace(BASE, promo=replace(BASE.promo, ends=date(2025, 3, 20))),
        replace(BASE, stock=replace(BASE.stock, restock_date=date(2025, 3, 19))),
        replace(BASE, stock=replace(BASE.stock, quantity=1, level="low")),
        replace(BASE, digital_link=BASE.digital_link + "?x"),
        replace(BASE, size_text="401 g"),
    ],
)
def test_fingerprint_changes_with_every_field(changed: LabelContent) -> None:
    assert content_fingerprint(changed, "price", "2.9bwr") != content_fingerprint(
        BASE, "price", "2.9bwr"
    )


def test_fingerprint_changes_with_template_and_model() -> None:
    base = content_fingerprint(BASE, "price", "2.9bwr")
    assert content_fingerprint(BASE, "promo", "2.9bwr") != base
    assert content_fingerprint(BASE, "price", "4.2bwr") != base
    # The separation is structural: moving text between template and model is a change.
    assert content_fingerprint(BASE, "ab", "c") != content_fingerprint(BASE, "a", "bc")
