from __future__ import annotations

import pytest

from esl_controller.signage.rate_limit import FixedWindow, TokenBuckets


def test_a_storm_from_one_sensor_gets_burst_then_rate_and_others_are_unaffected():
    buckets = TokenBuckets(rate_per_s=5, burst=20)
    # 1,000 triggers spread evenly over one second from one sensor.
    storm = [buckets.allow("cam-1", i / 1000) for i in range(1000)]
    # The burst at once, then 5 per second refill: 4 more within the second (the 5th token
    # would arrive at exactly t=1.0, after the last trigger at t=0.999).
    assert sum(storm) == 24
    assert all(storm[:20])
    assert not storm[20]
    # Another sensor in the same second is untouched by the storm.
    assert all(buckets.allow("cam-2", 0.5 + i / 1000) for i in range(20))
    assert not buckets.allow("cam-2", 0.52)


def test_sustained_rate_after_the_burst():
    buckets = TokenBuckets(rate_per_s=2, burst=1)
    allowed = [buckets.allow("s", t / 10) for t in range(0, 100)]  # 10 per second for 10 s
    assert sum(allowed) == 1 + 19  # the first, then one every 0.5 s for 9.9 s
    assert allowed[0] and allowed[5] and not allowed[4]


def test_bucket_refills_to_burst_and_no_more():
    buckets = TokenBuckets(rate_per_s=1, burst=3)
    assert all(buckets.allow("s", 0) for _ in range(3))
    assert not buckets.allow("s", 0)
    assert sum(buckets.allow("s", 1000) for _ in range(10)) == 3


def test_clock_stepping_back_mints_no_tokens():
    buckets = TokenBuckets(rate_per_s=1, burst=1)
    assert buckets.allow("s", 100)
    assert not buckets.allow("s", 50)
    assert not buckets.allow("s", 100.5)
    assert buckets.allow("s", 101)


def test_keys_are_bounded_least_recently_seen_forgotten_first():
    buckets = TokenBuckets(rate_per_s=0.001, burst=1, max_keys=2)
    assert buckets.allow("a", 0) and buckets.allow("b", 0)
    assert not buckets.allow("a", 1)  # a is now the most recent
    assert buckets.allow("c", 1)  # evicts b
    assert len(buckets) == 2
    assert not buckets.allow("a", 2)  # a kept its empty bucket
    assert buckets.allow("b", 2)  # b starts over


@pytest.mark.parametrize(
    ("rate", "burst", "says"),
    [(0, 1, "rate_per_s"), (-1, 1, "rate_per_s"), (1, 0, "burst"), (1, 2.5, "burst")],
)
def test_bad_settings_are_refused(rate, burst, says):
    with pytest.raises(ValueError, match=says):
        TokenBuckets(rate_per_s=rate, burst=burst)


# --- FixedWindow: the arithmetic of the web processes' database-counted limit --------


def test_a_window_lasts_burst_over_rate_and_allows_burst_triggers():
    window = FixedWindow(rate_per_s=20.0, burst=40)
    assert window.length_s == 2.0
    assert [window.allows(n) for n in (1, 40, 41)] == [True, True, False]
    assert window.index(1000.0) == window.index(1001.9) == 500
    assert window.index(1002.0) == 501


def test_retry_after_is_whole_seconds_until_the_next_window():
    window = FixedWindow(rate_per_s=1.0, burst=10)
    assert window.retry_after_s(1000.0) == 10
    assert window.retry_after_s(1009.5) == 1
    assert window.retry_after_s(1009.99) == 1


@pytest.mark.parametrize(("rate", "burst"), [(0, 5), (-1, 5), (1, 0), (1, 1.5)])
def test_bad_limits_are_refused(rate, burst):
    with pytest.raises(ValueError):
        FixedWindow(rate_per_s=rate, burst=burst)
