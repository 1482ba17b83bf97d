"""Triggers that carry personal data, each with the value that must never be stored, logged
or echoed once the trigger is refused. Shared by the parser, MQTT and HTTP tests.

`body(...)` builds each trigger around a sensor and a zone the test provides, so the same
corpus runs against the pure parser, the worker over a real broker and the web over HTTP.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MEMBER = "9f86d081884c7d659a2feaa0c55ad015"
FACE_JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 2).decode()

MACS = [
    "a4:5e:60:c2:19:7b",
    "A4-5E-60-C2-19-7B",
    "a4.5e.60.c2.19.7b",
    "a4 5e 60 c2 19 7b",
    "a45e.60c2.197b",  # Cisco
    "a45e-60c2-197b",
    "a45e60c2197b",  # dotless
    "A45E60C2197B",
]
IPS = ["192.168.17.20", "10.0.0.7", "2001:db8:85a3::8a2e:370:7334", "fe80::1ff:fe23:4567:890a"]
PHONES = [
    "+40 721 234 567",  # RO
    "0040721234567",
    "0721 234 567",
    "0721234567",
    "0721-234-567",
    "+49 30 12345678",  # DE
    "030 12345678",
    "015123456789",
    "+48 512 345 678",  # PL
    "512 345 678",
    "512345678",
    "+44 20 7946 0958",  # UK
    "020 7946 0958",
    "07700 900123",
    "07700900123",
]
EMAILS = ["ana.pop@example.ro", "j.doe+promo@mail.example.co.uk"]
NAMES = ["Ana Popescu", "ana.popescu", "Łukasz Nowak", "Popescu, Ana", "ana popescu"]
IMAGES = [FACE_JPEG, f"data:image/jpeg;base64,{FACE_JPEG[:40]}"]


@dataclass(frozen=True)
class Case:
    name: str
    secret: str  # what must appear nowhere after the refusal
    build: Callable[[str, str, datetime], dict[str, Any]]  # (sensor, zone, at) -> trigger


def audience(sensor: str, zone: str, at: datetime, **changes: Any) -> dict[str, Any]:
    return {
        "type": "audience",
        "sensor": sensor,
        "zone": zone,
        "at": at.isoformat(),
        "count": 3,
        "age_bands": {"25-34": 0.5},
        "gender": {"female": 0.5},
        **changes,
    }


def loyalty(sensor: str, zone: str, at: datetime, **changes: Any) -> dict[str, Any]:
    return {
        "type": "loyalty",
        "sensor": sensor,
        "zone": zone,
        "at": at.isoformat(),
        "member": MEMBER,
        "segment": "coffee-lovers",
        "consent": True,
        **changes,
    }


def _placed(value: str) -> Iterator[tuple[str, Callable[[str, str, datetime], dict[str, Any]]]]:
    """Where a value can hide: a field of the schema, a nested key, an unknown field."""
    yield "segment", lambda s, z, at: {**loyalty(s, z, at), "segment": value}
    yield "body sensor", lambda s, z, at: {**audience(s, z, at), "sensor": value}
    yield "zone", lambda s, z, at: {**audience(s, z, at), "zone": value}
    yield "unknown field", lambda s, z, at: {**audience(s, z, at), "seen": value}
    yield "nested key", lambda s, z, at: {**audience(s, z, at), "age_bands": {value: 0.1}}
    yield "field name", lambda s, z, at: {**audience(s, z, at), value: 1}


def cases() -> list[Case]:
    out = []
    for kind, values in (
        ("mac", MACS),
        ("ip", IPS),
        ("phone", PHONES),
        ("email", EMAILS),
        ("name", NAMES),
        ("image", IMAGES),
    ):
        for value in values:
            for where, build in _placed(value):
                out.append(Case(f"{kind} {value[:24]!r} in {where}", value, build))
    for value in ("0721234567", "a45e60c2197b", "4111111111111111", "ana.pop@example.ro"):
        out.append(
            Case(f"member {value!r}", value, lambda s, z, at, v=value: loyalty(s, z, at, member=v))
        )
    for consent in (False, "yes", None):
        out.append(
            Case(
                f"loyalty consent={consent!r}",
                MEMBER,
                lambda s, z, at, c=consent: loyalty(s, z, at, consent=c),
            )
        )
    out.append(
        Case("face image field", FACE_JPEG, lambda s, z, at: audience(s, z, at, face=FACE_JPEG))
    )
    return out


# Sensor ids as an MQTT topic level (no '/', '+', '#'): refused before anything is stored.
TOPIC_SENSORS = [
    "a45e60c2197b",
    "A4-5E-60-C2-19-7B",
    "a4:5e:60:c2:19:7b",
    "0721234567",
    "0040721234567",
    "ana.popescu",
    "Ana_Popescu",
    "ana.pop@example.ro",
    "192.168.17.20",
]
