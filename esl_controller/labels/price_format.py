"""Money as shelf labels print it: per-locale decimal separator, grouping and symbol position.

Pure tables, no `locale` module (the process locale must not change what a label shows).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from esl_controller.catalogue.units import normalise_unit, pack_quantity
from esl_controller.labels.words import UNIT_CONTEXT, label_words
from esl_controller.money import CURRENCY_DECIMALS, Money

CURRENCY_SYMBOLS: dict[str, str] = {
    "EUR": "€", "RON": "lei", "RUB": "₽", "PLN": "zł", "GBP": "£", "USD": "$",
    "CHF": "CHF", "CZK": "Kč", "HUF": "Ft", "BGN": "лв.", "SEK": "kr", "JPY": "¥",
}  # fmt: skip

NBSP = "\u00a0"
NARROW_NBSP = "\u202f"


@dataclass(frozen=True)
class LocaleStyle:
    decimal_sep: str
    group_sep: str
    symbol_before: bool
    space: bool  # a space between symbol and number
    min_group_digits: int = 4  # numbers with fewer integer digits are not grouped


LOCALE_STYLES: dict[str, LocaleStyle] = {
    "de_DE": LocaleStyle(",", ".", symbol_before=False, space=True),
    "de_AT": LocaleStyle(",", NBSP, symbol_before=True, space=True),
    "fr_FR": LocaleStyle(",", NARROW_NBSP, symbol_before=False, space=True),
    "it_IT": LocaleStyle(",", ".", symbol_before=False, space=True),
    "es_ES": LocaleStyle(",", ".", symbol_before=False, space=True, min_group_digits=5),
    "nl_NL": LocaleStyle(",", ".", symbol_before=True, space=True),
    "ro_RO": LocaleStyle(",", ".", symbol_before=False, space=True),
    "pl_PL": LocaleStyle(",", NBSP, symbol_before=False, space=True, min_group_digits=5),
    "ru_RU": LocaleStyle(",", NBSP, symbol_before=False, space=True),
    "el_GR": LocaleStyle(",", ".", symbol_before=False, space=True),
    "hu_HU": LocaleStyle(",", NBSP, symbol_before=False, space=True),
    "bg_BG": LocaleStyle(",", NBSP, symbol_before=False, space=True),
    "en_IE": LocaleStyle(".", ",", symbol_before=True, space=False),
    "en_GB": LocaleStyle(".", ",", symbol_before=True, space=False),
    "en_US": LocaleStyle(".", ",", symbol_before=True, space=False),
}

UNITS = ("kg", "l", "m", "piece")


@dataclass(frozen=True)
class PriceParts:
    symbol: str
    major: str  # integer units, grouped: "1.234"
    decimal_sep: str  # "" when the currency has no minor unit
    minor: str  # "49", or "" for JPY
    symbol_before: bool
    space: bool


def _style(locale: str) -> LocaleStyle:
    try:
        return LOCALE_STYLES[locale]
    except KeyError:
        known = ", ".join(sorted(LOCALE_STYLES))
        raise ValueError(f"unknown locale {locale!r}; known: {known}") from None


def _decimals(currency: str) -> int:
    try:
        return CURRENCY_DECIMALS[currency]
    except KeyError:
        known = ", ".join(sorted(CURRENCY_DECIMALS))
        raise ValueError(f"unknown currency {currency!r}; known: {known}") from None


def _group(digits: str, sep: str, min_digits: int) -> str:
    if len(digits) < min_digits:
        return digits
    head = len(digits) % 3 or 3
    groups = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return sep.join(groups)


def format_money(money: Money, locale: str) -> PriceParts:
    """Split `money` into the parts a label draws, styled for `locale`."""
    style = _style(locale)
    decimals = _decimals(money.currency)
    if money.minor < 0:
        raise ValueError(f"a shelf price cannot be negative: {money.minor} {money.currency}")
    major, minor = divmod(money.minor, 10**decimals)
    symbol = CURRENCY_SYMBOLS[money.currency]
    # A word-like symbol in front ("lei 2.49") needs a space even where "€2.49" has none.
    space = style.space or (style.symbol_before and symbol[-1].isalpha())
    return PriceParts(
        symbol=symbol,
        major=_group(str(major), style.group_sep, style.min_group_digits),
        decimal_sep=style.decimal_sep if decimals else "",
        minor=f"{minor:0{decimals}d}" if decimals else "",
        symbol_before=style.symbol_before,
        space=space,
    )


def number_text(parts: PriceParts) -> str:
    """The amount without its symbol: "2,49"."""
    return f"{parts.major}{parts.decimal_sep}{parts.minor}"


def money_text(money: Money, locale: str, space: str = " ") -> str:
    """One-line money text: "2,49 €", "€2.49", "2,49 lei".

    Pass `space=NBSP` where the text may be wrapped, so the symbol stays with its number.
    """
    parts = format_money(money, locale)
    gap = space if parts.space else ""
    if parts.symbol_before:
        return f"{parts.symbol}{gap}{number_text(parts)}"
    return f"{number_text(parts)}{gap}{parts.symbol}"


def unit_word(per: str, locale: str) -> str:
    """The unit a unit price is quoted per; "piece" in the words of the locale's catalogue.

    kg, l and m are international.
    """
    if per not in UNITS:
        raise ValueError(f"unknown unit {per!r}; expected one of {', '.join(UNITS)}")
    _style(locale)  # refuse unknown locales here too, not only when formatting money
    if per != "piece":
        return per
    return label_words(locale).pgettext(UNIT_CONTEXT, "piece")


def unit_price_text(amount: Money, per: str, locale: str, space: str = " ") -> str:
    """EU unit price (98/6/EC): "4,98 lei/kg"."""
    return f"{money_text(amount, locale, space)}/{unit_word(per, locale)}"


def size_text(net_quantity: float | None, unit: str, locale: str) -> str:
    """The pack size as a label prints it: "500 g", "1,5 l", "6 buc."; "" when unknown."""
    canonical = normalise_unit(unit)
    if net_quantity is None:
        return ""
    number = _plain_number(pack_quantity(net_quantity), _style(locale).decimal_sep)
    word = unit_word("piece", locale) if canonical == "piece" else canonical
    return f"{number} {word}"


def _plain_number(quantity: Decimal, decimal_sep: str) -> str:
    text = format(quantity.normalize(), "f")  # "f" so 1000 does not print as 1E+3
    return text.replace(".", decimal_sep)
