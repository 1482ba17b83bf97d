from __future__ import annotations

import pytest

from esl_controller.labels.price_format import (
    CURRENCY_DECIMALS,
    LOCALE_STYLES,
    NBSP,
    PriceParts,
    format_money,
    money_text,
    size_text,
    unit_price_text,
)
from esl_controller.money import Money


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "expected"),
    [
        (249, "EUR", "de_DE", "2,49 €"),
        (249, "EUR", "en_IE", "€2.49"),
        (249, "EUR", "fr_FR", "2,49 €"),
        (249, "EUR", "ro_RO", "2,49 €"),
        (249, "RON", "ro_RO", "2,49 lei"),
        (249, "RUB", "ru_RU", "2,49 ₽"),
        (249, "PLN", "pl_PL", "2,49 zł"),
        (249, "GBP", "en_GB", "£2.49"),
        (249, "USD", "en_US", "$2.49"),
        (5, "EUR", "de_DE", "0,05 €"),
        (100, "EUR", "nl_NL", "€ 1,00"),
    ],
)
def test_money_text_per_locale(minor: int, currency: str, locale: str, expected: str) -> None:
    assert money_text(Money(minor, currency), locale) == expected


@pytest.mark.parametrize(
    ("locale", "currency", "expected"),
    [
        ("de_DE", "EUR", "1.234.567,89 €"),
        ("en_US", "USD", "$1,234,567.89"),
        ("ru_RU", "RUB", f"1{NBSP}234{NBSP}567,89 ₽"),
        ("fr_FR", "EUR", "1\u202f234\u202f567,89 €"),
    ],
)
def test_large_amounts_are_grouped(locale: str, currency: str, expected: str) -> None:
    assert money_text(Money(123456789, currency), locale) == expected


def test_polish_does_not_group_four_digits() -> None:
    assert money_text(Money(123456, "PLN"), "pl_PL") == "1234,56 zł"
    assert money_text(Money(1234567, "PLN"), "pl_PL") == f"12{NBSP}345,67 zł"


def test_parts_split_for_the_renderer() -> None:
    assert format_money(Money(1999, "RON"), "ro_RO") == PriceParts(
        symbol="lei", major="19", decimal_sep=",", minor="99", symbol_before=False, space=True
    )
    assert format_money(Money(249, "GBP"), "en_GB").symbol_before is True


def test_currency_without_minor_units() -> None:
    assert CURRENCY_DECIMALS["JPY"] == 0
    parts = format_money(Money(1250, "JPY"), "en_US")
    assert (parts.major, parts.decimal_sep, parts.minor) == ("1,250", "", "")
    assert money_text(Money(1250, "JPY"), "en_US") == "¥1,250"


def test_word_symbol_in_front_gets_a_space() -> None:
    assert money_text(Money(249, "RON"), "en_GB") == "lei 2.49"


def test_nbsp_keeps_symbol_with_number() -> None:
    assert money_text(Money(249, "EUR"), "de_DE", NBSP) == f"2,49{NBSP}€"


def test_unit_price_text() -> None:
    assert unit_price_text(Money(498, "RON"), "kg", "ro_RO") == "4,98 lei/kg"
    assert unit_price_text(Money(120, "RUB"), "piece", "ru_RU") == "1,20 ₽/шт."
    assert unit_price_text(Money(99, "EUR"), "piece", "de_DE") == "0,99 €/Stk."


@pytest.mark.parametrize(
    ("money", "locale", "message"),
    [
        (Money(249, "XYZ"), "de_DE", "unknown currency 'XYZ'"),
        (Money(249, "EUR"), "xx_XX", "unknown locale 'xx_XX'"),
        (Money(-1, "EUR"), "de_DE", "cannot be negative"),
    ],
)
def test_bad_input_is_refused_clearly(money: Money, locale: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        money_text(money, locale)


def test_unknown_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown unit 'box'"):
        unit_price_text(Money(1, "EUR"), "box", "de_DE")


@pytest.mark.parametrize(
    ("quantity", "unit", "locale", "expected"),
    [
        (500, "g", "ro_RO", "500 g"),
        (500.0, "g", "en_GB", "500 g"),
        (1.5, "l", "ro_RO", "1,5 l"),
        (1.5, "l", "en_GB", "1.5 l"),
        (0.75, "l", "el_GR", "0,75 l"),
        (1000, "g", "de_DE", "1000 g"),
        (70, "cl", "fr_FR", "70 cl"),
        (6, "piece", "ro_RO", "6 buc."),
        (6, "piece", "ru_RU", "6 шт."),
        (12, "piece", "pl_PL", "12 szt."),
        (2.5, "m", "pl_PL", "2,5 m"),
    ],
)
def test_size_text(quantity: float, unit: str, locale: str, expected: str) -> None:
    assert size_text(quantity, unit, locale) == expected


def test_size_text_uses_each_locales_decimal_separator() -> None:
    for locale, style in LOCALE_STYLES.items():
        assert size_text(0.5, "l", locale) == f"0{style.decimal_sep}5 l"


def test_size_text_without_quantity_is_empty() -> None:
    assert size_text(None, "g", "ro_RO") == ""


def test_size_text_refuses_unknown_locale_and_unit() -> None:
    with pytest.raises(ValueError, match="unknown locale 'xx_XX'"):
        size_text(500, "g", "xx_XX")
    with pytest.raises(ValueError, match="unknown unit 'pints'"):
        size_text(2, "pints", "en_GB")
