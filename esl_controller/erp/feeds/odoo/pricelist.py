"""Odoo pricelist rules resolved to a shelf price: data in, price out.

Follows how Odoo's `product.pricelist.item` picks and computes a rule (addons/product/models/
product_pricelist_item.py, product_pricelist.py): rules are tried in Odoo's order (variant,
then template, then category, then global; within one level a higher minimum quantity, the
deeper category, then the newest rule first) and the first that applies wins. A rule applies
when its window holds the moment (both ends inclusive, as Odoo compares them), its minimum
quantity is at most the quantity, and it targets the product. The shelf price is the price of
ONE item, so "3 for" and other minimum-quantity rules never reach a label.

Arithmetic is Decimal throughout; `to_minor` makes integer minor units at the very end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

SHELF_QUANTITY = Decimal(1)
MAX_BASE_DEPTH = 8  # pricelists based on pricelists; deeper is a loop in all but name
ZERO = Decimal(0)
HUNDRED = Decimal(100)


class AppliedOn(StrEnum):
    """Odoo's own values; their text order is Odoo's precedence."""

    VARIANT = "0_product_variant"
    TEMPLATE = "1_product"
    CATEGORY = "2_product_category"
    GLOBAL = "3_global"


class ComputePrice(StrEnum):
    FIXED = "fixed"
    PERCENTAGE = "percentage"
    FORMULA = "formula"


class PriceBase(StrEnum):
    LIST_PRICE = "list_price"  # the variant's sales price (lst_price)
    COST = "standard_price"
    PRICELIST = "pricelist"  # another pricelist's price


class PricelistError(ValueError):
    """The rules cannot give a price (a base pricelist that is missing or loops)."""


@dataclass(frozen=True)
class ShelfProduct:
    """What the rules look at of one variant."""

    variant_id: int
    template_id: int
    category_ids: tuple[int, ...]  # the product's category and its parents
    list_price: Decimal  # lst_price: template price plus the variant's extra
    cost: Decimal = ZERO


@dataclass(frozen=True)
class Rule:
    id: int
    applied_on: AppliedOn
    compute_price: ComputePrice
    base: PriceBase = PriceBase.LIST_PRICE
    base_pricelist_id: int | None = None
    variant_id: int | None = None
    template_id: int | None = None
    category_id: int | None = None
    category_name: str = ""  # complete_name: Odoo orders category rules by it, descending
    min_quantity: Decimal = ZERO
    date_start: datetime | None = None
    date_end: datetime | None = None
    fixed_price: Decimal = ZERO
    percent_price: Decimal = ZERO
    price_discount: Decimal = ZERO
    price_markup: Decimal = ZERO  # Odoo 18+: a formula on the cost takes a markup instead
    price_surcharge: Decimal = ZERO
    price_round: Decimal = ZERO
    price_min_margin: Decimal = ZERO
    price_max_margin: Decimal = ZERO

    @property
    def dated(self) -> bool:
        """A rule with both ends set is a promotion; open-ended ones are the regular price."""
        return self.date_start is not None and self.date_end is not None


@dataclass(frozen=True)
class Resolved:
    price: Decimal
    rule_id: int | None  # None: no rule applied, the list price stands


@dataclass(frozen=True)
class Promotion:
    rule_id: int
    price: Decimal
    starts_at: datetime
    ends_at: datetime


def precedence(rules: Sequence[Rule]) -> list[Rule]:
    """Odoo's `_order`: applied_on, min_quantity desc, category desc, id desc."""
    ordered = sorted(rules, key=lambda r: r.id, reverse=True)
    ordered.sort(key=lambda r: r.category_name, reverse=True)
    ordered.sort(key=lambda r: r.min_quantity, reverse=True)
    ordered.sort(key=lambda r: r.applied_on)
    return ordered


def applies(rule: Rule, product: ShelfProduct, at: datetime, quantity: Decimal) -> bool:
    if rule.date_start is not None and rule.date_start > at:
        return False
    if rule.date_end is not None and rule.date_end < at:
        return False
    if rule.min_quantity > quantity:
        return False
    if rule.applied_on == AppliedOn.VARIANT:
        return rule.variant_id == product.variant_id
    if rule.applied_on == AppliedOn.TEMPLATE:
        return rule.template_id == product.template_id
    if rule.applied_on == AppliedOn.CATEGORY:
        return rule.category_id in product.category_ids
    return True


def resolve(
    rules: Sequence[Rule],
    product: ShelfProduct,
    at: datetime,
    *,
    base_pricelists: Mapping[int, Sequence[Rule]] | None = None,
    quantity: Decimal = SHELF_QUANTITY,
) -> Resolved:
    """The price Odoo would ask for `quantity` of `product` at `at` under these rules."""
    return _resolve(rules, product, at, base_pricelists or {}, quantity, 0)


def regular_price(
    rules: Sequence[Rule],
    product: ShelfProduct,
    at: datetime,
    *,
    base_pricelists: Mapping[int, Sequence[Rule]] | None = None,
) -> Resolved:
    """The shelf price without promotions: dated rules are left to `promotions`."""
    return resolve([r for r in rules if not r.dated], product, at, base_pricelists=base_pricelists)


def promotions(
    rules: Sequence[Rule],
    product: ShelfProduct,
    at: datetime,
    *,
    base_pricelists: Mapping[int, Sequence[Rule]] | None = None,
) -> list[Promotion]:
    """Dated rules that set this product's price for one item, not yet over at `at`.

    A dated rule counts only when Odoo would pick it at its own start: a more specific rule
    that applies then (a variant's own price over a global sale) keeps the promotion off the
    shelf, as it keeps it off the till.
    """
    found = []
    for rule in rules:
        if not rule.dated or rule.date_end < at:  # type: ignore[operator]
            continue
        start = rule.date_start
        assert start is not None
        if not applies(rule, product, start, SHELF_QUANTITY):
            continue
        chosen = resolve(rules, product, start, base_pricelists=base_pricelists)
        if chosen.rule_id == rule.id:
            found.append(Promotion(rule.id, chosen.price, start, rule.date_end))  # type: ignore[arg-type]
    return sorted(found, key=lambda p: (p.starts_at, p.rule_id))


def rule_price(
    rule: Rule,
    product: ShelfProduct,
    at: datetime,
    base_pricelists: Mapping[int, Sequence[Rule]] | None = None,
) -> Decimal:
    return _rule_price(rule, product, at, base_pricelists or {}, SHELF_QUANTITY, 0)


def to_minor(amount: Decimal, decimals: int) -> int:
    """Integer minor units, half-up as Odoo rounds money; a negative result is clamped to 0
    (a discount over 100 % gives nothing away on a label)."""
    minor = (amount * (Decimal(10) ** decimals)).quantize(Decimal(1), ROUND_HALF_UP)
    return max(0, int(minor))


def round_to_step(amount: Decimal, step: Decimal) -> Decimal:
    """Odoo's float_round with precision_rounding: the nearest multiple of `step`, half-up."""
    if step <= 0:
        return amount
    return (amount / step).quantize(Decimal(1), ROUND_HALF_UP) * step


def _resolve(
    rules: Sequence[Rule],
    product: ShelfProduct,
    at: datetime,
    base_pricelists: Mapping[int, Sequence[Rule]],
    quantity: Decimal,
    depth: int,
) -> Resolved:
    for rule in precedence(rules):
        if applies(rule, product, at, quantity):
            price = _rule_price(rule, product, at, base_pricelists, quantity, depth)
            return Resolved(price, rule.id)
    return Resolved(product.list_price, None)


def _rule_price(
    rule: Rule,
    product: ShelfProduct,
    at: datetime,
    base_pricelists: Mapping[int, Sequence[Rule]],
    quantity: Decimal,
    depth: int,
) -> Decimal:
    if rule.compute_price == ComputePrice.FIXED:
        return rule.fixed_price
    base = _base_price(rule, product, at, base_pricelists, quantity, depth)
    if rule.compute_price == ComputePrice.PERCENTAGE:
        return base - base * rule.percent_price / HUNDRED
    discount = -rule.price_markup if rule.base == PriceBase.COST else rule.price_discount
    price = base - base * discount / HUNDRED
    price = round_to_step(price, rule.price_round)
    price += rule.price_surcharge
    if rule.price_min_margin:
        price = max(price, base + rule.price_min_margin)
    if rule.price_max_margin:
        price = min(price, base + rule.price_max_margin)
    return price


def _base_price(
    rule: Rule,
    product: ShelfProduct,
    at: datetime,
    base_pricelists: Mapping[int, Sequence[Rule]],
    quantity: Decimal,
    depth: int,
) -> Decimal:
    if rule.base == PriceBase.COST:
        return product.cost
    if rule.base == PriceBase.LIST_PRICE:
        return product.list_price
    if depth >= MAX_BASE_DEPTH:
        raise PricelistError(f"rule {rule.id}: pricelists based on pricelists go too deep")
    if rule.base_pricelist_id not in base_pricelists:
        raise PricelistError(
            f"rule {rule.id}: its base pricelist {rule.base_pricelist_id} was not read"
        )
    inner = base_pricelists[rule.base_pricelist_id]  # type: ignore[index]
    return _resolve(inner, product, at, base_pricelists, quantity, depth + 1).price
