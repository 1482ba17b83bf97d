"""Second-line detectors of personal data in trigger text: what kind it is, never the value.

The first line is the trigger schema's allow-list (known fields of a strict shape); these
detectors name the *category* of what a refused value held, and catch the values a strict
shape cannot tell from an id (a dotless MAC, a national phone number written as digits).

Every detector runs in time linear in the text: patterns have no nested quantifiers, every
repetition that can fail after a long match is bounded, and unbounded runs are only ever
scanned as maximal runs with `finditer` (each character is looked at a fixed number of
times). A 60 KB hostile string costs milliseconds, not seconds.

Pure: text in, a category out.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum

MAX_BASE64_CHARS = 200
MIN_PHONE_DIGITS = 7  # the shortest national subscriber numbers; no id field needs that many
MAX_IPV6_CHARS = 45


class PersonalData(StrEnum):
    """What a refused value looked like; the text of each is safe to store and show."""

    IMAGE = "an image (base64 or a data URL)"
    MAC = "a device MAC address"
    EMAIL = "an e-mail address"
    IP = "an IP address"
    PHONE = "a phone number"
    NAME = "a person's name"
    IDENTIFIER_KEY = "a field named after personal data or an image"


_HEX = "[0-9A-Fa-f]"
_PAIR = f"{_HEX}{{2}}"
_QUAD = f"{_HEX}{{4}}"
# aa:bb:cc:dd:ee:ff, aa-bb-..., aa.bb...., "aa bb cc ...": one separator used throughout.
_MAC_PAIRS = re.compile(
    f"(?<![0-9A-Fa-f]){_PAIR}([:\\-. ]){_PAIR}"
    f"\\1{_PAIR}\\1{_PAIR}\\1{_PAIR}\\1{_PAIR}(?![0-9A-Fa-f])"
)
# Cisco's aabb.ccdd.eeff (and the dash form some switches print).
_MAC_QUADS = re.compile(f"(?<![0-9A-Fa-f]){_QUAD}([.\\-]){_QUAD}\\1{_QUAD}(?![0-9A-Fa-f])")
# Candidates are found by C-level scans; Python looks only at what they find. Each pattern
# starts at the beginning of a run (a lookbehind), so a failed attempt costs O(1).
_DOTLESS_MAC = re.compile(f"(?<![0-9A-Fa-f]){_HEX}{{12}}(?![0-9A-Fa-f])")
_EMAIL = re.compile(r"(?<=[\w.+-])@[\w-]{1,63}\.[\w-]")
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_IPV6_CANDIDATE = re.compile(
    f"(?<![0-9A-Fa-f:.%])[0-9A-Fa-f:.%]{{3,{MAX_IPV6_CHARS}}}(?![0-9A-Fa-f:.%])"
)
# A phone number is digits with the separators people write between them; a run shorter
# than the fewest digits a number has cannot be one.
_PHONE_CHARS = r"[\d\s().+/\[\]-]"
_PHONE_START = r"[\d+(\[]"
_PHONE_RUN = re.compile(
    f"(?<!{_PHONE_START}){_PHONE_START}{_PHONE_CHARS}{{{MIN_PHONE_DIGITS - 1},}}"
)
_DIGIT = re.compile(r"\d")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # 2026-11-06 is a day, not a phone number
_BASE64_CHARS = "[A-Za-z0-9+/_=-]"
_BASE64_BLOB = re.compile(f"(?<!{_BASE64_CHARS}){_BASE64_CHARS}{{{MAX_BASE64_CHARS + 1}}}")
_DATA_URL = re.compile(r"data:[\w.+-]{1,100}/[\w.+-]{1,100};base64,", re.IGNORECASE)
# Two words of letters in a row; whether both are capitalised is checked on the candidates.
_WORD_PAIR = re.compile(
    r"(?<![^\W\d_])([^\W\d_]{2,40})[,;]?\s{1,3}(?=([^\W\d_]{2,40})(?![^\W\d_]))"
)

# Words that, inside a field NAME, mean the field carries an identifier or a picture.
_KEY_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_IDENTIFYING_KEY_WORDS = frozenset(
    {
        # pictures of people
        "image", "img", "photo", "picture", "pic", "face", "faces", "embedding", "embeddings",
        "selfie", "thumbnail", "snapshot", "frame", "jpeg", "jpg", "png", "biometric",
        # direct identifiers
        "name", "firstname", "lastname", "fullname", "surname", "email", "mail", "phone",
        "mobile", "msisdn", "tel", "telephone", "mac", "ip", "ipv4", "ipv6", "imei", "imsi",
        "address", "ssn", "cnp", "pesel", "passport", "plate", "bluetooth", "bssid", "ssid",
        "idfa", "device",
    }
)  # fmt: skip


def _has_mac(text: str) -> bool:
    if _MAC_PAIRS.search(text) or _MAC_QUADS.search(text):
        return True
    # A dotless MAC is 12 hex digits on their own; ids made of words never hold such a run.
    # Twelve decimal digits are left to the phone detector (still refused, rightly named).
    return any(not match.group().isdigit() for match in _DOTLESS_MAC.finditer(text))


def _has_email(text: str) -> bool:
    return "@" in text and _EMAIL.search(text) is not None


def _has_ipv4(text: str) -> bool:
    return any(all(int(octet) <= 255 for octet in match.groups()) for match in _IPV4.finditer(text))


def _has_ipv6(text: str) -> bool:
    if text.count(":") < 2:
        return False
    for match in _IPV6_CANDIDATE.finditer(text):
        candidate = match.group()
        if candidate.count(":") < 2:
            continue
        try:
            ipaddress.IPv6Address(candidate.split("%", 1)[0])
        except ValueError:
            continue
        return True
    return False


def _has_phone(text: str) -> bool:
    for match in _PHONE_RUN.finditer(text):
        run = match.group().strip()
        if len(_DIGIT.findall(run)) >= MIN_PHONE_DIGITS and not _ISO_DATE.fullmatch(run):
            return True
    return False


def _has_image(text: str) -> bool:
    return _BASE64_BLOB.search(text) is not None or _DATA_URL.search(text) is not None


def _capitalised(word: str) -> bool:
    return word[0].isupper() and word[1:].islower()


def _has_name(text: str) -> bool:
    """Two capitalised words in a row ("Ana Popescu", "Łukasz Nowak"): how names are written."""
    return any(
        _capitalised(match.group(1)) and _capitalised(match.group(2))
        for match in _WORD_PAIR.finditer(text)
    )


_TEXT_DETECTORS = (
    (PersonalData.IMAGE, _has_image),
    (PersonalData.MAC, _has_mac),
    (PersonalData.EMAIL, _has_email),
    (PersonalData.IP, lambda text: _has_ipv4(text) or _has_ipv6(text)),
    (PersonalData.PHONE, _has_phone),
    (PersonalData.NAME, _has_name),
)


def personal_data_in_text(text: str) -> PersonalData | None:
    """The first kind of personal data `text` holds, or None. Linear in len(text)."""
    for category, detector in _TEXT_DETECTORS:
        if detector(text):
            return category
    return None


def personal_data_in_key(key: str) -> PersonalData | None:
    """Whether a field name itself says "identifier" or "picture", or holds personal data."""
    words = {word.lower() for word in _KEY_WORD.findall(key)} | {key.lower()}
    if words & _IDENTIFYING_KEY_WORDS or "e-mail" in key.lower():
        return PersonalData.IDENTIFIER_KEY
    return personal_data_in_text(key)
