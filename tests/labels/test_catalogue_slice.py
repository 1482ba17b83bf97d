"""The catalogue slice reads everything a label's content needs, and not less."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.labels.catalogue_slice import CatalogueSlice
from esl_controller.models import Label, PriceHistory, Product, Promotion


def test_an_earlier_promotion_counts_back_to_30_days_before_the_running_one_began(
    engine, seed_store
):
    """A promotion running for 20 days is judged against the 30 days before its start: a
    cheaper promotion that ended 35 days ago is inside that window, so 9.00 is no reduction
    against a prior low of 7.00 (shown as a plain price, never as 'PROMO')."""
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
            Promotion(
                product_id=product_id,
                price_minor=700,
                starts_at=now - timedelta(days=45),
                ends_at=now - timedelta(days=35),
            )
        )
        s.add(
            Promotion(
                product_id=product_id,
                price_minor=900,
                starts_at=now - timedelta(days=20),
                ends_at=now + timedelta(days=20),
            )
        )
        s.commit()
    with Session(engine) as s:
        label = s.get(Label, label_id)
        catalogue = CatalogueSlice.load(s, [label], now)
        job = catalogue.job_for(label)
    assert sorted(p.price_minor for p in catalogue.promotions[product_id]) == [700, 900]
    assert job.content.price.minor == 900  # charged at the promotion price
    assert job.content.promo is None  # not below the 30-day low of 7.00: no reduction shown
