"""Campaign reports: exact totals under every grouping, store-local days (DST), goals, and
the JSON, CSV and PDF a buyer receives."""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from esl_controller.ads.reports import (
    GROUP_BYS,
    CampaignFacts,
    ReportRow,
    allocate_largest_remainder,
    build_report,
    row_from_hourly,
    row_from_impression,
    to_csv,
    to_json,
    to_pdf,
)

TZ = "Europe/Bucharest"
GENERATED = datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
CAMPAIGN = CampaignFacts(
    id=7,
    name="Lapte Zuzu – toamnă",
    advertiser="Albalact SA",
    currency="RON",
    cpm_minor=850,
    goal_kind="impressions",
    goal_value=1000,
    starts_at=datetime(2026, 10, 1, tzinfo=UTC),
    ends_at=datetime(2026, 11, 30, tzinfo=UTC),
    venue_type="retail.grocery",
)


def row(at: datetime, impressions_milli: int = 2500, **changes) -> ReportRow:
    values = dict(
        started_at=at,
        campaign_id=7,
        player_id="screen-07",
        player_name="Lactate – raft 3",
        zone_id="dairy",
        creative_id=11,
        creative_name="Zuzu 10s",
        multiplier_source="declared",
        plays=1,
        play_ms=10_000,
        impressions_milli=impressions_milli,
        spend_basis=impressions_milli * 850,
        currency="RON",
    )
    values.update(changes)
    if "spend_basis" not in changes:
        values["spend_basis"] = values["impressions_milli"] * changes.get("cpm", 850)
    values.pop("cpm", None)
    return ReportRow(**values)


def report(rows, group_by="day", campaign=CAMPAIGN, **options):
    return build_report(rows, group_by, TZ, campaign, generated_at=GENERATED, **options)


def random_rows(count: int, seed: int = 5) -> list[ReportRow]:
    rng = random.Random(seed)
    start = datetime(2026, 10, 20, tzinfo=UTC)
    players = [("screen-01", "Intrare", "entrance"), ("screen-07", "Lactate", "dairy"),
               ("screen-09", "Casa 4", "checkout")]  # fmt: skip
    rows = []
    for _ in range(count):
        player = rng.choice(players)
        hourly = rng.random() < 0.1
        plays = rng.randint(2, 40) if hourly else 1
        impressions = rng.randint(0, 7_777) * plays
        rows.append(
            row(
                start + timedelta(seconds=rng.randint(0, 14 * 86_400)),
                impressions,
                player_id=player[0],
                player_name=player[1],
                zone_id=player[2],
                creative_id=rng.choice([11, 12, None]),
                creative_name="",
                multiplier_source=rng.choice(["measured", "declared"]),
                plays=plays,
                play_ms=rng.randint(1, 30_000) * plays,
                spend_basis=impressions * rng.choice([850, 851, 1333]),
            )
        )
    return rows


def test_totals_are_identical_to_the_cent_under_every_grouping():
    rows = random_rows(3000)
    reports = {group_by: report(rows, group_by) for group_by in GROUP_BYS}
    totals = {(r.total.plays, r.total.play_ms, r.total.impressions_milli, r.total.spend_basis,
               r.total.spend_minor, r.total.measured_plays, r.total.delivery_tenths)
              for r in reports.values()}  # fmt: skip
    assert len(totals) == 1
    assert reports["day"].total.plays == sum(r.plays for r in rows)
    assert reports["day"].total.spend_basis == sum(r.spend_basis for r in rows)
    for built in reports.values():
        groups = built.groups
        assert sum(g.spend_minor for g in groups) == built.total.spend_minor
        assert sum(g.impressions_milli for g in groups) == built.total.impressions_milli
        assert sum(g.measured_plays + g.declared_plays for g in groups) == built.total.plays


def test_spend_is_rounded_half_up_once_and_groups_get_the_largest_remainders():
    rows = [
        row(datetime(2026, 10, 20, 9, tzinfo=UTC), 1, spend_basis=400_000, player_id="a"),
        row(datetime(2026, 10, 20, 9, tzinfo=UTC), 1, spend_basis=450_000, player_id="b"),
        row(datetime(2026, 10, 20, 9, tzinfo=UTC), 1, spend_basis=300_000, player_id="c"),
    ]
    built = report(rows, "player")
    assert built.total.spend_minor == 1  # 1.15 minor units -> 1
    assert {g.key: g.spend_minor for g in built.groups} == {"a": 0, "b": 1, "c": 0}
    assert report(rows[:2], "player").total.spend_minor == 1  # 0.85 -> 1
    assert report(rows[:1] + rows[2:], "player").total.spend_minor == 1  # 0.70 -> 1


def test_largest_remainder_ties_go_to_the_earlier_group():
    assert allocate_largest_remainder([1_500_000, 1_500_000, 1_000_000], 4) == [2, 1, 1]
    assert allocate_largest_remainder([400_000] * 3, 1) == [1, 0, 0]
    with pytest.raises(ValueError, match="cannot allocate"):
        allocate_largest_remainder([1_000_000], 5)


def test_days_are_store_local_and_the_autumn_dst_day_has_25_hours():
    # Bucharest leaves summer time on 2026-10-25: 04:00 EEST becomes 03:00 EET.
    start = datetime(2026, 10, 24, 21, 0, tzinfo=UTC)  # local midnight of the 25th
    rows = [row(start + timedelta(hours=h)) for h in range(-1, 26)]
    days = {g.key: g.plays for g in report(rows, "day").groups}
    assert days == {"2026-10-24": 1, "2026-10-25": 25, "2026-10-26": 1}


def test_the_spring_dst_day_has_23_hours():
    start = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # local midnight of the 29th (+02:00)
    rows = [row(start + timedelta(hours=h)) for h in range(24)]
    days = {g.key: g.plays for g in report(rows, "day").groups}
    assert days == {"2026-03-29": 23, "2026-03-30": 1}


def test_the_repeated_dst_hour_stays_two_groups_in_time_order():
    first_0330, second_0330 = (datetime(2026, 10, 25, h, 30, tzinfo=UTC) for h in (0, 1))
    rows = [row(first_0330), row(second_0330)]
    groups = report(rows, "hour").groups
    assert [g.key for g in groups] == ["2026-10-25T03:00+03:00", "2026-10-25T03:00+02:00"]
    assert [g.cumulative_delivery_tenths for g in groups] == [3, 5]  # 2.5 then 5 of 1000 impr.


def test_a_play_spanning_midnight_belongs_to_the_day_it_started():
    late = datetime(2026, 10, 20, 20, 59, 55, tzinfo=UTC)  # 23:59:55 local, plays 30 s
    built = report([row(late, play_ms=30_000)], "day")
    assert [g.key for g in built.groups] == ["2026-10-20"]


def test_zero_impressions_give_zero_spend_and_no_ecpm():
    built = report([row(datetime(2026, 10, 20, 9, tzinfo=UTC), 0, multiplier_source="measured")])
    assert (built.total.plays, built.total.spend_minor, built.total.ecpm_minor) == (1, 0, None)
    assert built.total.delivery_tenths == 0
    document = json.loads(to_json(built))
    assert document["total"]["ecpm"] is None and document["total"]["spend"] == "0.00"


def test_an_empty_period_is_a_report_of_zeros_with_its_days():
    built = report(
        [], period_from=datetime(2026, 10, 19, 21, tzinfo=UTC),
        period_to=datetime(2026, 10, 22, 21, tzinfo=UTC),
    )  # fmt: skip
    assert built.groups == () and built.total.plays == 0 and built.total.spend_minor == 0
    assert [p.day.isoformat() for p in built.timeline] == ["2026-10-20", "2026-10-21", "2026-10-22"]
    assert to_pdf(built).startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("goal_kind", "goal_value", "expected_tenths"),
    [
        ("plays", 8, 250),  # 2 of 8 plays
        ("impressions", 20, 250),  # 5 of 20 impressions
        ("budget", 17, 235),  # 4.25 bani spent, rounded to 4, of a 17-bani budget
        ("impressions", 0, None),  # no goal
    ],
)
def test_delivery_against_each_kind_of_goal(goal_kind, goal_value, expected_tenths):
    at = datetime(2026, 10, 20, 9, tzinfo=UTC)
    rows = [row(at, 2500, spend_basis=2_125_000), row(at, 2500, spend_basis=2_125_000)]
    built = report(rows, campaign=replace(CAMPAIGN, goal_kind=goal_kind, goal_value=goal_value))
    assert built.total.spend_minor == 4  # 4.25 bani: rounded once on the total
    assert built.total.delivery_tenths == expected_tenths


def test_rows_of_another_campaign_or_currency_are_refused():
    at = datetime(2026, 10, 20, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="row of campaign 8"):
        report([row(at, campaign_id=8)])
    with pytest.raises(ValueError, match="currencies never mix"):
        report([row(at, currency="EUR")])
    with pytest.raises(ValueError, match="group_by must be one of"):
        report([], "week")
    with pytest.raises(ValueError, match="unknown time zone"):
        build_report([], "day", "Mars/Olympus", CAMPAIGN, generated_at=GENERATED)
    with pytest.raises(ValueError, match="goal kind"):
        report([], campaign=replace(CAMPAIGN, goal_kind="reach"))


def test_rows_come_from_raw_impressions_and_hourly_roll_ups():
    raw = SimpleNamespace(
        started_at=datetime(2026, 10, 20, 9, 0, 5), campaign_id=7, player_id="screen-07",
        player_name="Lactate", zone_id="dairy", creative_id=11, creative_name="Zuzu",
        multiplier_source="measured", play_ms=10_000, impressions_milli=3000, cpm_minor=850,
        currency="RON",
    )  # fmt: skip
    hourly = SimpleNamespace(
        hour=datetime(2026, 10, 20, 8, 0), campaign_id=7, player_id="screen-07",
        player_name="Lactate", zone_id="dairy", creative_id=None, creative_name="",
        multiplier_source="declared", plays=4, play_ms=40_000, impressions_milli=8000,
        spend_basis=8000 * 850, currency="RON",
    )  # fmt: skip
    first, second = row_from_impression(raw), row_from_hourly(hourly)
    assert first.started_at.tzinfo is UTC and first.spend_basis == 3000 * 850 and first.plays == 1
    assert second.plays == 4 and second.started_at == datetime(2026, 10, 20, 8, tzinfo=UTC)
    built = report([first, second], "creative")
    assert [(g.label, g.plays) for g in built.groups] == [("(no creative)", 4), ("Zuzu", 1)]
    assert (built.total.measured_plays, built.total.declared_plays) == (1, 4)


def test_json_holds_every_field_with_exact_decimals():
    rows = random_rows(200)
    built = report(rows, "zone", chain_head=(42, "a" * 64))
    document = json.loads(to_json(built))
    assert document["report_version"] == 1
    assert document["generated_at"] == "2026-11-01T07:00:00Z"
    assert document["campaign"]["venue_type"] == "retail.grocery"
    assert document["campaign"]["cpm"] == "8.50"
    assert document["chain_head"] == {"seq": 42, "hash": "a" * 64}
    assert {s["id"] for s in document["screens"]} == {"screen-01", "screen-07", "screen-09"}
    total = document["total"]
    assert total["impressions_milli"] == sum(r.impressions_milli for r in rows)
    assert total["impressions"] == f"{total['impressions_milli'] / 1000:.3f}"
    assert sum(g["spend_minor"] for g in document["groups"]) == total["spend_minor"]
    assert total["spend"] == f"{total['spend_minor'] // 100}.{total['spend_minor'] % 100:02d}"


def test_csv_is_rfc4180_after_comment_lines_and_defuses_formulas():
    rows = [
        row(datetime(2026, 10, 20, 9, tzinfo=UTC), player_id="s1", player_name="=HYPERLINK(x)"),
        row(datetime(2026, 10, 20, 9, tzinfo=UTC), player_id="s2", player_name='Casa "4", ieșire'),
    ]
    text = to_csv(report(rows, "player", chain_head=(9, "b" * 64))).decode("utf-8")
    lines = text.split("\r\n")
    comments = [line for line in lines if line.startswith("# ")]
    assert "# campaign: 7 Lapte Zuzu – toamnă" in comments
    assert f"# impression chain head: seq 9 sha256 {'b' * 64}" in comments
    table = list(csv.DictReader(io.StringIO("\r\n".join(lines[len(comments) :]), newline="")))
    assert [r["label"] for r in table] == ["'=HYPERLINK(x)", 'Casa "4", ieșire', "Total"]
    assert table[-1]["plays"] == "2" and table[-1]["impressions"] == "5.000"
    assert table[-1]["spend"] == "0.04" and table[-1]["currency"] == "RON"  # 4.25 bani


def test_pdf_is_a_deterministic_document():
    built = report(random_rows(300), "day", chain_head=(1, "c" * 64))
    first, second = to_pdf(built), to_pdf(built)
    assert first.startswith(b"%PDF-1.") and first.rstrip().endswith(b"%%EOF")
    assert first == second
    assert b"/Title" in first
