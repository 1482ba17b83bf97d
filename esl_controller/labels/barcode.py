"""EAN-13 barcodes drawn with whole-pixel modules, so a phone or a hand scanner reads e-paper.

GS1 allows a module (the narrowest bar) of 0.264 to 0.660 mm and needs quiet zones of 11
modules left and 7 right: 113 modules in all. The module width in pixels depends on the
panel's pixel pitch, so it is computed per hardware model.

Only GTIN-13 (and GTIN-12 / GTIN-14 with a leading 0, which are the same number padded) can be
an EAN-13 symbol. A GTIN-8 needs an EAN-8 symbol and a GTIN-14 with a packaging indicator an
ITF-14, which shelf labels do not carry: for those `ean13_digits` raises `NotEan13Error` and the
renderer prints the GTIN as text in the barcode box instead. A wrong check digit is refused
(`ValueError`), never corrected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from barcode.ean import EuropeanArticleNumber13
from PIL import Image

MODULES = 95  # guards and 12 encoded digits
QUIET_LEFT = 11
QUIET_RIGHT = 7
TOTAL_MODULES = QUIET_LEFT + MODULES + QUIET_RIGHT  # 113
MIN_MODULE_MM = 0.264
MAX_MODULE_MM = 0.660
GUARD_MODULES = ((0, 3), (45, 50), (92, 95))  # start, centre, end guards: drawn longer
GUARD_PATTERNS = ("101", "01010", "101")


class NotEan13Error(ValueError):
    """A valid GTIN that has no EAN-13 symbol (GTIN-8, or GTIN-14 with an indicator digit)."""


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for the digits before it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_gtin(gtin: str) -> str:
    """`gtin` unchanged when it is 8, 12, 13 or 14 digits with a right check digit."""
    if not gtin.isascii() or not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
        raise ValueError(f"GTIN must be 8, 12, 13 or 14 digits, got {gtin!r}")
    expected = gtin_check_digit(gtin[:-1])
    if int(gtin[-1]) != expected:
        raise ValueError(f"GTIN {gtin} has check digit {gtin[-1]}, expected {expected}")
    return gtin


def ean13_digits(gtin: str) -> str:
    """The 13 digits an EAN-13 symbol encodes for `gtin`."""
    validate_gtin(gtin)
    if len(gtin) == 12:
        return "0" + gtin
    if len(gtin) == 14 and gtin[0] == "0":
        return gtin[1:]
    if len(gtin) == 13:
        return gtin
    kind = "GTIN-8 (needs EAN-8)" if len(gtin) == 8 else "GTIN-14 with indicator (needs ITF-14)"
    raise NotEan13Error(f"{gtin} is a {kind}, not an EAN-13")


@lru_cache(maxsize=8192)
def ean13_modules(gtin: str) -> str:
    """95 characters of "1" (bar) / "0" (space) for `gtin`, guards included, quiet zones not."""
    digits = ean13_digits(gtin)
    symbol = EuropeanArticleNumber13(digits[:12])
    if symbol.get_fullcode() != digits:  # python-barcode computes its own check digit
        raise ValueError(f"python-barcode encoded {symbol.get_fullcode()}, expected {digits}")
    (pattern,) = symbol.build()
    if len(pattern) != MODULES:
        raise ValueError(f"EAN-13 pattern for {digits} has {len(pattern)} modules, not 95")
    return pattern


def module_px_range(px_per_mm: float) -> tuple[int, int]:
    """Smallest and largest whole-pixel module widths inside GS1's 0.264-0.660 mm."""
    smallest = math.ceil(round(MIN_MODULE_MM * px_per_mm, 9))
    largest = math.floor(round(MAX_MODULE_MM * px_per_mm, 9))
    return smallest, largest


def module_width_px(box_width: int, px_per_mm: float) -> int | None:
    """The widest legal module width whose 113 modules fit `box_width`, or None if none does."""
    smallest, largest = module_px_range(px_per_mm)
    for module in range(largest, smallest - 1, -1):
        if module * TOTAL_MODULES <= box_width:
            return module
    return None


@dataclass(frozen=True)
class BarcodeGeometry:
    """Where the bars of one symbol go inside its box (all in pixels, box-relative)."""

    module: int
    left: int  # x of the first guard bar
    bars_height: int  # height of ordinary bars
    guard_height: int  # guard bars reach down between the digit groups

    @property
    def width(self) -> int:
        return self.module * MODULES


def geometry(box_width: int, box_height: int, module: int, digits_height: int) -> BarcodeGeometry:
    """Centre the 113-module symbol in the box; digits take `digits_height` at the bottom."""
    symbol_left = (box_width - module * TOTAL_MODULES) // 2
    bars_height = box_height - digits_height
    return BarcodeGeometry(
        module=module,
        left=symbol_left + QUIET_LEFT * module,
        bars_height=bars_height,
        guard_height=bars_height + digits_height // 2,
    )


def bars_image(pattern: str, geo: BarcodeGeometry, ink: int) -> Image.Image:
    """The bars as a "P" image of palette index `ink` on white (0).

    Built as one row of modules and scaled with NEAREST, so every module is exactly
    `geo.module` pixels wide and nothing is ever blended.
    """
    row = pattern.translate(_TO_INK[ink]).encode("latin-1")
    return Image.frombytes("P", (MODULES, 1), row).resize(
        (geo.width, geo.bars_height), Image.Resampling.NEAREST
    )


@lru_cache(maxsize=64)
def guard_extension(geo: BarcodeGeometry, ink: int) -> Image.Image:
    """The guard bars' extension below the others: the same for every EAN-13."""
    row = bytearray(MODULES)
    for (start, end), guard in zip(GUARD_MODULES, GUARD_PATTERNS, strict=True):
        row[start:end] = guard.translate(_TO_INK[ink]).encode("latin-1")
    return Image.frombytes("P", (MODULES, 1), bytes(row)).resize(
        (geo.width, geo.guard_height - geo.bars_height), Image.Resampling.NEAREST
    )


_TO_INK = {ink: str.maketrans({"0": "\x00", "1": chr(ink)}) for ink in (1, 2)}


def digit_groups(gtin: str) -> tuple[str, str, str]:
    """Human-readable digits: the first digit (left of the bars), then two groups of six."""
    digits = ean13_digits(gtin)
    return digits[0], digits[1:7], digits[7:]


# Module offsets where each group of human-readable digits sits under the bars.
LEFT_GROUP_MODULES = (3, 45)
RIGHT_GROUP_MODULES = (50, 92)
