"""The manager's revenue view: billed spend by campaign, by screen, by store and by
store-local day.

Pure: takes the billing log's hourly slices, returns totals. Each group's spend is rounded
half up from its own exact `spend_basis`; the grand total per currency is rounded from the
total basis (so it is the figure a report over the same period shows). Currencies are
never added together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from esl_controller.ads.impressions import spend_minor
from esl_controller.ads.report_rows import HourlySlice

DIMENSIONS = ("campaign", "screen", "store", "day")


@dataclass(frozen=True)
class RevenueLine:
    key: str  # campaign id, player id or ISO date
    label: str  # what the manager reads
    currency: str
    plays: int
    impressions_milli: int
    spend_basis: int

    @property
    def spend_minor(self) -> int:
        return spend_minor(self.spend_basis)


@dataclass(frozen=True)
class Revenue:
    by_campaign: tuple[RevenueLine, ...]  # highest spend first
    by_screen: tuple[RevenueLine, ...]  # highest spend first
    by_store: tuple[RevenueLine, ...]  # highest spend first
    by_day: tuple[RevenueLine, ...]  # in date order, days without plays included
    totals: tuple[RevenueLine, ...]  # one per currency


def revenue(
    slices: Iterable[HourlySlice],
    tz: str,
    first_day: date,
    last_day: date,
    store_names: Mapping[str, str] | None = None,
) -> Revenue:
    """Group `slices` four ways; `by_day` lists every day first_day..last_day inclusive."""
    names = store_names or {}
    items = list(slices)
    zone = ZoneInfo(tz)

    def day_of(item: HourlySlice) -> str:
        return item.hour.astimezone(zone).date().isoformat()

    by_day = _group(items, lambda s: (day_of(s), day_of(s)))
    return Revenue(
        by_campaign=_by_spend(_group(items, lambda s: (str(s.campaign_id), s.campaign_name))),
        by_screen=_by_spend(_group(items, lambda s: (s.player_id, s.player_name or s.player_id))),
        by_store=_by_spend(
            _group(items, lambda s: (s.store_id, names.get(s.store_id) or s.store_id))
        ),
        by_day=tuple(_fill_days(by_day, first_day, last_day, items)),
        totals=tuple(sorted(_group(items, lambda s: ("total", "Total")), key=_currency)),
    )


def _group(
    items: list[HourlySlice], key_of: Callable[[HourlySlice], tuple[str, str]]
) -> list[RevenueLine]:
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    labels: dict[tuple[str, str], str] = {}
    for item in items:
        key, label = key_of(item)
        group = (key, item.currency)
        total = sums[group]
        total[0] += item.plays
        total[1] += item.impressions_milli
        total[2] += item.spend_basis
        labels[group] = label
    return [
        RevenueLine(key, labels[(key, currency)], currency, *totals)
        for (key, currency), totals in sums.items()
    ]


def _by_spend(lines: list[RevenueLine]) -> tuple[RevenueLine, ...]:
    return tuple(sorted(lines, key=lambda line: (-line.spend_basis, line.label, line.key)))


def _currency(line: RevenueLine) -> str:
    return line.currency


def _fill_days(
    lines: list[RevenueLine], first_day: date, last_day: date, items: list[HourlySlice]
) -> list[RevenueLine]:
    """One line per day and currency; quiet days appear with zero so the chart has no gaps."""
    currencies = sorted({item.currency for item in items}) or [""]
    known = {(line.key, line.currency): line for line in lines}
    filled = []
    day = first_day
    while day <= last_day:
        for currency in currencies:
            key = day.isoformat()
            filled.append(known.get((key, currency), RevenueLine(key, key, currency, 0, 0, 0)))
        day = date.fromordinal(day.toordinal() + 1)
    return filled
