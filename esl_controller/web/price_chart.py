"""A product's price over a time window as server-rendered SVG geometry: a step line (a
price holds until the next change), no JavaScript and no inline style, like bar_chart."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH = 600
HEIGHT = 160
LEFT = 70  # room for the price figures on the left
RIGHT = 10
TOP = 12
BOTTOM = 24  # room for the dates under the line


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class StepChart:
    width: int
    height: int
    points: str  # the polyline's "x,y x,y ..." attribute
    price_ticks: tuple[Tick, ...]
    date_ticks: tuple[Tick, ...]


def step_chart(
    steps: Sequence[tuple[datetime, int]],
    start: datetime,
    end: datetime,
    price_text: Callable[[int], str],
) -> StepChart | None:
    """The line of (from, price) `steps` between `start` and `end`; None without a price.

    `price_text` writes a price in minor units for the axis (the caller knows the currency).
    """
    if not steps or end <= start:
        return None
    low = min(price for _, price in steps)
    high = max(price for _, price in steps)
    span_s = (end - start).total_seconds()
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def x_of(moment: datetime) -> float:
        seconds = min(max((moment - start).total_seconds(), 0.0), span_s)
        return round(LEFT + seconds / span_s * plot_w, 1)

    def y_of(price: int) -> float:
        if high == low:
            return round(TOP + plot_h / 2, 1)
        return round(TOP + (high - price) / (high - low) * plot_h, 1)

    coordinates: list[tuple[float, float]] = []
    for index, (moment, price) in enumerate(steps):
        x = x_of(moment)
        if coordinates:
            coordinates.append((x, coordinates[-1][1]))  # the old price holds until now
        coordinates.append((x, y_of(price)))
        if index == len(steps) - 1:
            coordinates.append((x_of(end), y_of(price)))
    points = " ".join(f"{x},{y}" for x, y in coordinates)
    prices = sorted({low, high})
    price_ticks = tuple(Tick(LEFT - 6, y_of(p) + 4, price_text(p)) for p in prices)
    date_ticks = (
        Tick(LEFT, HEIGHT - 6, f"{start:%Y-%m-%d}"),
        Tick(WIDTH - RIGHT, HEIGHT - 6, f"{end:%Y-%m-%d}"),
    )
    return StepChart(WIDTH, HEIGHT, points, price_ticks, date_ticks)
