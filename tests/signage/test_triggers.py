from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from esl_controller.signage.triggers import (
    AudienceTrigger,
    LoyaltyTrigger,
    TriggerRejected,
    ZoneTrigger,
    parse_trigger,
)

NOW = datetime(2026, 11, 6, 10, 0, tzinfo=UTC)
ZONES = {"dairy", "electronics"}
MEMBER = "9f86d081884c7d659a2feaa0c55ad015"


def audience(**extra):
    return {
        "type": "audience",
        "sensor": "cam-dairy-1",
        "zone": "dairy",
        "at": "2026-11-06T12:00:00+02:00",
        "count": 4,
        "age_bands": {"25-34": 0.5, "35-44": 0.25, "65+": 0.25},
        "gender": {"female": 0.75, "male": 0.25},
        "dwell_s": 12.5,
        "attention_s": 3,
        **extra,
    }


def zone(**extra):
    base = {
        "type": "zone",
        "sensor": "shelf-7",
        "zone": "electronics",
        "at": "2026-11-06T10:00:00Z",
        "event": "pickup",
        "gtin": "5941768000015",
    }
    return {**base, **extra}


def loyalty(**extra):
    base = {
        "type": "loyalty",
        "sensor": "app",
        "zone": "dairy",
        "at": "2026-11-06T10:00:00Z",
        "member": MEMBER,
        "segment": "coffee-lovers",
        "consent": True,
    }
    return {**base, **extra}


def parse(payload, **options):
    settings = {"now": NOW, "max_age_s": 60, "max_skew_s": 5, "known_zones": ZONES}
    return parse_trigger(payload, **{**settings, **options})


def rejected(payload) -> TriggerRejected:
    with pytest.raises(TriggerRejected) as caught:
        parse(payload)
    return caught.value


# --- accepted -----------------------------------------------------------------------------


def test_audience_trigger_from_bytes_with_local_offset():
    trigger = parse(json.dumps(audience()).encode())
    assert isinstance(trigger, AudienceTrigger)
    assert trigger.at == NOW  # 12:00+02:00 is 10:00 UTC
    assert trigger.at.tzinfo is UTC
    assert trigger.count == 4
    assert trigger.age_bands["25-34"] == 0.5
    assert trigger.gender == {"female": 0.75, "male": 0.25}
    assert trigger.dwell_s == 12.5 and trigger.attention_s == 3.0
    assert trigger.kind == "audience"


def test_audience_optional_fields_default():
    data = audience()
    for key in ("age_bands", "gender", "dwell_s", "attention_s"):
        del data[key]
    trigger = parse(data)
    assert (trigger.age_bands, trigger.gender, trigger.dwell_s) == ({}, {}, None)


def test_zone_pickup_and_enter():
    pickup = parse(json.dumps(zone()))
    assert pickup == ZoneTrigger("shelf-7", "electronics", NOW, "pickup", "5941768000015")
    enter = zone(event="enter")
    del enter["gtin"]
    assert parse(enter).gtin is None


def test_gtin_14_with_leading_zeros_is_not_mistaken_for_a_phone_number():
    assert parse(zone(gtin="00594176800002")).gtin == "00594176800002"


def test_loyalty_with_consent():
    trigger = parse(loyalty())
    assert trigger == LoyaltyTrigger("app", "dairy", NOW, MEMBER, "coffee-lovers")


# --- privacy refusals ---------------------------------------------------------------------

FACE_JPEG = base64.b64encode(bytes(range(256)) * 2).decode()


@pytest.mark.parametrize(
    ("payload", "field", "says"),
    [
        (audience(face_image="x"), "face_image", "image of a person"),
        (audience(photo={"w": 3}), "photo", "image of a person"),
        (audience(faceEmbedding=[0.1, 0.2]), "faceEmbedding", "image of a person"),
        (audience(debug=FACE_JPEG), "debug", "base64 blob longer than 200"),
        (audience(sensor=f"cam {FACE_JPEG}"), "sensor", "base64 blob"),
        (audience(sensor="data:image/jpeg;base64,/9j/4AAQ"), "sensor", "base64 blob"),
        (audience(sensor="aa:bb:cc:dd:ee:ff"), "sensor", "MAC address"),
        (audience(zone="dairy AA-BB-CC-DD-EE-FF"), "zone", "MAC address"),
        (audience(sensor="+40 721 234 567"), "sensor", "phone number"),
        (audience(sensor="call 0721 234 567"), "sensor", "phone number"),
        (audience(sensor="ana.pop@example.ro"), "sensor", "e-mail address"),
        (audience(sensor="192.168.1.20"), "sensor", "IP address"),
        (audience(sensor="fe80::1ff:fe23:4567:890a"), "sensor", "IP address"),
        (audience(email="x"), "email", "direct identifier"),
        (audience(customer_name="x"), "customer_name", "direct identifier"),
        (audience(phone="x"), "phone", "direct identifier"),
        (audience(mac="x"), "mac", "direct identifier"),
        (
            audience(age_bands={"25-34": 0.5, "ana@example.ro": 0.1}),
            "age_bands.ana@example.ro",
            "e-mail",
        ),
        (audience(extra=1), "extra", "unknown field"),
        (audience(age_bands={"25-34": 0.5, "18-25": 0.1}), "age_bands.18-25", "unknown field"),
        (audience(gender={"female": 0.5, "unknown": 0.1}), "gender.unknown", "unknown field"),
        (zone(count=3), "count", "unknown field"),
        (loyalty(consent=False), "consent", "consent=true"),
        (loyalty(consent="yes"), "consent", "consent=true"),
        ({k: v for k, v in loyalty().items() if k != "consent"}, "consent", "consent=true"),
    ],
)
def test_privacy_refusals_name_the_field(payload, field, says):
    error = rejected(payload)
    assert error.privacy is True
    assert error.field == field
    assert says in error.reason
    assert str(error).startswith(f"privacy: {field}: ")


def test_nested_personal_data_deep_inside_is_found():
    error = rejected(audience(age_bands={"25-34": {"who": ["+40 721 234 567"]}}))
    assert error.privacy and error.field == "age_bands.25-34.who[0]"


def test_refusal_never_echoes_the_personal_data():
    error = rejected(audience(sensor="ana.pop@example.ro"))
    assert "ana.pop" not in str(error)


# --- other refusals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field", "says"),
    [
        (b"{not json", "", "malformed JSON"),
        (b"\xff\xfe", "", "malformed JSON"),
        ("[1, 2]", "", "must be a JSON object"),
        (audience(type="weather"), "type", "unknown trigger type 'weather'"),
        (audience(zone="bakery"), "zone", "unknown zone 'bakery'"),
        (audience(count=-1), "count", "must be >= 0"),
        (audience(count="4"), "count", "must be an integer"),
        (audience(count=True), "count", "must be an integer"),
        (audience(dwell_s=-2), "dwell_s", "must be >= 0"),
        (audience(age_bands={"25-34": 1.5}), "age_bands.25-34", "0..1"),
        (audience(age_bands={"25-34": 0.6, "35-44": 0.6}), "age_bands", "more than 1"),
        (audience(at="2026-11-06T10:00:00"), "at", "no UTC offset"),
        (audience(at="yesterday"), "at", "not an ISO-8601"),
        (zone(event="hover"), "event", "Must be one of"),
        ({k: v for k, v in zone().items() if k != "gtin"}, "gtin", "pickup needs"),
        (zone(gtin="5941768000016"), "gtin", "check digit is 6, expected 5"),
        (loyalty(member="ANA-POPESCU"), "member", "pseudonymous id"),
        (loyalty(member="abc123"), "member", "pseudonymous id"),
        ({k: v for k, v in audience().items() if k != "sensor"}, "sensor", "Missing data"),
    ],
)
def test_other_refusals_are_not_privacy(payload, field, says):
    error = rejected(payload)
    assert error.privacy is False
    assert error.field == field
    assert says in error.reason


def test_stale_trigger_says_too_old():
    error = rejected(audience(at=(NOW - timedelta(seconds=61)).isoformat()))
    assert (error.field, error.privacy) == ("at", False)
    assert error.reason == "too old: 61 s ago, more than max_age_s=60"
    assert parse(audience(at=(NOW - timedelta(seconds=60)).isoformat())).at < NOW


def test_future_trigger_says_in_the_future():
    error = rejected(audience(at=(NOW + timedelta(seconds=30)).isoformat()))
    assert error.reason == "in the future by 30 s, more than max_skew_s=5"
    assert parse(audience(at=(NOW + timedelta(seconds=5)).isoformat())).at > NOW
