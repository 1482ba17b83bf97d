"""Label fixtures: hardware models, templates and a `LabelContent` factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from esl_controller.labels.content import LabelContent, Money, PromoInfo, StockInfo, UnitPrice
from esl_controller.labels.hardware import HardwareModel, load_hardware_models
from esl_controller.labels.templates import LabelTemplate, load_templates

BASE_CONTENT = LabelContent(
    gtin="5901234123457",
    name="Lapte integral 3,5% grăsime",
    brand="Zuzu",
    price=Money(749, "RON"),
    locale="ro_RO",
    unit_price=UnitPrice(Money(749, "RON"), "l"),
    promo=None,
    stock=StockInfo(level="in_stock", quantity=24, restock_date=None),
    digital_link="https://id.gs1.org/01/05901234123457",
    size_text="1 l",
)


def promo_info(
    was: int = 999, prior: int | None = 899, note: str | None = None, currency: str = "RON"
) -> PromoInfo:
    return PromoInfo(
        was=Money(was, currency),
        prior_lowest=Money(prior, currency) if prior is not None else None,
        prior_note=note,
        ends=date(2025, 3, 31),
    )


@pytest.fixture
def make_content() -> Callable[..., LabelContent]:
    """`make_content(name=..., price=Money(...), ...)`: the base content with changes."""

    def make(**changes: Any) -> LabelContent:
        return replace(BASE_CONTENT, **changes)

    return make


@pytest.fixture(scope="session")
def models() -> dict[str, HardwareModel]:
    return load_hardware_models()


@pytest.fixture(scope="session")
def templates(models: dict[str, HardwareModel]) -> dict[str, LabelTemplate]:
    return load_templates(models=models)
