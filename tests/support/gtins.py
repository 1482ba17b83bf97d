"""Valid GTINs for test catalogues."""

from __future__ import annotations

from esl_controller.catalogue.gtin import gtin_check_digit


def make_gtin(n: int, prefix: str = "594") -> str:
    """A valid GTIN-13: prefix, a running number, and its computed check digit."""
    body = f"{prefix}{n:09d}"
    return body + str(gtin_check_digit(body))
