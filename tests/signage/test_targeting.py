from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from esl_controller.signage.targeting import (
    CampaignInfo,
    CreativeInfo,
    Pacing,
    Targeting,
    decide,
    parse_targeting,
)
from esl_controller.signage.triggers import AudienceTrigger, LoyaltyTrigger, ZoneTrigger

TZ = "Europe/Bucharest"
NOW = datetime(2026, 11, 6, 8, 0, tzinfo=UTC)  # Friday 10:00 in Bucharest
PLAYERS = ("screen-1", "screen-2")
COFFEE = "5941412000026"


def creative(cid: int, **extra) -> CreativeInfo:
    return CreativeInfo(
        id=cid,
        name=f"creative {cid}",
        kind="image",
        duration_s=8,
        media_sha256=f"{cid:064x}",
        **extra,
    )


def campaign(cid: int, priority: int = 50, targeting: str = "{}", **extra) -> CampaignInfo:
    fields = {
        "id": cid,
        "name": f"campaign {cid}",
        "advertiser": "Cafeneaua Veche",
        "priority": priority,
        "starts_at": NOW - timedelta(days=1),
        "ends_at": NOW + timedelta(days=1),
        "targeting": parse_targeting(targeting),
        "frequency_cap_per_hour": None,
        "share_of_voice": 1.0,
        "creatives": (creative(cid * 10),),
    }
    return CampaignInfo(**{**fields, **extra})


def audience(**extra) -> AudienceTrigger:
    fields = {
        "sensor": "cam-1",
        "zone": "dairy",
        "at": NOW,
        "count": 4,
        "age_bands": {"25-34": 0.5},
        "gender": {"female": 0.6, "male": 0.4},
        "dwell_s": 10.0,
        "attention_s": 4.0,
    }
    return AudienceTrigger(**{**fields, **extra})


PICKUP = ZoneTrigger("shelf-1", "electronics", NOW, "pickup", COFFEE)
LOYAL = LoyaltyTrigger("app", "dairy", NOW, "ab" * 8, "coffee-lovers")


def run(trigger, campaigns, pacing=None, players=PLAYERS, now=NOW):
    return decide(trigger, campaigns, players, pacing or Pacing(), now, TZ, default_ttl_s=30)


def winner(trigger, campaigns, **options):
    decision = run(trigger, campaigns, **options)
    return decision.campaign_id if decision else None


# --- parse_targeting ----------------------------------------------------------------------


def test_parse_targeting_reads_the_models_documented_shape():
    targeting = parse_targeting(
        json.dumps(
            {
                "zones": ["dairy"],
                "dayparts": ["07:00-10:00"],
                "weekdays": [0, "sat"],
                "audience": {
                    "min_count": 3,
                    "age_bands": {"25-34": 0.3},
                    "gender": {"female": 0.5},
                    "min_dwell_s": 5,
                    "min_attention_s": 2,
                },
                "loyalty_segments": ["coffee-lovers"],
                "triggers": ["audience", "loyalty"],
            }
        )
    )
    assert targeting.zones == {"dairy"} and targeting.weekdays == {0, 5}
    assert str(targeting.dayparts[0]) == "07:00-10:00"
    assert targeting.min_count == 3 and targeting.age_bands == {"25-34": 0.3}
    assert targeting.min_dwell_s == 5.0 and targeting.min_attention_s == 2.0
    assert targeting.triggers == {"audience", "loyalty"}
    assert parse_targeting("") == Targeting()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"zones": "dairy"}', "targeting.zones: Not a valid list"),
        ('{"dayparts": ["25:00-26:00"]}', "targeting.dayparts[0]: daypart '25:00-26:00'"),
        ('{"weekdays": [7]}', "targeting.weekdays[0]: weekday 7"),
        ('{"triggers": ["weather"]}', "targeting.triggers[0]: Must be one of"),
        ('{"audience": {"min_count": -1}}', "targeting.audience.min_count: must be >= 0"),
        ('{"audience": {"gender": {"female": 2}}}', "targeting.audience.gender.female"),
        ('{"colour": "red"}', "targeting.colour: unknown field"),
        ("{oops", "targeting: malformed JSON"),
        ("[]", "targeting: must be a JSON object"),
    ],
)
def test_parse_targeting_names_the_bad_field(text, says):
    with pytest.raises(ValueError) as caught:
        parse_targeting(text)
    assert str(caught.value).startswith(says)


# --- eligibility --------------------------------------------------------------------------


def test_untargeted_campaign_takes_any_trigger():
    decision = run(audience(), [campaign(1)])
    assert decision.campaign_id == 1 and decision.kind == "campaign"
    assert decision.creative == creative(10)
    assert decision.zone == "dairy" and decision.priority == 50
    assert decision.ttl_s == 30
    assert "campaign 1" in decision.reason


def test_ttl_covers_a_creative_longer_than_the_default():
    long_one = campaign(1, creatives=(replace(creative(10), duration_s=45),))
    assert run(audience(), [long_one]).ttl_s == 45


def test_flight_dates_start_inclusive_end_exclusive():
    assert winner(audience(), [campaign(1, starts_at=NOW)]) == 1
    assert winner(audience(), [campaign(1, ends_at=NOW)]) is None
    assert winner(audience(), [campaign(1, starts_at=NOW + timedelta(seconds=1))]) is None


def test_campaign_without_creatives_is_not_eligible():
    assert winner(audience(), [campaign(1, creatives=())]) is None


def test_zone_targeting():
    dairy = campaign(1, targeting='{"zones": ["dairy"]}')
    assert winner(audience(), [dairy]) == 1
    assert winner(audience(zone="entrance"), [dairy]) is None


def test_dayparts_and_weekdays_in_store_local_time():
    # NOW is 08:00 UTC = 10:00 Friday in Bucharest.
    assert winner(audience(), [campaign(1, targeting='{"dayparts": ["09:00-11:00"]}')]) == 1
    assert winner(audience(), [campaign(1, targeting='{"dayparts": ["07:00-09:00"]}')]) is None
    assert winner(audience(), [campaign(1, targeting='{"weekdays": ["fri"]}')]) == 1
    assert winner(audience(), [campaign(1, targeting='{"weekdays": [5, 6]}')]) is None


def test_trigger_kind_filter():
    audience_only = campaign(1, targeting='{"triggers": ["audience"]}')
    assert winner(audience(), [audience_only]) == 1
    assert winner(LOYAL, [audience_only]) is None


@pytest.mark.parametrize(
    ("criteria", "trigger_fields", "eligible"),
    [
        ({"min_count": 4}, {}, True),
        ({"min_count": 5}, {}, False),
        ({"age_bands": {"25-34": 0.5}}, {}, True),
        ({"age_bands": {"25-34": 0.6}}, {}, False),
        ({"age_bands": {"65+": 0.1}}, {}, False),  # band absent from the trigger
        ({"gender": {"female": 0.6}}, {}, True),
        ({"gender": {"female": 0.7}}, {}, False),
        ({"min_dwell_s": 10}, {}, True),
        ({"min_dwell_s": 10}, {"dwell_s": None}, False),  # a sensor without dwell
        ({"min_attention_s": 5}, {}, False),
    ],
)
def test_audience_criteria(criteria, trigger_fields, eligible):
    targeted = campaign(1, targeting=json.dumps({"audience": criteria}))
    assert (winner(audience(**trigger_fields), [targeted]) == 1) is eligible


def test_audience_criteria_are_unmet_by_a_trigger_without_audience_data():
    targeted = campaign(1, targeting='{"audience": {"min_count": 1}}')
    assert winner(LOYAL, [targeted]) is None


def test_loyalty_segments():
    coffee = campaign(1, targeting='{"loyalty_segments": ["coffee-lovers"]}')
    assert winner(LOYAL, [coffee]) == 1
    assert winner(replace(LOYAL, segment="tea-lovers"), [coffee]) is None
    assert winner(audience(), [coffee]) is None


def test_frequency_cap_applies_to_every_player_of_the_zone():
    capped = campaign(1, frequency_cap_per_hour=3)
    under = Pacing(plays_last_hour={(1, "screen-1"): 2, (1, "screen-2"): 2})
    assert winner(audience(), [capped], pacing=under) == 1
    one_at_cap = Pacing(plays_last_hour={(1, "screen-1"): 0, (1, "screen-2"): 3})
    assert winner(audience(), [capped], pacing=one_at_cap) is None
    assert winner(audience(), [campaign(1)], pacing=one_at_cap) == 1  # no cap


def test_share_of_voice():
    half = campaign(1, share_of_voice=0.5)
    assert winner(audience(), [half], pacing=Pacing(wins={1: 5}, opportunities=10)) == 1
    assert winner(audience(), [half], pacing=Pacing(wins={1: 6}, opportunities=10)) is None
    assert winner(audience(), [half], pacing=Pacing()) == 1  # first opportunity
    assert winner(audience(), [campaign(1, share_of_voice=0)]) is None


# --- conflicts ----------------------------------------------------------------------------


def test_conflicts_resolve_by_priority_first():
    assert winner(audience(), [campaign(1, priority=10), campaign(2, priority=90)]) == 2


def test_equal_priority_goes_to_the_campaign_furthest_behind_its_share():
    a = campaign(1, share_of_voice=0.5)
    b = campaign(2, share_of_voice=0.25)
    # Delivered share wins/sov: a 2/0.5 = 4, b 2/0.25 = 8: a is behind.
    pacing = Pacing(wins={1: 2, 2: 2}, opportunities=100)
    assert winner(audience(), [b, a], pacing=pacing) == 1
    pacing = Pacing(wins={1: 3, 2: 0}, opportunities=100)
    assert winner(audience(), [a, b], pacing=pacing) == 2


def test_full_tie_goes_to_the_lowest_id_whatever_the_order():
    campaigns = [campaign(7), campaign(3), campaign(5)]
    assert winner(audience(), campaigns) == 3
    assert winner(audience(), list(reversed(campaigns))) == 3


def test_pacing_spreads_wins_over_repeated_triggers():
    campaigns = [campaign(1, share_of_voice=0.5), campaign(2, share_of_voice=0.5)]
    pacing = Pacing()
    for _ in range(10):
        decision = run(audience(), campaigns, pacing=pacing)
        pacing.wins[decision.campaign_id] = pacing.wins.get(decision.campaign_id, 0) + 1
        pacing.opportunities += 1
    assert pacing.wins == {1: 5, 2: 5}


# --- pickup and creatives -----------------------------------------------------------------


def test_pickup_without_a_campaign_shows_the_products_promo_slide():
    decision = run(PICKUP, [campaign(1, targeting='{"zones": ["dairy"]}')])
    assert decision.kind == "promo_slide"
    assert decision.campaign_id is None and decision.creative is None
    assert decision.gtin == COFFEE and decision.zone == "electronics"
    assert decision.priority == 40 and decision.ttl_s == 30
    assert COFFEE in decision.reason


def test_pickup_with_an_eligible_campaign_plays_the_campaign():
    assert run(PICKUP, [campaign(1)]).kind == "campaign"


def test_enter_without_a_campaign_is_no_decision():
    assert run(replace(PICKUP, event="enter", gtin=None), []) is None


def test_creatives_rotate_deterministically_by_wins():
    rotating = campaign(1, creatives=(creative(12), creative(11), creative(13)))
    shown = [
        run(audience(), [rotating], pacing=Pacing(wins={1: wins}, opportunities=10)).creative.id
        for wins in range(4)
    ]
    assert shown == [11, 12, 13, 11]


def test_promo_slide_creative_carries_its_gtin():
    slide = replace(creative(10), kind="promo_slide", media_sha256=None, gtin=COFFEE)
    assert run(audience(), [campaign(1, creatives=(slide,))]).gtin == COFFEE


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="aware"):
        run(audience(), [campaign(1)], now=NOW.replace(tzinfo=None))


# --- chain campaigns: stores and zone kinds -------------------------------------------------


def test_chain_targeting_parses_stores_and_zone_kinds():
    targeting = parse_targeting('{"stores": ["buc-1", "buc-2"], "zone_kinds": ["dairy"]}')
    assert targeting.stores == {"buc-1", "buc-2"}
    assert targeting.zone_kinds == {"dairy"}
    assert targeting.runs_in_store("buc-2") and not targeting.runs_in_store("cluj")
    assert Targeting().runs_in_store("any store")
    with pytest.raises(ValueError, match=r"targeting\.stores"):
        parse_targeting('{"stores": "buc-1"}')


def test_a_campaign_aimed_at_a_zone_kind_wins_only_in_zones_of_that_kind():
    dairy_everywhere = campaign(1, targeting='{"zone_kinds": ["dairy"]}')
    trigger = audience(zone="buc-2-dairy")  # another store's zone id, the same kind
    assert run_kind(trigger, [dairy_everywhere], "dairy") == 1
    assert run_kind(trigger, [dairy_everywhere], "entrance") is None
    assert run_kind(trigger, [dairy_everywhere], None) is None  # a zone of no known kind
    assert run_kind(trigger, [campaign(2)], None) == 2  # no kind asked: every zone


def run_kind(trigger, campaigns, zone_kind):
    decision = decide(
        trigger, campaigns, PLAYERS, Pacing(), NOW, TZ, default_ttl_s=30, zone_kind=zone_kind
    )
    return decision.campaign_id if decision else None
