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


def gtin_key(code: str) -> str:
    """The one 14-digit key of a GTIN: its 8-, 12-, 13- and 14-digit forms name the same item,
    so the catalogue matches products on this key, never on the digits as written."""
    return to_gtin14(code)


def display_gtin(code: str) -> str:
    """The form a new product is stored and printed with: GTIN-8 stays 8 digits (EAN-8), a
    GTIN-14 with an indicator digit stays 14, everything else is its 13 digits (EAN-13)."""
    key = gtin_key(code)
    if key.startswith("000000"):
        return key[6:]
    if key.startswith("0"):
        return key[1:]
    return key


def gtin_forms(key: str) -> tuple[str, ...]:
    """Every way a stored row may spell the GTIN with 14-digit `key` (rows stored before keys
    existed kept the ERP's digits): the 14-digit key and its shorter zero-stripped forms."""
    forms = [key]
    for length in (13, 12, 8):
        prefix = key[: 14 - length]
        if set(prefix) == {"0"}:
            forms.append(key[14 - length :])
    return tuple(forms)
