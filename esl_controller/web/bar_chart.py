"""Bar charts as server-rendered SVG geometry: no JavaScript, no inline style (the CSP
forbids both), only SVG attributes the template writes and classes from a stylesheet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LABEL_WIDTH = 140  # horizontal charts: room for a campaign or screen name on the left
VALUE_WIDTH = 90  # and for the figure on the right
ROW_HEIGHT = 22
BAR_GAP = 2
MAX_LABEL_CHARS = 20
MAX_COLUMN_SLOT = 60  # a week of days stays a chart of columns, not of slabs


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value_text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    horizontal: bool


def horizontal_bars(items: Sequence[tuple[str, int, str]], width: int = 500) -> Chart:
    """One row per (label, value, value_text): bars proportional to the largest value."""
    plot_width = width - LABEL_WIDTH - VALUE_WIDTH
    largest = max((value for _, value, _ in items), default=0)
    bars = tuple(
        Bar(
            x=LABEL_WIDTH,
            y=index * ROW_HEIGHT + BAR_GAP,
            width=_scaled(value, largest, plot_width),
            height=ROW_HEIGHT - 2 * BAR_GAP,
            label=_shorten(label),
            value_text=value_text,
        )
        for index, (label, value, value_text) in enumerate(items)
    )
    return Chart(width=width, height=max(len(items), 1) * ROW_HEIGHT, bars=bars, horizontal=True)


def column_bars(
    items: Sequence[tuple[str, int, str]], width: int = 720, height: int = 180
) -> Chart:
    """One column per (label, value, value_text) in order, for values over time."""
    plot_height = height - 20  # the bottom strip holds the date labels
    top_margin = 16  # room for the figure above the tallest column
    slot = min(width / max(len(items), 1), MAX_COLUMN_SLOT)
    largest = max((value for _, value, _ in items), default=0)
    bars = []
    for index, (label, value, value_text) in enumerate(items):
        bar_height = _scaled(value, largest, plot_height - top_margin)
        bars.append(
            Bar(
                x=round(index * slot + BAR_GAP, 2),
                y=round(plot_height - bar_height, 2),
                width=round(max(slot - 2 * BAR_GAP, 1), 2),
                height=bar_height,
                label=label,
                value_text=value_text,
            )
        )
    used_width = max(
        round(slot * len(items)), 120
    )  # few days: a compact chart, not a stretched one
    return Chart(width=used_width, height=height, bars=tuple(bars), horizontal=False)


def _scaled(value: int, largest: int, room: float) -> float:
    if largest <= 0 or value <= 0:
        return 0.0
    return round(max(value / largest * room, 1.0), 2)  # a non-zero value stays visible


def _shorten(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"
