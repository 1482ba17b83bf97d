"""Products in crafted price situations for the promo-slide tests (the web route and the
browser), added to the web tests' seeded store, plus a screen's player credential."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.models import PriceHistory, Product, Promotion
from esl_controller.web.auth import PLAYER_ROLE, create_user, issue_api_token

PLAYER = ("screen-01", "screen-01-password")


@dataclass(frozen=True)
class Situation:
    gtin: str
    name: str
    regular_minor: int
    history: tuple[tuple[int, int], ...]  # (days ago, price)
    promotions: tuple[tuple[int, int, int], ...] = ()  # (price, started days ago, days left)
    stock: int = 40
    status: str = "active"


SITUATIONS = {
    # A real reduction: 24,99 lei for two months, 19,99 lei on promotion.
    "promo": Situation("5940000000011", "Cașcaval Dalia", 2499, ((60, 2499),), ((1999, 2, 5),)),
    # Raised to 24,99 ten days ago, "reduced" back to the 19,99 of before: no reduction.
    "fake": Situation(
        "5940000000028", "Telemea de vacă", 2499, ((60, 1999), (10, 2499)), ((1999, 1, 6),)
    ),
    # 24,99, then 21,99 on promotion, now 17,99 straight after: one progressive reduction,
    # stated against the 24,99 before its first step (Art. 6a(5), docs/operations.md).
    "progressive": Situation(
        "5940000000035",
        "Unt 82% grăsime",
        2499,
        ((60, 2499),),
        ((2199, 12, -2), (1799, 2, 5)),
    ),
    # New in store three days ago and already on promotion: the prior price is unknown.
    "no_history": Situation(
        "5940000000042", "Smântână 20%", 1299, ((3, 1299),), ((999, 1, 6),), stock=2
    ),
    "plain": Situation("5940000000059", "Iaurt grecesc", 899, ((60, 899),), stock=0),
    "delisted": Situation("5940000000066", "Lapte praf", 1599, ((60, 1599),), status="delisted"),
    # A four-digit price and a long name: the layout must still keep them in their boxes.
    "long": Situation(
        "5940000000073",
        "Cafea boabe Qualità Oro Perfect Symphony, ediție limitată de sărbători, pachet mare",
        129999,
        ((60, 129999),),
        ((109999, 2, 5),),
    ),
}


def add_situations(engine: Engine, store_id: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    with session_scope(engine) as session:
        for situation in SITUATIONS.values():
            product = Product(
                store_id=store_id,
                gtin=situation.gtin,
                name=situation.name,
                brand="Test",
                net_quantity=400,
                unit="g",
                price_minor=situation.regular_minor,
                currency="RON",
                stock=situation.stock,
                status=situation.status,
            )
            session.add(product)
            session.flush()
            for days_ago, price in situation.history:
                session.add(
                    PriceHistory(
                        product_id=product.id,
                        price_minor=price,
                        effective_at=now - timedelta(days=days_ago),
                    )
                )
            for price, started, left in situation.promotions:
                session.add(
                    Promotion(
                        product_id=product.id,
                        price_minor=price,
                        starts_at=now - timedelta(days=started),
                        ends_at=now + timedelta(days=left),
                    )
                )


def add_player(engine: Engine) -> str:
    """A paired screen's user (role player); returns its API token."""
    with session_scope(engine) as session:
        create_user(session, *PLAYER, PLAYER_ROLE)
        return issue_api_token(session, PLAYER[0])
