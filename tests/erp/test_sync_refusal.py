from __future__ import annotations

import pytest

from esl_controller.erp.sync import delist_refusal


@pytest.mark.parametrize(
    ("absent", "active", "fetched"),
    [(1, 20, 19), (2, 10, 8), (0, 0, 0), (0, 10, 10)],
)
def test_delisting_within_the_ratio_is_allowed(absent, active, fetched):
    assert delist_refusal(absent, active, fetched=fetched, safety_ratio=0.2) is None


def test_a_truncated_feed_is_refused_with_figures():
    assert delist_refusal(9812, 10000, fetched=188, safety_ratio=0.2) == (
        "refused to delist 9,812 of 10,000 products (98 %): the feed looks truncated; "
        "safety ratio 20 %"
    )


def test_an_empty_feed_is_refused_even_for_a_tiny_store():
    refusal = delist_refusal(1, 1, fetched=0, safety_ratio=1.0)
    assert refusal is not None and "the feed returned no products" in refusal
