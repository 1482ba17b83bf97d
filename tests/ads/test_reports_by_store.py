"""A chain campaign's report against its per-store reports (pure `reports.build_report`):
under every grouping, each group and the total equal the sum of the stores' to the cent,
because each store's spend is rounded once, on its own total."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from esl_controller.ads.impressions import spend_minor
from esl_controller.ads.reports import (
    GROUP_BYS,
    CampaignFacts,
    ReportRow,
    StoreFacts,
    build_report,
    report_dict,
)

CAMPAIGN = CampaignFacts(
    id=3,
    name="Milk chain-wide",
    advertiser="Dairy Co",
    currency="RON",
    cpm_minor=1237,
    goal_kind="budget",
    goal_value=5000,
    starts_at=datetime(2026, 10, 20, tzinfo=UTC),
    ends_at=datetime(2026, 11, 10, tzinfo=UTC),
    venue_type="retail.grocery",
)
STORES = (
    StoreFacts("buc-centre", "Bucharest Centre", "Europe/Bucharest"),
    StoreFacts("buc-north", "Bucharest North", "Europe/Bucharest"),
    StoreFacts("london", "London Soho", "Europe/London"),
)
# The autumn clock change (25 October 2026) falls inside the hours drawn.
FIRST_HOUR = datetime(2026, 10, 24, 12, tzinfo=UTC)
GENERATED = datetime(2026, 11, 11, tzinfo=UTC)


@st.composite
def report_rows(draw) -> ReportRow:
    store = draw(st.sampled_from(STORES))
    screen = draw(st.integers(1, 2))
    plays = draw(st.integers(1, 4))
    impressions_milli = draw(st.integers(0, 9_000)) * plays
    cpm_minor = draw(st.sampled_from((1237, 999, 1)))  # the CPM changed during the flight
    return ReportRow(
        started_at=FIRST_HOUR + timedelta(hours=draw(st.integers(0, 60))),
        campaign_id=CAMPAIGN.id,
        player_id=f"{store.id}-screen-{screen}",
        player_name=f"{store.name} {screen}",
        zone_id=f"{store.id}-{draw(st.sampled_from(('dairy', 'entrance')))}",
        creative_id=draw(st.sampled_from((None, 11, 12))),
        creative_name="",
        multiplier_source=draw(st.sampled_from(("measured", "declared"))),
        plays=plays,
        play_ms=plays * 9_500,
        impressions_milli=impressions_milli,
        spend_basis=impressions_milli * cpm_minor,
        currency="RON",
        store_id=store.id,
    )


def _report(rows, group_by, stores, store_filter=None):
    return build_report(
        rows,
        group_by,
        stores[0].timezone,
        CAMPAIGN,
        generated_at=GENERATED,
        period_from=FIRST_HOUR,
        period_to=FIRST_HOUR + timedelta(days=3),
        stores=stores,
        store_filter=store_filter,
    )


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(report_rows(), max_size=40), group_by=st.sampled_from(GROUP_BYS))
def test_a_chain_report_is_the_sum_of_its_store_reports_to_the_cent(rows, group_by):
    chain = _report(rows, group_by, STORES)
    per_store = [
        _report([r for r in rows if r.store_id == store.id], group_by, (store,), store.id)
        for store in STORES
    ]
    for figure in ("plays", "play_ms", "impressions_milli", "spend_basis", "spend_minor"):
        assert getattr(chain.total, figure) == sum(getattr(r.total, figure) for r in per_store)
    expected: dict[str, list[int]] = {}
    for report in per_store:
        for group in report.groups:
            sums = expected.setdefault(group.key, [0, 0, 0])
            sums[0] += group.plays
            sums[1] += group.impressions_milli
            sums[2] += group.spend_minor
    assert {g.key: [g.plays, g.impressions_milli, g.spend_minor] for g in chain.groups} == expected
    assert sum(g.spend_minor for g in chain.groups) == chain.total.spend_minor


def test_each_store_rounds_its_own_spend_once():
    # One play per store of 0.5 minor units each: every store bills 1 (half up), the chain 3.
    half = [_row(store.id, 500_000) for store in STORES]
    chain = _report(half, "store", STORES)
    assert [g.spend_minor for g in chain.groups] == [1, 1, 1]
    assert chain.total.spend_minor == 3
    assert spend_minor(sum(r.spend_basis for r in half)) == 2  # what one rounding would give


def test_store_groups_are_named_and_the_json_lists_the_stores():
    chain = _report([_row("london", 2_000_000), _row("buc-north", 3_000_000)], "store", STORES)
    assert [(g.key, g.label) for g in chain.groups] == [
        ("buc-north", "Bucharest North"),
        ("london", "London Soho"),
    ]
    document = report_dict(chain)
    assert document["store"] is None
    assert [s["id"] for s in document["stores"]] == ["buc-centre", "buc-north", "london"]
    assert {s["store"] for s in document["screens"]} == {"buc-north", "london"}
    only = report_dict(_report([_row("london", 2_000_000)], "day", STORES[2:], "london"))
    assert only["store"] == "london" and only["period"]["time_zone"] == "Europe/London"


def test_days_are_each_stores_own():
    # 23:30 UTC on 1 November: already the 2nd in Bucharest, still the 1st in London.
    late = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)
    rows = [_row("buc-centre", 1_000_000, late), _row("london", 1_000_000, late)]
    chain = _report(rows, "day", STORES)
    assert [g.key for g in chain.groups] == ["2026-11-01", "2026-11-02"]


def _row(store: str, spend_basis: int, started: datetime = FIRST_HOUR) -> ReportRow:
    return ReportRow(
        started_at=started,
        campaign_id=CAMPAIGN.id,
        player_id=f"{store}-screen-1",
        player_name="",
        zone_id=f"{store}-dairy",
        creative_id=None,
        creative_name="",
        multiplier_source="declared",
        plays=1,
        play_ms=9_500,
        impressions_milli=1_000,
        spend_basis=spend_basis,
        currency="RON",
        store_id=store,
    )
