"""Revenue grouping (pure): by campaign and screen by spend, by store-local day with quiet
days filled, currencies never added, totals rounded from the summed basis."""

from __future__ import annotations

from datetime import UTC, date, datetime

from esl_controller.ads.report_rows import HourlySlice
from esl_controller.ads.revenue import revenue


def piece(hour: datetime, campaign: int, player: str, basis: int, currency: str = "RON"):
    return HourlySlice(
        hour=hour,
        campaign_id=campaign,
        campaign_name=f"Campaign {campaign}",
        advertiser_id=1,
        creative_id=None,
        creative_name="",
        player_id=player,
        player_name=f"Screen {player}",
        zone_id="z",
        multiplier_source="declared",
        plays=1,
        play_ms=10_000,
        impressions_milli=1000,
        spend_basis=basis,
        currency=currency,
    )


def test_groups_rounding_and_local_days():
    slices = [
        piece(datetime(2026, 3, 1, 22, 30, tzinfo=UTC), 1, "a", 1_400_000),  # 2 Mar local
        piece(datetime(2026, 3, 1, 9, tzinfo=UTC), 1, "b", 1_400_000),
        piece(datetime(2026, 3, 1, 9, tzinfo=UTC), 2, "a", 5_000_000),
    ]
    result = revenue(slices, "Europe/Bucharest", date(2026, 3, 1), date(2026, 3, 3))
    assert [(line.key, line.spend_minor) for line in result.by_campaign] == [("2", 5), ("1", 3)]
    assert [line.key for line in result.by_screen] == ["a", "b"]
    assert [(line.key, line.plays) for line in result.by_day] == [
        ("2026-03-01", 2),
        ("2026-03-02", 1),
        ("2026-03-03", 0),
    ]
    (total,) = result.totals
    assert total.spend_minor == 8  # 7.8 rounded once, not 1 + 1 + 5 from rounded parts


def test_currencies_are_kept_apart():
    slices = [
        piece(datetime(2026, 3, 1, 9, tzinfo=UTC), 1, "a", 2_000_000, "RON"),
        piece(datetime(2026, 3, 1, 9, tzinfo=UTC), 2, "a", 3_000_000, "EUR"),
    ]
    result = revenue(slices, "UTC", date(2026, 3, 1), date(2026, 3, 1))
    assert [(line.currency, line.spend_minor) for line in result.totals] == [("EUR", 3), ("RON", 2)]
    assert len(result.by_screen) == 2  # one screen, two currencies: two lines
    assert len(result.by_day) == 2


def test_no_plays_gives_empty_groups_and_zero_days():
    result = revenue([], "UTC", date(2026, 3, 1), date(2026, 3, 2))
    assert result.by_campaign == () and result.totals == ()
    assert [line.spend_minor for line in result.by_day] == [0, 0]
