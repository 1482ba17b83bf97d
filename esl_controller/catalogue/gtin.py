"""GS1 trade item numbers (GTIN-8/12/13/14): check digits and validation.

A wrong check digit is reported, never repaired: a "fixed" GTIN is a different product.
"""

from __future__ import annotations

GTIN_LENGTHS = (8, 12, 13, 14)


class InvalidGTIN(ValueError):
    """A code that is not a valid GTIN; the message says exactly why."""


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for `body` (the GTIN without its last digit)."""
    if not body or not (body.isascii() and body.isdigit()):
        raise InvalidGTIN(f"GTIN body {body!r} must be a non-empty string of digits")
    # Weights 3, 1, 3, ... from the rightmost body digit, so every GTIN length agrees.
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_gtin(code: str) -> str:
    """The normalised GTIN (spaces removed), or `InvalidGTIN` saying what is wrong."""
    if not isinstance(code, str):
        raise InvalidGTIN(f"GTIN must be a string, got {type(code).__name__}")
    digits = code.strip().replace(" ", "")
    if not digits:
        raise InvalidGTIN("GTIN is empty")
    bad = sorted({ch for ch in digits if not ("0" <= ch <= "9")})
    if bad:
        raise InvalidGTIN(f"GTIN {code!r} contains non-digits: {''.join(bad)!r}")
    if len(digits) not in GTIN_LENGTHS:
        raise InvalidGTIN(f"GTIN {digits!r} has {len(digits)} digits; expected 8, 12, 13 or 14")
    expected = gtin_check_digit(digits[:-1])
    if int(digits[-1]) != expected:
        raise InvalidGTIN(f"GTIN {digits!r}: check digit is {digits[-1]}, expected {expected}")
    return digits


def is_valid_gtin(code: str) -> bool:
    try:
        validate_gtin(code)
    except InvalidGTIN:
        return False
    return True


def to_gtin13(code: str) -> str:
    """The EAN-13 form of a GTIN-12 or GTIN-13 (and of a GTIN-14 that is a padded GTIN-13).

    GTIN-8 has its own barcode (EAN-8), and a GTIN-14 with an indicator digit names a case
    of items, not a consumer unit, so neither has an EAN-13.
    """
    gtin = validate_gtin(code)
    if len(gtin) == 13:
        return gtin
    if len(gtin) == 12:
        return "0" + gtin
    if len(gtin) == 14 and gtin.startswith("0"):
        return gtin[1:]
    if len(gtin) == 14:
        raise InvalidGTIN(
            f"GTIN-14 {gtin!r} has indicator digit {gtin[0]} (a trade unit grouping); "
            "it has no GTIN-13 form"
        )
    raise InvalidGTIN(f"GTIN-8 {gtin!r} has no GTIN-13 form; it is printed as EAN-8")


def to_gtin14(code: str) -> str:
    """The 14-digit form every GTIN has (left-padded with zeros), as GS1 Digital Link uses."""
    return validate_gtin(code).zfill(14)
