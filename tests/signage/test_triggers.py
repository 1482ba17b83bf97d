from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from esl_controller.signage.triggers import (
    AGE_BANDS,
    GENDERS,
    MAX_TRIGGER_BYTES,
    RULES,
    AudienceTrigger,
    LoyaltyTrigger,
    Refusal,
    TriggerRejected,
    ZoneTrigger,
    json_depth_exceeds,
    parse_trigger,
    sensor_id_problem,
)
from esl_controller.web.trigger_intake import trigger_document
from tests.support import pii_corpus

NOW = datetime(2026, 11, 6, 10, 0, tzinfo=UTC)
ZONES = {"dairy", "electronics"}
MEMBER = pii_corpus.MEMBER


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


def without(document, key):
    return {k: v for k, v in document.items() if k != key}


def parse(payload, **options):
    settings_ = {"now": NOW, "max_age_s": 60, "max_skew_s": 5, "known_zones": ZONES}
    return parse_trigger(payload, **{**settings_, **options})


def _with_raw(document: dict, key: str, raw: str) -> bytes:
    """`document` as JSON with `key` holding the literal `raw` (a number json cannot write)."""
    text = json.dumps({**document, key: "@@"})
    return text.replace('"@@"', raw).encode()


def rejected(payload, **options) -> TriggerRejected:
    with pytest.raises(TriggerRejected) as caught:
        parse(payload, **options)
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
    assert parse(without(zone(event="enter"), "gtin")).gtin is None


def test_gtin_14_with_leading_zeros_is_not_mistaken_for_a_phone_number():
    assert parse(zone(gtin="00594176800002")).gtin == "00594176800002"


def test_loyalty_with_consent():
    trigger = parse(loyalty())
    assert trigger == LoyaltyTrigger("app", "dairy", NOW, MEMBER, "coffee-lovers")


def test_a_digest_member_id_full_of_digits_is_not_a_phone_number():
    member = "12345678901234567890123456789abc"
    assert parse(loyalty(member=member)).member == member


def test_the_sender_must_be_the_sensor_the_trigger_names():
    assert parse(audience(), sensor="cam-dairy-1").sensor == "cam-dairy-1"
    error = rejected(audience(), sensor="cam-other")
    assert (error.category, error.field) == (Refusal.WRONG_SENSOR, "sensor")
    assert "cam-dairy-1" not in str(error) and "cam-other" not in str(error)


# --- privacy refusals: a category, an allow-listed field at most, never the value ---------


@pytest.mark.parametrize(
    ("payload", "field", "says"),
    [
        (audience(sensor="aa:bb:cc:dd:ee:ff"), "sensor", "MAC address"),
        (audience(sensor="aabbccddeeff"), "sensor", "MAC address"),
        (audience(sensor="0721234567"), "sensor", "phone number"),
        (audience(sensor="Ana Popescu"), "sensor", "person's name"),
        (audience(zone="dairy AA-BB-CC-DD-EE-FF"), "zone", "MAC address"),
        (audience(zone="192.168.1.20"), "zone", "IP address"),
        (audience(zone="fe80::1ff:fe23:4567:890a"), "zone", "IP address"),
        (audience(sensor="data:image/jpeg;base64,/9j/4AAQ"), "sensor", "image"),
        (audience(sensor="ana.pop@example.ro"), "sensor", "e-mail address"),
        (loyalty(segment="tel-0721-234-567"), "segment", "phone number"),
        (loyalty(segment="Maria Ionescu"), "segment", "person's name"),
        (audience(age_bands={"25-34": {"who": ["+40 721 234 567"]}}), "age_bands", "phone"),
    ],
)
def test_personal_data_in_a_known_field_names_the_field_and_the_category(payload, field, says):
    error = rejected(payload)
    assert (error.category, error.privacy, error.field) == (Refusal.PERSONAL_DATA, True, field)
    assert says in error.reason
    assert str(error) == f"privacy: {field}: {error.reason}"


@pytest.mark.parametrize(
    ("payload", "count", "hint"),
    [
        (audience(face_image="x"), 1, "named after personal data"),
        (audience(faceEmbedding=[0.1, 0.2]), 1, "named after personal data"),
        (audience(debug=pii_corpus.FACE_JPEG), 1, "an image"),
        (audience(**{"jane.doe@example.com": 1}), 1, "e-mail"),
        (audience(extra=1, more=2), 2, ""),
        (audience(age_bands={"25-34": 0.5, "18-25": 0.1}), 1, ""),
        (audience(gender={"female": 0.5, "nonbinary": 0.1}), 1, ""),
        (zone(count=3), 1, ""),
    ],
)
def test_unknown_fields_are_counted_not_named(payload, count, hint):
    error = rejected(payload)
    assert (error.category, error.privacy, error.field) == (Refusal.UNKNOWN_FIELDS, True, "")
    assert error.reason.startswith(f"{count} unknown field")
    assert hint in error.reason
    for name in ("face_image", "faceEmbedding", "debug", "jane", "extra", "18-25", "nonbinary"):
        assert name not in str(error)


@pytest.mark.parametrize("consent", [False, "yes", None, 1])
def test_loyalty_needs_consent_true(consent):
    error = rejected(loyalty(consent=consent))
    assert (error.category, error.privacy, error.field) == (Refusal.NO_CONSENT, True, "consent")
    assert rejected(without(loyalty(), "consent")).category == Refusal.NO_CONSENT


@pytest.mark.parametrize("case", pii_corpus.cases(), ids=lambda case: case.name)
def test_every_trigger_of_the_personal_data_corpus_is_refused_without_its_value(case):
    document = case.build("cam-1", "dairy", NOW)
    error = rejected(json.dumps(document))
    assert case.secret not in str(error)
    assert case.secret not in error.field
    assert error.claimed_kind in ("audience", "loyalty")


# --- other refusals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field", "says"),
    [
        (b"{not json", "", "malformed JSON"),
        (b"\xff\xfe", "", "malformed JSON"),
        (b"NaN", "", "malformed JSON"),  # wire_json refuses NaN and Infinity: not JSON
        ("[1, 2]", "", "must be a JSON object"),
        (b"1" * 5000, "", "malformed JSON"),  # past Python's integer-digits limit
        (audience(type="weather"), "type", RULES["type"]),
        (audience(zone="bakery"), "zone", "unknown zone"),
        (audience(count=-1), "count", RULES["count"]),
        (audience(count="4"), "count", RULES["count"]),
        (audience(count=True), "count", RULES["count"]),
        (audience(count=10**30), "count", RULES["count"]),
        (audience(dwell_s=-2), "dwell_s", RULES["dwell_s"]),
        # on the wire 1e400 decodes to infinity, which the schema refuses
        (_with_raw(audience(), "dwell_s", "1e400"), "dwell_s", RULES["dwell_s"]),
        (audience(age_bands={"25-34": 1.5}), "age_bands", RULES["age_bands"]),
        (audience(age_bands={"25-34": 0.6, "35-44": 0.6}), "age_bands", "more than 1"),
        (audience(at="2026-11-06T10:00:00"), "at", RULES["at"]),
        (audience(at="yesterday"), "at", RULES["at"]),
        (zone(event="hover"), "event", RULES["event"]),
        (without(zone(), "gtin"), "gtin", "required for a pickup"),
        (zone(gtin="5941768000016"), "gtin", RULES["gtin"]),
        (loyalty(member="abc123"), "member", RULES["member"]),
        (loyalty(segment="coffee--lovers"), "segment", RULES["segment"]),
        (loyalty(segment="over-65-in-2026"), "segment", RULES["segment"]),
        (without(audience(), "sensor"), "sensor", "is required"),
    ],
)
def test_other_refusals_are_not_privacy(payload, field, says):
    error = rejected(payload)
    assert error.privacy is False
    assert error.field == field
    assert says in error.reason


def test_refusals_quote_no_value_of_the_payload():
    for payload, value in [
        (audience(type="weather"), "weather"),
        (audience(zone="bakery"), "bakery"),
        (zone(gtin="5941768000016"), "5941768000016"),
        (loyalty(member="ANA-POPESCU"), "ANA-POPESCU"),
        (audience(at="yesterday"), "yesterday"),
    ]:
        assert value not in str(rejected(payload))


def test_stale_trigger_says_too_old():
    error = rejected(audience(at=(NOW - timedelta(seconds=61)).isoformat()))
    assert (error.field, error.category) == ("at", Refusal.STALE)
    assert error.reason == "too old: 61 s ago, more than max_age_s=60"
    assert parse(audience(at=(NOW - timedelta(seconds=60)).isoformat())).at < NOW


def test_future_trigger_says_in_the_future():
    error = rejected(audience(at=(NOW + timedelta(seconds=30)).isoformat()))
    assert error.reason == "in the future by 30 s, more than max_skew_s=5"
    assert parse(audience(at=(NOW + timedelta(seconds=5)).isoformat())).at > NOW


# --- size and depth caps -------------------------------------------------------------------


def test_a_trigger_over_8_kb_is_refused_before_it_is_parsed():
    padded = json.dumps(audience(sensor="cam-1")).encode()
    padded = padded[:-1] + b" " * (MAX_TRIGGER_BYTES - len(padded)) + b"}"
    assert len(padded) == MAX_TRIGGER_BYTES and parse(padded).sensor == "cam-1"
    error = rejected(padded[:-1] + b" }")
    assert (error.category, error.reason) == (Refusal.TOO_LARGE, "larger than 8192 bytes")


@pytest.mark.parametrize("depth", [5, 4000, 100_000])
def test_deep_nesting_is_refused_however_deep(depth):
    error = rejected(b'{"a":' + b"[" * depth + b"]" * depth + b"}")
    expected = Refusal.TOO_LARGE if depth * 2 > MAX_TRIGGER_BYTES else Refusal.TOO_DEEP
    assert error.category == expected


def test_depth_counts_brackets_outside_strings_only():
    assert not json_depth_exceeds('{"a": "[[[[[[[[[[{{{{{{"}', 2)
    assert not json_depth_exceeds('{"a": "\\"[[[[[[[[\\\\"}', 2)
    assert json_depth_exceeds('{"a": [[{"b": [1]}]]}', 4)
    assert not json_depth_exceeds('{"a": [[{"b": [1]}]]}', 5)


def test_sensor_ids_follow_the_strict_pattern():
    for good in ("cam-1", "shelf_7", "app", "a" * 64):
        assert sensor_id_problem(good) is None
    for bad in ("", "Cam-1", "-cam", "cam.1", "cam 1", "a" * 65, "aabbccddeeff", "0721234567", 7):
        assert sensor_id_problem(bad) is not None


# --- properties ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
known_keys = st.sampled_from(sorted(set(RULES) | set(AGE_BANDS) | set(GENDERS)))
trigger_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["audience", "zone", "loyalty", "other"])},
    optional={
        "sensor": st.sampled_from(["cam-1", "Cam 1", ""]) | st.text(max_size=20),
        "zone": st.sampled_from(["dairy", "bakery"]) | json_values,
        "at": st.sampled_from(["2026-11-06T10:00:00Z", "2026-11-06T10:00:00"]) | json_values,
        "count": st.integers(-5, 20_000) | json_values,
        "age_bands": st.dictionaries(known_keys, st.floats(-1, 2) | json_values, max_size=3),
        "event": st.sampled_from(["enter", "pickup", "hover"]),
        "gtin": st.sampled_from(["5941768000015", "5941768000016"]) | json_values,
        "member": st.sampled_from([MEMBER, "abc"]) | st.text(max_size=70),
        "segment": st.text(max_size=45),
        "consent": json_values,
    },
).flatmap(lambda base: st.dictionaries(known_keys, json_values, max_size=3).map(base.__or__))


def _judged(payload) -> object:
    try:
        return parse(payload)
    except TriggerRejected as error:
        assert isinstance(error.category, Refusal)
        assert error.field in RULES or error.field == ""
        return error


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_parses_into_an_allowed_shape_or_is_refused_with_a_category(document):
    try:
        payload = json.dumps(document)
    except ValueError:
        return
    result = _judged(payload)
    assert isinstance(result, TriggerRejected | AudienceTrigger | ZoneTrigger | LoyaltyTrigger)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trigger_like)
def test_any_trigger_like_document_is_judged_and_never_raises_anything_else(document):
    result = _judged(json.dumps(document))
    if not isinstance(result, TriggerRejected):  # what is accepted survives its own storage
        assert parse(json.dumps(trigger_document(result))) == result


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_are_judged(payload):
    assert isinstance(_judged(payload), TriggerRejected | AudienceTrigger)


_OWN_TEXTS = " ".join([*RULES.values(), *RULES, "privacy: unknown fields; a trigger carries"])


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["sensor", "zone", "segment", "member", "gtin", "at", "type", "new"]),
    st.text(min_size=6, max_size=60),
)
def test_a_refused_value_is_never_quoted_in_the_refusal(field, value):
    assume(value not in _OWN_TEXTS and value.strip() == value)
    for document in (loyalty(**{field: value}), loyalty(**{value: 1})):
        result = _judged(json.dumps(document))
        if isinstance(result, TriggerRejected):
            assert value not in str(result)
