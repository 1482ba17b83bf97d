"""Impression arithmetic: multipliers (declared by daypart, measured by sensor) and spend."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from esl_controller.ads.impressions import (
    DEFAULT_MULTIPLIER_MILLI,
    PlayFacts,
    choose_multiplier,
    declared_multiplier_milli,
    divide_half_up,
    duration_ms,
    impression_for,
    measured_multiplier_milli,
    parse_declared_audience,
    spend_minor,
)

DECLARED = '{"07:00-10:00": 3.5, "22:00-02:00": 0.25, "*": 2.0}'
START = datetime(2026, 6, 1, 5, 30, tzinfo=UTC)  # 08:30 in Bucharest (summer, +03:00)


def play(seconds: float = 10.0, start: datetime = START) -> PlayFacts:
    return PlayFacts("p-1", "screen-07", "dairy", 7, 11, start, start + timedelta(seconds=seconds))


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(5, 10, 1), (4, 10, 0), (15, 10, 2), (-5, 10, -1), (0, 7, 0), (10**30 + 1, 2, 5 * 10**29 + 1)],
)
def test_divide_half_up_rounds_halves_up_exactly(numerator, denominator, expected):
    assert divide_half_up(numerator, denominator) == expected


def test_spend_rounds_once_half_up_from_the_basis():
    assert spend_minor(499_999) == 0
    assert spend_minor(500_000) == 1
    assert spend_minor(2_500 * 850) == 2  # 2.5 impressions at CPM 8.50 = 0.002125 -> 0.00
    assert spend_minor(1_000_000 * 850) == 850  # 1,000 impressions cost the CPM


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (time(7, 0), 3500),
        (time(9, 59), 3500),
        (time(10, 0), 2000),  # end exclusive: the fallback
        (time(23, 15), 250),  # crosses midnight
        (time(1, 59), 250),
        (time(2, 0), 2000),
    ],
)
def test_declared_multiplier_by_daypart(local, expected):
    assert declared_multiplier_milli(DECLARED, local) == expected


def test_nothing_declared_counts_one_impression_per_play():
    assert declared_multiplier_milli("{}", time(12)) == DEFAULT_MULTIPLIER_MILLI
    assert declared_multiplier_milli('{"07:00-10:00": 3}', time(12)) == DEFAULT_MULTIPLIER_MILLI


def test_declared_value_keeps_thousandths_exactly():
    assert declared_multiplier_milli('{"*": 1.0005}', time(1)) == 1001  # half up
    assert declared_multiplier_milli('{"*": 0.1}', time(1)) == 100  # no float drift


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ('{"07:00-10:00": 1, "09:00-11:00": 2}', "overlap"),
        ('{"22:00-02:00": 1, "01:00-03:00": 2}', "overlap"),
        ('{"7-10": 1}', "HH:MM"),
        ('{"07:00": 1}', "HH:MM-HH:MM"),
        ('{"07:00-07:00": 1}', "equal"),
        ('{"*": -1}', "between 0"),
        ('{"*": true}', "expected a number"),
        ('{"*": "2"}', "expected a number"),
        ("[1, 2]", "expected an object"),
        ("{oops", "not JSON"),
    ],
)
def test_bad_declarations_are_refused_with_the_entry(declared, message):
    with pytest.raises(ValueError, match=message):
        parse_declared_audience(declared)


def test_measured_multiplier_is_the_mean_count_inside_the_window():
    end = START + timedelta(seconds=10)
    readings = [
        (START - timedelta(seconds=1), 100),  # before: ignored
        (START, 3),  # boundaries count
        (START + timedelta(seconds=5), 4),
        (end, 4),
        (end + timedelta(seconds=1), 100),  # after: ignored
    ]
    assert measured_multiplier_milli(readings, START, end) == 3667  # 11/3 half up
    assert measured_multiplier_milli(readings[:1], START, end) is None
    assert measured_multiplier_milli([(START, 0)], START, end) == 0


def test_choose_measured_when_the_sensor_saw_the_play_else_declared_local_daypart():
    end = START + timedelta(seconds=10)
    args = dict(declared_json=DECLARED, started_at=START, ended_at=end, tz="Europe/Bucharest")
    assert choose_multiplier(has_audience_sensor=True, audience_counts=[(START, 6)], **args) == (
        6000,
        "measured",
    )
    # sensor but no reading in the window; 05:30 UTC is 08:30 local: the morning daypart
    assert choose_multiplier(has_audience_sensor=True, audience_counts=[], **args) == (
        3500,
        "declared",
    )
    assert choose_multiplier(has_audience_sensor=False, audience_counts=[(START, 6)], **args) == (
        3500,
        "declared",
    )


def test_impression_for_bills_one_play_times_the_multiplier():
    facts = impression_for(play(10.0004), 2500, "declared", 850)
    assert facts.play_ms == 10000
    assert facts.impressions_milli == 2500
    assert facts.spend_basis == 2500 * 850
    assert facts.multiplier_source == "declared"


@pytest.mark.parametrize(
    ("multiplier", "source", "cpm", "message"),
    [
        (1000, "guessed", 850, "multiplier source"),
        (-1, "declared", 850, ">= 0"),
        (1.5, "declared", 850, "must be an int"),
        (1000, "declared", -5, "cpm_minor"),
    ],
)
def test_impression_for_refuses_bad_figures(multiplier, source, cpm, message):
    with pytest.raises(ValueError, match=message):
        impression_for(play(), multiplier, source, cpm)


def test_impression_for_refuses_a_play_without_duration():
    with pytest.raises(ValueError, match="duration"):
        impression_for(play(0), 1000, "declared", 850)


def test_duration_is_rounded_half_up_to_milliseconds():
    assert duration_ms(START, START + timedelta(microseconds=1500)) == 2
    assert duration_ms(START, START + timedelta(microseconds=1499)) == 1
    assert duration_ms(START, START + timedelta(days=1)) == 86_400_000
