"""SVG bar geometry: proportional bars, zero stays zero, a tiny value stays visible."""

from __future__ import annotations

from esl_controller.web.bar_chart import LABEL_WIDTH, column_bars, horizontal_bars


def test_horizontal_bars_are_proportional_to_the_largest():
    chart = horizontal_bars([("Milk", 100, "1.00"), ("Tea", 50, "0.50"), ("None", 0, "0")])
    widths = [bar.width for bar in chart.bars]
    assert widths[0] == 2 * widths[1]
    assert widths[2] == 0
    assert all(bar.x == LABEL_WIDTH for bar in chart.bars)
    assert chart.height == 3 * (chart.bars[1].y - chart.bars[0].y)


def test_a_tiny_value_is_still_visible_and_long_labels_are_shortened():
    chart = horizontal_bars([("A very long campaign name indeed", 1_000_000, "x"), ("b", 1, "y")])
    assert chart.bars[1].width >= 1.0
    assert chart.bars[0].label.endswith("…") and len(chart.bars[0].label) <= 20


def test_columns_stand_on_a_common_baseline():
    chart = column_bars([("01", 10, "a"), ("02", 5, "b"), ("03", 0, "c")], height=120)
    bottoms = {round(bar.y + bar.height, 2) for bar in chart.bars}
    assert len(bottoms) == 1
    assert chart.bars[0].height == 2 * chart.bars[1].height
    assert chart.bars[0].x < chart.bars[1].x < chart.bars[2].x


def test_no_data_draws_no_bars():
    assert horizontal_bars([]).bars == ()
    assert column_bars([]).bars == ()
