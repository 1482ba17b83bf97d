"""Reports reconcile with the chained log: the hourly totals every report reads must equal
the sums of the chained impression rows (plus the roll-ups that replaced older rows). Pure.

`TotalsAccumulator` sums raw rows as a verify run streams them past; `problems` compares
those sums with the stored totals and names every hour that differs, so an edited total
fails verification even though the chain itself is intact.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from esl_controller.ads.hour_totals import NO_CREATIVE
from esl_controller.ads.impressions import as_utc

MAX_PROBLEMS = 10  # the first few differences name the hours; the count says the rest

TotalKey = tuple[datetime, int, int, str, int, str, str]


@dataclass
class Sums:
    plays: int = 0
    play_ms: int = 0
    impressions_milli: int = 0
    spend_basis: int = 0
    currency: str = ""

    def as_tuple(self) -> tuple[int, int, int, int, str]:
        return (self.plays, self.play_ms, self.impressions_milli, self.spend_basis, self.currency)


def total_key(row: Any, hour: datetime) -> TotalKey:
    creative = row.creative_id if row.creative_id is not None else NO_CREATIVE
    return (
        as_utc(hour).replace(minute=0, second=0, microsecond=0),
        row.campaign_id,
        row.advertiser_id,
        row.player_id or "",
        creative,
        row.zone_id or "",
        row.multiplier_source,
    )


class TotalsAccumulator:
    """Sums of raw impression rows and roll-ups per hourly-total key."""

    def __init__(self) -> None:
        self.sums: dict[TotalKey, Sums] = {}

    def _at(self, key: TotalKey, currency: str) -> Sums:
        sums = self.sums.get(key)
        if sums is None:
            sums = self.sums[key] = Sums(currency=currency)
        elif sums.currency != currency:
            sums.currency = "(mixed)"
        return sums

    def add_row(self, row: Any) -> None:
        sums = self._at(total_key(row, row.started_at), row.currency)
        sums.plays += 1
        sums.play_ms += row.play_ms
        sums.impressions_milli += row.impressions_milli
        sums.spend_basis += row.impressions_milli * row.cpm_minor

    def add_rollup(self, rollup: Any) -> None:
        sums = self._at(total_key(rollup, rollup.hour), rollup.currency)
        sums.plays += rollup.plays
        sums.play_ms += rollup.play_ms
        sums.impressions_milli += rollup.impressions_milli
        sums.spend_basis += rollup.spend_basis

    def passing(self, rows: Iterable[Any]) -> Iterator[Any]:
        """`rows` unchanged, each one summed on its way past."""
        for row in rows:
            self.add_row(row)
            yield row


def problems(expected: TotalsAccumulator, stored_totals: Iterable[Any]) -> list[str]:
    """Every difference between the sums of the chained rows and the stored hourly totals."""
    return [message for _, message in differences(expected, stored_totals)]


def differences(
    expected: TotalsAccumulator, stored_totals: Iterable[Any]
) -> list[tuple[TotalKey, str]]:
    """`problems`, each with the key it is about (its player tells its store)."""
    found: list[tuple[TotalKey, str]] = []
    remaining = dict(expected.sums)
    for total in stored_totals:
        key = total_key(total, total.hour)
        stored = Sums(
            total.plays, total.play_ms, total.impressions_milli, total.spend_basis, total.currency
        )
        sums = remaining.pop(key, None)
        if sums is None:
            message = f"{_describe(key)}: a total of {total.plays} plays with no chained record"
            found.append((key, message))
        elif sums.as_tuple() != stored.as_tuple():
            message = (
                f"{_describe(key)}: the total says plays, ms, impressions_milli, spend_basis, "
                f"currency = {stored.as_tuple()}, the chained records sum to {sums.as_tuple()}"
            )
            found.append((key, message))
    for key, sums in remaining.items():
        message = f"{_describe(key)}: {sums.plays} chained plays missing from the totals"
        found.append((key, message))
    return found


def player_of(key: TotalKey) -> str:
    return key[3]


def _describe(key: TotalKey) -> str:
    hour, campaign, _advertiser, player, creative, _zone, source = key
    return (
        f"hour {hour.strftime('%Y-%m-%dT%H:00Z')} campaign {campaign} player {player!r} "
        f"creative {creative} ({source})"
    )
