from __future__ import annotations

import pytest

from esl_controller.catalogue.stock import stock_level


@pytest.mark.parametrize(
    ("stock", "threshold", "level"),
    [
        (None, 5, "in_stock"),
        (-2, 5, "out"),  # oversold: still out
        (0, 5, "out"),
        (1, 5, "low"),
        (5, 5, "low"),
        (6, 5, "in_stock"),
        (1, 0, "in_stock"),
        (0, 0, "out"),
    ],
)
def test_stock_level(stock: int | None, threshold: int, level: str) -> None:
    assert stock_level(stock, threshold) == level
