"""A promotion that is no reduction of the 30-day prior price: plain price, or refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from esl_controller.catalogue.prior_price import FakeDiscount, PricePoint
from esl_controller.catalogue.promotions import PromoPeriod
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.labels.catalogue_slice import PROMOTION_REFUSED, render_jobs
from esl_controller.labels.content import LabelContent, build_label_content, refused_promotion
from esl_controller.models import Incident, Label, PriceHistory, Product, Promotion

NOW = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)


@dataclass
class PlainProduct:
    gtin: str = "5941234000013"
    name: str = "Cașcaval"
    brand: str = "Napolact"
    net_quantity: float | None = 400
    unit: str = "g"
    price_minor: int = 1000
    currency: str = "RON"
    stock: int | None = 40
    low_stock_threshold: int = 5
    restock_date: date | None = None


@dataclass
class PlainStore:
    locale: str = "ro_RO"
    timezone: str = "Europe/Bucharest"


def days(n: float) -> datetime:
    return NOW + timedelta(days=n)


# 10.00 for a year, then 8.00 from 20 days ago: the 30-day low before today is 8.00
CUT_PRICE_HISTORY = [PricePoint(1000, days(-365)), PricePoint(800, days(-20))]
STEADY_HISTORY = [PricePoint(1000, days(-365))]


def build(
    history: list[PricePoint], promotions: list[PromoPeriod], policy: FakeDiscount
) -> LabelContent:
    return build_label_content(PlainProduct(), PlainStore(), history, promotions, NOW, policy)


def test_a_real_reduction_stays_under_either_setting() -> None:
    promotions = [PromoPeriod(700, days(-1), days(6))]
    for policy in FakeDiscount:
        content = build(CUT_PRICE_HISTORY, promotions, policy)
        assert content.price.minor == 700
        assert content.promo is not None
        assert content.promo.prior_lowest is not None
        assert content.promo.prior_lowest.minor == 800


def test_a_fake_reduction_is_a_plain_price_under_plain() -> None:
    promotions = [PromoPeriod(900, days(-1), days(6))]  # below 10.00, not below the 8.00 low
    content = build(CUT_PRICE_HISTORY, promotions, FakeDiscount.PLAIN)
    assert content.price.minor == 900  # charged
    assert content.promo is None  # never announced as a reduction
    assert (
        refused_promotion(PlainProduct(), CUT_PRICE_HISTORY, promotions, NOW, FakeDiscount.PLAIN)
        is None
    )


def test_a_fake_reduction_is_refused_under_refuse() -> None:
    promotions = [PromoPeriod(900, days(-1), days(6))]
    content = build(CUT_PRICE_HISTORY, promotions, FakeDiscount.REFUSE)
    assert content.price.minor == 1000  # the regular price, not the promotion's
    assert content.promo is None
    assert content.unit_price is not None
    assert content.unit_price.amount.minor == 2500  # 10.00 per 400 g
    refused = refused_promotion(
        PlainProduct(), CUT_PRICE_HISTORY, promotions, NOW, FakeDiscount.REFUSE
    )
    assert refused is promotions[0]


def test_a_promotion_at_the_prior_low_is_no_reduction() -> None:
    promotions = [PromoPeriod(800, days(-1), days(6))]
    assert build(CUT_PRICE_HISTORY, promotions, FakeDiscount.REFUSE).price.minor == 1000


def test_an_earlier_cheaper_promotion_in_the_window_makes_a_later_one_fake() -> None:
    promotions = [PromoPeriod(600, days(-25), days(-15)), PromoPeriod(700, days(-1), days(6))]
    assert build(STEADY_HISTORY, promotions, FakeDiscount.REFUSE).price.minor == 1000
    assert build(STEADY_HISTORY, promotions, FakeDiscount.PLAIN).price.minor == 700


def test_a_progressive_reduction_counts_against_the_prior_price_of_the_first_step() -> None:
    """9.00 for a week, then 8.00, then 8.00 again under a new promotion: each step is one
    reduction of the 10.00 in force before the first, not of the step before it."""
    steps = [
        PromoPeriod(900, days(-14), days(-7)),
        PromoPeriod(800, days(-7), days(-1)),
        PromoPeriod(800, days(-1), days(6)),
    ]
    for policy in FakeDiscount:
        content = build(STEADY_HISTORY, steps, policy)
        assert content.price.minor == 800
        assert content.promo is not None
        assert content.promo.prior_lowest is not None
        assert content.promo.prior_lowest.minor == 1000


def test_a_step_up_after_a_deeper_promotion_is_not_part_of_one_reduction() -> None:
    """8.00 then 9.00 without a gap: the reduction shrank, so 9.00 is judged on its own
    window, where 8.00 was applied: no reduction."""
    steps = [PromoPeriod(800, days(-10), days(-1)), PromoPeriod(900, days(-1), days(6))]
    assert build(STEADY_HISTORY, steps, FakeDiscount.REFUSE).price.minor == 1000
    plain = build(STEADY_HISTORY, steps, FakeDiscount.PLAIN)
    assert plain.price.minor == 900
    assert plain.promo is None


def test_a_gap_between_promotions_starts_a_new_reduction() -> None:
    """8.00 ended five days ago; 8.00 again now is no reduction of the window's 8.00 low."""
    steps = [PromoPeriod(800, days(-10), days(-5)), PromoPeriod(800, days(-1), days(6))]
    assert build(STEADY_HISTORY, steps, FakeDiscount.REFUSE).price.minor == 1000


def test_unknown_prior_price_is_not_refused() -> None:
    """With no history the prior price is unknown: the label says so, the promotion stays."""
    promotions = [PromoPeriod(900, days(-1), days(6))]
    content = build([], promotions, FakeDiscount.REFUSE)
    assert content.price.minor == 900
    assert content.promo is not None
    assert content.promo.prior_lowest is None


def test_refused_promotion_is_one_incident_however_often_it_renders(engine, seed_store) -> None:
    (label_id,) = seed_store(labels=1, stations=1)
    now = utcnow()
    with Session(engine) as s:
        product_id = s.get(Label, label_id).product_id
        s.execute(update(Product).where(Product.id == product_id).values(price_minor=1000))
        s.add(
            PriceHistory(
                product_id=product_id, price_minor=1000, effective_at=now - timedelta(days=400)
            )
        )
        s.add(
            PriceHistory(
                product_id=product_id, price_minor=800, effective_at=now - timedelta(days=20)
            )
        )
        s.add(
            PriceHistory(
                product_id=product_id, price_minor=1000, effective_at=now - timedelta(days=5)
            )
        )
        s.add(
            Promotion(
                product_id=product_id,
                price_minor=900,
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=6),
            )
        )
        s.commit()
    for _ in range(3):
        with Session(engine) as s:
            problems: dict[str, int] = {}
            (job,) = render_jobs(s, [label_id], now, problems, fake_discount=FakeDiscount.REFUSE)
            s.commit()
        assert job.content.price.minor == 1000
    with Session(engine) as s:
        incidents = s.scalars(select(Incident).where(Incident.kind == PROMOTION_REFUSED)).all()
        product = s.get(Product, product_id)
    assert len(incidents) == 1
    assert product.gtin in incidents[0].message
    assert incidents[0].subject.startswith("promotion:")


def test_plain_records_no_refusal(engine, seed_store) -> None:
    (label_id,) = seed_store(labels=1, stations=1)
    now = utcnow()
    with Session(engine) as s:
        product_id = s.get(Label, label_id).product_id
        s.execute(update(Product).where(Product.id == product_id).values(price_minor=1000))
        s.add(
            PriceHistory(
                product_id=product_id, price_minor=800, effective_at=now - timedelta(days=400)
            )
        )
        s.add(
            Promotion(
                product_id=product_id,
                price_minor=900,
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=6),
            )
        )
        s.commit()
    with Session(engine) as s:
        (job,) = render_jobs(s, [label_id], now, {})
        s.commit()
        count = s.scalar(
            select(func.count()).select_from(Incident).where(Incident.kind == PROMOTION_REFUSED)
        )
    assert job.content.price.minor == 900
    assert count == 0


def test_the_setting_is_read_from_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("ESL_FAKE_DISCOUNT", raising=False)
    assert Settings.from_env().fake_discount is FakeDiscount.PLAIN
    monkeypatch.setenv("ESL_FAKE_DISCOUNT", "Refuse")
    assert Settings.from_env().fake_discount is FakeDiscount.REFUSE
    monkeypatch.setenv("ESL_FAKE_DISCOUNT", "hide")
    with pytest.raises(ValueError, match="ESL_FAKE_DISCOUNT must be one of plain, refuse"):
        Settings.from_env()
