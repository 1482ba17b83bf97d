"""Odoo pricelist rules resolved to a shelf price: the pure module, no Odoo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esl_controller.erp.feeds.odoo.pricelist import (
    AppliedOn,
    ComputePrice,
    PriceBase,
    PricelistError,
    Rule,
    ShelfProduct,
    precedence,
    promotions,
    regular_price,
    resolve,
    round_to_step,
    to_minor,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
COLA = ShelfProduct(
    variant_id=7,
    template_id=3,
    category_ids=(1, 4),
    list_price=Decimal("5.49"),
    cost=Decimal("3.00"),
)


def rule(rule_id: int, **values) -> Rule:
    values.setdefault("applied_on", AppliedOn.GLOBAL)
    values.setdefault("compute_price", ComputePrice.FIXED)
    return Rule(id=rule_id, **values)


def test_without_rules_the_variant_list_price_stands() -> None:
    assert resolve([], COLA, NOW).price == Decimal("5.49")
    assert resolve([], COLA, NOW).rule_id is None


def test_a_fixed_price_replaces_the_list_price() -> None:
    assert resolve([rule(1, fixed_price=Decimal("4.99"))], COLA, NOW).price == Decimal("4.99")


def test_a_percentage_rule_discounts_the_list_price() -> None:
    twenty = rule(1, compute_price=ComputePrice.PERCENTAGE, percent_price=Decimal(20))
    assert resolve([twenty], COLA, NOW).price == Decimal("4.392")
    assert to_minor(resolve([twenty], COLA, NOW).price, 2) == 439


def test_a_formula_discounts_rounds_then_adds_the_surcharge() -> None:
    # 5.49 - 10 % = 4.941, rounded to 0.10 = 4.90, + 0.09 surcharge = 4.99 (a "x.99" price)
    formula = rule(
        1,
        compute_price=ComputePrice.FORMULA,
        price_discount=Decimal(10),
        price_round=Decimal("0.10"),
        price_surcharge=Decimal("0.09"),
    )
    assert resolve([formula], COLA, NOW).price == Decimal("4.99")


def test_formula_margins_bound_the_price_around_the_base() -> None:
    deep = rule(
        1,
        compute_price=ComputePrice.FORMULA,
        base=PriceBase.COST,
        price_markup=Decimal(-50),
        price_min_margin=Decimal("0.50"),
    )
    assert resolve([deep], COLA, NOW).price == Decimal("3.50")  # cost 3.00 + 0.50 at least
    markup = rule(
        2,
        compute_price=ComputePrice.FORMULA,
        base=PriceBase.COST,
        price_markup=Decimal(100),
        price_max_margin=Decimal("2.00"),
    )
    assert resolve([markup], COLA, NOW).price == Decimal("5.00")  # 6.00 capped at 3.00 + 2.00


def test_a_formula_on_the_cost_takes_its_markup_not_the_discount() -> None:
    on_cost = rule(
        1,
        compute_price=ComputePrice.FORMULA,
        base=PriceBase.COST,
        price_markup=Decimal(40),
        price_discount=Decimal(90),  # left over from editing; Odoo ignores it on the cost
    )
    assert resolve([on_cost], COLA, NOW).price == Decimal("4.20")


def test_odoo_precedence_variant_then_template_then_category_then_global() -> None:
    rules = [
        rule(1, fixed_price=Decimal(1)),
        rule(
            2,
            applied_on=AppliedOn.CATEGORY,
            category_id=1,
            category_name="All",
            fixed_price=Decimal(2),
        ),
        rule(
            3,
            applied_on=AppliedOn.CATEGORY,
            category_id=4,
            category_name="All / Drinks",
            fixed_price=Decimal(3),
        ),
        rule(4, applied_on=AppliedOn.TEMPLATE, template_id=3, fixed_price=Decimal(4)),
        rule(5, applied_on=AppliedOn.VARIANT, variant_id=7, fixed_price=Decimal(5)),
    ]
    assert resolve(rules, COLA, NOW).rule_id == 5
    assert resolve(rules[:4], COLA, NOW).rule_id == 4
    assert resolve(rules[:3], COLA, NOW).rule_id == 3  # the deeper category first
    assert resolve(rules[:2], COLA, NOW).rule_id == 2
    other = ShelfProduct(8, 9, (1,), Decimal(1))
    assert resolve(rules, other, NOW).rule_id == 2


def test_within_one_level_the_newest_rule_wins() -> None:
    assert [r.id for r in precedence([rule(1), rule(9), rule(4)])] == [9, 4, 1]


def test_rules_for_more_than_one_item_never_set_the_shelf_price() -> None:
    three_for = rule(
        1,
        applied_on=AppliedOn.VARIANT,
        variant_id=7,
        min_quantity=Decimal(3),
        fixed_price=Decimal("3.33"),
    )
    assert resolve([three_for], COLA, NOW).price == Decimal("5.49")
    assert resolve([three_for], COLA, NOW, quantity=Decimal(3)).price == Decimal("3.33")


def test_date_windows_include_both_ends() -> None:
    start, end = NOW - timedelta(days=1), NOW + timedelta(days=1)
    dated = rule(1, fixed_price=Decimal(4), date_start=start, date_end=end)
    assert resolve([dated], COLA, start).rule_id == 1
    assert resolve([dated], COLA, end).rule_id == 1
    assert resolve([dated], COLA, end + timedelta(seconds=1)).rule_id is None
    assert resolve([dated], COLA, start - timedelta(seconds=1)).rule_id is None


def test_dated_rules_are_promotions_not_the_regular_price() -> None:
    start, end = NOW - timedelta(days=1), NOW + timedelta(days=6)
    regular = rule(1, compute_price=ComputePrice.PERCENTAGE, percent_price=Decimal(10))
    sale = rule(
        2,
        applied_on=AppliedOn.VARIANT,
        variant_id=7,
        fixed_price=Decimal("3.99"),
        date_start=start,
        date_end=end,
    )
    assert regular_price([regular, sale], COLA, NOW).price == Decimal("4.941")
    found = promotions([regular, sale], COLA, NOW)
    assert [(p.rule_id, p.price, p.starts_at, p.ends_at) for p in found] == [
        (2, Decimal("3.99"), start, end)
    ]


def test_a_dated_rule_outranked_at_its_start_is_no_promotion() -> None:
    start, end = NOW, NOW + timedelta(days=6)
    own_price = rule(1, applied_on=AppliedOn.VARIANT, variant_id=7, fixed_price=Decimal("5.00"))
    global_sale = rule(
        2,
        compute_price=ComputePrice.PERCENTAGE,
        percent_price=Decimal(30),
        date_start=start,
        date_end=end,
    )
    assert promotions([own_price, global_sale], COLA, NOW) == []
    assert len(promotions([global_sale], COLA, NOW)) == 1


def test_an_ended_promotion_is_not_listed() -> None:
    old = rule(
        1,
        fixed_price=Decimal(1),
        date_start=NOW - timedelta(days=9),
        date_end=NOW - timedelta(days=2),
    )
    assert promotions([old], COLA, NOW) == []


def test_a_rule_based_on_another_pricelist_uses_its_price() -> None:
    on_base = rule(
        1,
        compute_price=ComputePrice.PERCENTAGE,
        percent_price=Decimal(50),
        base=PriceBase.PRICELIST,
        base_pricelist_id=20,
    )
    base_rules = {20: [rule(10, fixed_price=Decimal("4.00"))]}
    assert resolve([on_base], COLA, NOW, base_pricelists=base_rules).price == Decimal("2.00")
    with pytest.raises(PricelistError, match="base pricelist 20"):
        resolve([on_base], COLA, NOW)
    loop = {
        20: [
            rule(
                10,
                base=PriceBase.PRICELIST,
                base_pricelist_id=20,
                compute_price=ComputePrice.FORMULA,
            )
        ]
    }
    with pytest.raises(PricelistError, match="too deep"):
        resolve([on_base], COLA, NOW, base_pricelists=loop)


def test_minor_units_round_half_up_and_never_go_negative() -> None:
    assert to_minor(Decimal("4.385"), 2) == 439
    assert to_minor(Decimal("4.384"), 2) == 438
    assert to_minor(Decimal("1234.5"), 0) == 1235
    assert to_minor(Decimal("1.2345"), 3) == 1235
    assert to_minor(Decimal("-2"), 2) == 0


# --- properties ---------------------------------------------------------------------------

money = st.decimals(min_value=Decimal(0), max_value=Decimal(10_000), places=2)
percent = st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=2)


@given(price=money, discount=percent)
def test_a_percentage_never_raises_the_price_nor_goes_below_zero(price, discount) -> None:
    product = ShelfProduct(1, 1, (), price)
    result = resolve(
        [rule(1, compute_price=ComputePrice.PERCENTAGE, percent_price=discount)], product, NOW
    ).price
    assert Decimal(0) <= result <= price


@given(
    price=money,
    step=st.sampled_from([Decimal("0.01"), Decimal("0.05"), Decimal("0.10"), Decimal(1)]),
)
def test_rounding_lands_on_the_step_and_within_half_a_step(price, step) -> None:
    rounded = round_to_step(price, step)
    assert rounded % step == 0
    assert abs(rounded - price) <= step / 2


@given(
    price=money,
    discount=st.decimals(min_value=Decimal(-100), max_value=Decimal(100), places=2),
    low=st.decimals(min_value=Decimal(0), max_value=Decimal(50), places=2),
    high=st.decimals(min_value=Decimal(50), max_value=Decimal(100), places=2),
)
def test_formula_margins_always_hold(price, discount, low, high) -> None:
    formula = rule(
        1,
        compute_price=ComputePrice.FORMULA,
        price_discount=discount,
        price_min_margin=low,
        price_max_margin=high,
    )
    result = resolve([formula], ShelfProduct(1, 1, (), price), NOW).price
    if low:
        assert result >= price + low or result == price + high
    assert result <= price + high


@given(
    levels=st.lists(st.sampled_from(list(AppliedOn)), min_size=1, max_size=6),
    quantities=st.lists(st.integers(0, 5), min_size=6, max_size=6),
)
def test_the_chosen_rule_is_the_first_applicable_in_odoo_order(levels, quantities) -> None:
    rules = [
        rule(
            i + 1,
            applied_on=level,
            variant_id=7,
            template_id=3,
            category_id=4,
            category_name="All / Drinks",
            min_quantity=Decimal(quantities[i]),
            fixed_price=Decimal(i + 1),
        )
        for i, level in enumerate(levels)
    ]
    chosen = resolve(rules, COLA, NOW).rule_id
    single = [r for r in rules if r.min_quantity <= 1]
    if not single:
        assert chosen is None
        return
    best = min(single, key=lambda r: (r.applied_on, -r.min_quantity, -r.id))
    assert chosen == best.id
