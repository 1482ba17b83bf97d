"""The second-line detectors: each category found in every notation, nothing found in the
ids and words triggers are made of, and hostile 60 KB strings handled (linearly: see
bench/bench_trigger_guard.py for the figures; tests never assert on time)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esl_controller.signage.personal_data import (
    PersonalData,
    personal_data_in_key,
    personal_data_in_text,
)
from tests.support import pii_corpus

SIXTY_KB = 60 * 1024


@pytest.mark.parametrize(
    ("values", "category"),
    [
        (pii_corpus.MACS, PersonalData.MAC),
        (pii_corpus.IPS, PersonalData.IP),
        (pii_corpus.PHONES, PersonalData.PHONE),
        (pii_corpus.EMAILS, PersonalData.EMAIL),
        (pii_corpus.IMAGES, PersonalData.IMAGE),
        (["Ana Popescu", "Łukasz Nowak", "call Jürgen Müller"], PersonalData.NAME),
    ],
)
def test_each_category_in_every_notation(values, category):
    for value in values:
        assert personal_data_in_text(value) == category, value
        assert personal_data_in_text(f"seen {value} today") == category, value


@pytest.mark.parametrize(
    "text",
    [
        "cam-dairy-1", "shelf_7", "coffee-lovers", "dairy", "25-34", "65+", "female",
        "2026-11-06", "v1.2.3", "cafe-12", "a1b2c3d4e5f6a7",  # 14 hex: not a MAC
        "9f86d081884c7d659a2feaa0c55ad015", "12:30", "Dairy", "entrance-2",
    ],
)  # fmt: skip
def test_ids_and_words_of_triggers_hold_no_personal_data(text):
    assert personal_data_in_text(text) is None


@pytest.mark.parametrize(
    ("key", "category"),
    [
        ("face_image", PersonalData.IDENTIFIER_KEY),
        ("customerName", PersonalData.IDENTIFIER_KEY),
        ("e-mail", PersonalData.IDENTIFIER_KEY),
        ("deviceMac", PersonalData.IDENTIFIER_KEY),
        ("ana@example.ro", PersonalData.EMAIL),
        ("count", None),
        ("age_bands", None),
    ],
)
def test_field_names(key, category):
    assert personal_data_in_key(key) == category


HOSTILE = {
    "letters": "a" * SIXTY_KB,
    "letters then @": "a" * SIXTY_KB + "@",
    "at signs": "a@" * (SIXTY_KB // 2),
    "dotted words then @": "a." * (SIXTY_KB // 2) + "@x",
    "digits then a letter": "1" * SIXTY_KB + "a",
    "digits and spaces": "1 " * (SIXTY_KB // 2),
    "almost IPv4": "1.1.1." * (SIXTY_KB // 6),
    "colons": ":" * SIXTY_KB,
    "hex and colons": "a:" * (SIXTY_KB // 2),
    "almost MAC": "aa:bb:cc:dd:ee:" * (SIXTY_KB // 15),
    "quads": "abcd." * (SIXTY_KB // 5),
    "capitals": "Ab " * (SIXTY_KB // 3),
    "base64 runs under the limit": ("A" * 199 + "!") * (SIXTY_KB // 200),
    "data: prefixes": "data:" * (SIXTY_KB // 5),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_60_kb_strings_are_judged(name):
    text = HOSTILE[name]
    assert len(text) >= SIXTY_KB - 200
    found = personal_data_in_text(text)
    assert found is None or isinstance(found, PersonalData)


def test_hostile_strings_find_what_they_hold():
    assert personal_data_in_text(HOSTILE["digits and spaces"]) == PersonalData.PHONE
    assert personal_data_in_text(HOSTILE["letters"]) == PersonalData.IMAGE  # a long blob
    assert personal_data_in_text(HOSTILE["almost MAC"]) == PersonalData.MAC  # ee:aa:bb...
    assert personal_data_in_text(HOSTILE["at signs"]) is None
    assert personal_data_in_text(HOSTILE["colons"]) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_gets_a_category_or_none_and_never_raises(text):
    found = personal_data_in_text(text)
    assert found is None or isinstance(found, PersonalData)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(pii_corpus.MACS + pii_corpus.PHONES + pii_corpus.EMAILS), st.text())
def test_personal_data_is_found_inside_any_surrounding_text(value, noise):
    text = f"{noise} {value} {noise}"
    assert personal_data_in_text(text) is not None
