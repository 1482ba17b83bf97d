from __future__ import annotations

import pytest

from esl_controller.labels import barcode

# EAN-13 digit encodings (ISO/IEC 15420), independent of python-barcode.
L_CODES = ("0001101", "0011001", "0010011", "0111101", "0100011",
           "0110001", "0101111", "0111011", "0110111", "0001011")  # fmt: skip
G_CODES = tuple(code.translate(str.maketrans("01", "10"))[::-1] for code in L_CODES)
R_CODES = tuple(code.translate(str.maketrans("01", "10")) for code in L_CODES)
PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG",
          "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL")  # fmt: skip


def decode_ean13(modules: str) -> str:
    """The 13 digits of a 95-module EAN-13 pattern; AssertionError if it is malformed."""
    assert len(modules) == 95
    assert modules[:3] == "101" and modules[45:50] == "01010" and modules[92:] == "101"
    left, parity = "", ""
    for i in range(6):
        code = modules[3 + 7 * i : 10 + 7 * i]
        if code in L_CODES:
            left, parity = left + str(L_CODES.index(code)), parity + "L"
        else:
            left, parity = left + str(G_CODES.index(code)), parity + "G"
    right = "".join(str(R_CODES.index(modules[50 + 7 * i : 57 + 7 * i])) for i in range(6))
    return str(PARITY.index(parity)) + left + right


@pytest.mark.parametrize("gtin", ["5901234123457", "4006381333931", "0012345678905"])
def test_modules_decode_back_to_the_gtin(gtin: str) -> None:
    assert decode_ean13(barcode.ean13_modules(gtin)) == gtin


def test_gtin12_gets_a_leading_zero() -> None:
    assert barcode.ean13_digits("012345678905") == "0012345678905"
    assert decode_ean13(barcode.ean13_modules("012345678905")) == "0012345678905"


def test_gtin14_with_zero_indicator_is_an_ean13() -> None:
    assert barcode.ean13_digits("05901234123457") == "5901234123457"


@pytest.mark.parametrize("gtin", ["96385074", "15901234123454"])
def test_gtin8_and_gtin14_are_not_ean13(gtin: str) -> None:
    barcode.validate_gtin(gtin)  # valid numbers...
    with pytest.raises(barcode.NotEan13Error, match="not an EAN-13"):
        barcode.ean13_digits(gtin)  # ...without an EAN-13 symbol


@pytest.mark.parametrize(
    ("gtin", "message"),
    [
        ("5901234123458", "check digit 8, expected 7"),
        ("59012341234", "8, 12, 13 or 14 digits"),
        ("59012341234a7", "8, 12, 13 or 14 digits"),
        ("", "8, 12, 13 or 14 digits"),
    ],
)
def test_invalid_gtin_is_refused_not_fixed(gtin: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        barcode.ean13_modules(gtin)


@pytest.mark.parametrize(
    ("px_per_mm", "expected"),
    [(4.4245, (2, 2)), (5.1493, (2, 3)), (4.717, (2, 3)), (4.902, (2, 3)), (3.0, (1, 1))],
)
def test_module_range_respects_gs1_limits(px_per_mm: float, expected: tuple[int, int]) -> None:
    smallest, largest = barcode.module_px_range(px_per_mm)
    assert (smallest, largest) == expected
    assert smallest / px_per_mm >= barcode.MIN_MODULE_MM
    assert (smallest - 1) / px_per_mm < barcode.MIN_MODULE_MM
    assert largest / px_per_mm <= barcode.MAX_MODULE_MM


def test_module_width_is_the_widest_that_fits() -> None:
    assert barcode.module_width_px(226, 4.4245) == 2
    assert barcode.module_width_px(225, 4.4245) is None  # 113 x 2 px does not fit
    assert barcode.module_width_px(340, 4.902) == 3
    assert barcode.module_width_px(338, 4.902) == 2
    assert barcode.module_width_px(1000, 4.4245) == 2  # 3 px would be 0.68 mm: too wide
