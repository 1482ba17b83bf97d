"""A small Odoo store in the stand-in: two companies, units, taxes, warehouses, a pricelist."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from esl_controller.sims.odoo import ODOO_DATETIME, OdooStandIn

API_KEY = "odoo-test-key"
DATABASE = "shop"


def odoo_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(ODOO_DATETIME)


def days_from_now(days: float) -> str:
    return odoo_time(datetime.now(UTC) + timedelta(days=days))


@dataclass
class OdooShop:
    """Ids of what `build_shop` created, for tests to change."""

    odoo: OdooStandIn
    company: int = 0
    other_company: int = 0
    food: int = 0
    drinks: int = 0
    kg: int = 0
    gram: int = 0
    litre: int = 0
    units: int = 0
    dozens: int = 0
    boxes: int = 0
    vat: int = 0  # 19 %, not included
    vat_included: int = 0  # 9 %, included in the price
    other_vat: int = 0
    warehouse: int = 0
    stock: int = 0
    other_warehouse: int = 0
    other_stock: int = 0
    pricelist: int = 0
    b2b_pricelist: int = 0
    templates: dict[str, int] = field(default_factory=dict)
    variants: dict[str, int] = field(default_factory=dict)


def build_shop(odoo: OdooStandIn) -> OdooShop:
    shop = OdooShop(odoo)
    shop.company = odoo.company("Magazin Centru")
    shop.other_company = odoo.company("Other Company")
    root = odoo.category("All")
    shop.food = odoo.category("Food", root)
    shop.drinks = odoo.category("Drinks", root)
    if odoo.version >= 19:
        shop.gram = odoo.relative_uom("g", xml_id="product_uom_gram")
        shop.kg = odoo.relative_uom("kg", shop.gram, 1000.0, xml_id="product_uom_kgm")
        shop.litre = odoo.relative_uom("L", xml_id="product_uom_litre")
        shop.units = odoo.relative_uom("Units", xml_id="product_uom_unit")
        shop.dozens = odoo.relative_uom("Dozens", shop.units, 12.0, xml_id="product_uom_dozen")
        shop.boxes = odoo.relative_uom("Box")
    else:
        weight = odoo.uom_category("Weight", "weight")
        volume = odoo.uom_category("Volume", "volume")
        unit = odoo.uom_category("Unit", "unit")
        boxes = odoo.uom_category("Boxes")
        shop.kg = odoo.uom("kg", weight)
        shop.gram = odoo.uom("g", weight, factor=1000.0, uom_type="smaller")
        shop.litre = odoo.uom("L", volume)
        shop.units = odoo.uom("Units", unit)
        shop.dozens = odoo.uom("Dozens", unit, factor=1 / 12, uom_type="bigger")
        shop.boxes = odoo.uom("Box", boxes)
    shop.vat = odoo.tax(19.0, company=shop.company)
    shop.vat_included = odoo.tax(9.0, company=shop.company, price_include=True)
    shop.other_vat = odoo.tax(21.0, company=shop.other_company)
    shop.warehouse, shop.stock = odoo.warehouse("WH1", company=shop.company)
    shop.other_warehouse, shop.other_stock = odoo.warehouse("WH2", company=shop.company)
    shop.pricelist = odoo.pricelist("Shelf", company=shop.company)
    shop.b2b_pricelist = odoo.pricelist("B2B", company=shop.company)

    cheese = odoo.template(
        "Brânză telemea",
        list_price=10.0,
        category=shop.food,
        uom=shop.units,
        company=shop.company,
        taxes=[shop.vat_included],
        weight=0.4,
    )
    shop.templates["cheese"] = cheese
    shop.variants["cheese"] = odoo.variant(cheese, "5940000000011")
    cola = odoo.template(
        "Cola",
        list_price=5.0,
        category=shop.drinks,
        uom=shop.units,
        company=shop.company,
        taxes=[shop.vat_included],
    )
    shop.templates["cola"] = cola
    shop.variants["cola"] = odoo.variant(cola, "5940000000028", suffix="0.5 l")
    shop.variants["cola-2l"] = odoo.variant(cola, "5940000000035", price_extra=4.0, suffix="2 l")
    apples = odoo.template(
        "Mere",
        list_price=6.5,
        category=shop.food,
        uom=shop.kg,
        company=shop.company,
        taxes=[shop.vat_included],
    )
    shop.templates["apples"] = apples
    shop.variants["apples"] = odoo.variant(apples, "5940000000042")
    foreign = odoo.template(
        "Other company's wine",
        list_price=40.0,
        category=shop.drinks,
        uom=shop.units,
        company=shop.other_company,
        taxes=[shop.other_vat],
    )
    shop.templates["foreign"] = foreign
    shop.variants["foreign"] = odoo.variant(foreign, "5940000000059")
    odoo.move(shop.variants["cheese"], 12, to=shop.stock)
    odoo.move(shop.variants["cheese"], 30, to=shop.other_stock)
    odoo.move(shop.variants["cola"], 5, to=shop.stock)
    return shop
