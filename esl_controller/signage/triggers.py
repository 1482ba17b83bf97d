"""Audience, zone and loyalty triggers: bounded, judged against an allow-list, never echoed.

The trust boundary for everything a sensor or an app sends, over MQTT and over HTTP alike
(both call `parse_trigger`). A trigger is accepted only when it is made of known fields,
each of a strict shape, type and range: audience triggers are anonymous aggregates, zone
triggers an event with a product's GTIN, loyalty triggers a pseudonymous member id, a
segment of a strict pattern and the member's consent. The personal-data detectors of
`personal_data` are a second line: they name the category of what was refused and catch
what a strict shape cannot tell from an id (a dotless MAC, a phone number written as digits).

A refusal carries a category and a reason built only from this module's own texts and the
allow-listed field names: never a value, never an unknown field's name. So the reason may
be stored, logged and returned in an HTTP body as it is. Before anything is decoded a
payload is held to `MAX_TRIGGER_BYTES` and `MAX_TRIGGER_DEPTH`, and `parse_trigger` raises
nothing but `TriggerRejected`, whatever the bytes: one bad trigger never takes down the
messages handled with it.

Pure: `now` comes from the caller.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from esl_controller import wire_json
from esl_controller.catalogue.gtin import InvalidGTIN, validate_gtin
from esl_controller.signage.personal_data import (
    PersonalData,
    personal_data_in_key,
    personal_data_in_text,
)

log = logging.getLogger(__name__)

MAX_TRIGGER_BYTES = 8192
MAX_TRIGGER_DEPTH = 4  # a valid trigger is 2 deep (the object, its age_bands/gender maps)
AGE_BANDS = ("0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
GENDERS = ("female", "male", "other")
ZONE_EVENTS = ("enter", "leave", "pickup")
KINDS = ("audience", "zone", "loyalty")
SHARE_SUM_TOLERANCE = 1.01  # sensors round each share; a sum of 1.004 is not an error
MAX_AUDIENCE_COUNT = 10_000
MAX_SECONDS = 86_400.0
MAX_SEGMENT_LENGTH = 40
MAX_SEGMENT_DIGITS = 4  # a phone number needs at least 7

# A sensor id is an MQTT topic level, a user name and a log subject: nothing but these.
SENSOR_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
ZONE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# A pseudonymous member id is a digest: at least 128 bits of lowercase hex.
MEMBER_ID = re.compile(r"^[0-9a-f]{32,64}$")
SEGMENT = re.compile(r"^[a-z][a-z0-9-]{0,39}$")

_COMMON_KEYS = frozenset({"type", "sensor", "zone", "at"})
ALLOWED_KEYS = {
    "audience": _COMMON_KEYS | {"count", "age_bands", "gender", "dwell_s", "attention_s"},
    "zone": _COMMON_KEYS | {"event", "gtin"},
    "loyalty": _COMMON_KEYS | {"member", "segment", "consent"},
}
_ALL_KEYS = frozenset().union(*ALLOWED_KEYS.values())
_NESTED_KEYS = {"age_bands": frozenset(AGE_BANDS), "gender": frozenset(GENDERS)}

# What each field must be: the whole reason a field is refused for, never its value.
RULES = {
    "type": "must be one of audience, zone, loyalty",
    "sensor": "must be a sensor id: 1-64 lowercase letters, digits, '_' or '-'",
    "zone": "must be a zone id: 1-64 letters, digits, '_', '.' or '-'",
    "at": "must be an ISO-8601 date-time with a UTC offset, e.g. 2026-11-06T10:00:00Z",
    "count": f"must be an integer from 0 to {MAX_AUDIENCE_COUNT}",
    "age_bands": f"must map age bands ({', '.join(AGE_BANDS)}) to shares from 0 to 1",
    "gender": f"must map {', '.join(GENDERS)} to shares from 0 to 1",
    "dwell_s": f"must be a number of seconds from 0 to {MAX_SECONDS:g}, or null",
    "attention_s": f"must be a number of seconds from 0 to {MAX_SECONDS:g}, or null",
    "event": f"must be one of {', '.join(ZONE_EVENTS)}",
    "gtin": "must be a GTIN: 8, 12, 13 or 14 digits with a correct check digit",
    "member": "must be a pseudonymous id: 32-64 lowercase hex characters (a digest)",
    "segment": (
        f"must be a segment name: lowercase words joined by '-', at most "
        f"{MAX_SEGMENT_LENGTH} characters and {MAX_SEGMENT_DIGITS} digits"
    ),
    "consent": "must be true: a loyalty trigger needs the member's consent",
}
_SHARES_OVER_ONE = "shares add up to more than 1"
_PICKUP_NEEDS_GTIN = "is required for a pickup"
_REQUIRED = "is required"
_OWN_MESSAGES = frozenset({_SHARES_OVER_ONE, _PICKUP_NEEDS_GTIN})


class Refusal(StrEnum):
    """Why a trigger was refused, as counted and recorded."""

    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"
    MALFORMED = "malformed"
    PERSONAL_DATA = "personal_data"
    UNKNOWN_FIELDS = "unknown_fields"
    NO_CONSENT = "no_consent"
    INVALID_FIELD = "invalid_field"
    UNKNOWN_ZONE = "unknown_zone"
    WRONG_SENSOR = "wrong_sensor"
    STALE = "stale"
    FUTURE = "future"
    NOT_JUDGED = "not_judged"


_PRIVACY = frozenset({Refusal.PERSONAL_DATA, Refusal.UNKNOWN_FIELDS, Refusal.NO_CONSENT})


class TriggerRejected(ValueError):
    """A refused trigger: its category, the allow-listed field (or ""), a safe reason.

    `claimed_kind` is the trigger's `type` when that is one of KINDS, else "unknown".
    Nothing in it comes from the refused payload except words of the allow-list.
    """

    def __init__(
        self,
        category: Refusal,
        reason: str,
        *,
        field: str = "",
        claimed_kind: str = "unknown",
    ) -> None:
        self.category = category
        self.field = field
        self.reason = reason
        self.privacy = category in _PRIVACY
        self.claimed_kind = claimed_kind
        prefix = "privacy: " if self.privacy else ""
        super().__init__(f"{prefix}{field}: {reason}" if field else f"{prefix}{reason}")


@dataclass(frozen=True)
class AudienceTrigger:
    sensor: str
    zone: str
    at: datetime  # aware UTC
    count: int
    age_bands: dict[str, float]
    gender: dict[str, float]
    dwell_s: float | None
    attention_s: float | None
    kind = "audience"


@dataclass(frozen=True)
class ZoneTrigger:
    sensor: str
    zone: str
    at: datetime
    event: str  # enter | leave | pickup
    gtin: str | None
    kind = "zone"


@dataclass(frozen=True)
class LoyaltyTrigger:
    sensor: str
    zone: str
    at: datetime
    member: str  # pseudonymous: 32-64 lowercase hex characters
    segment: str
    kind = "loyalty"


Trigger = AudienceTrigger | ZoneTrigger | LoyaltyTrigger


# --- ids ----------------------------------------------------------------------------------


def sensor_id_problem(value: Any) -> str | None:
    """Why `value` cannot be a sensor id (a safe text), or None when it can."""
    if not isinstance(value, str) or not SENSOR_ID.match(value):
        return RULES["sensor"]
    found = personal_data_in_text(value)
    if found is not None:
        return f"contains {found}"
    return None


def _segment_is_valid(value: str) -> bool:
    return (
        bool(SEGMENT.match(value))
        and "--" not in value
        and not value.endswith("-")
        and sum(char.isdigit() for char in value) <= MAX_SEGMENT_DIGITS
    )


def _member_is_valid(value: str) -> bool:
    # All digits would be a number (a card, a phone), not a digest.
    return bool(MEMBER_ID.match(value)) and not value.isdigit()


# --- bounded decoding ---------------------------------------------------------------------

_STRUCTURE = re.compile(r'[\[\]{}"\\]')


def json_depth_exceeds(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than `limit`; one pass over the text."""
    depth, in_string, skip = 0, False, -1
    for match in _STRUCTURE.finditer(text):
        position, char = match.start(), match.group()
        if position == skip:
            continue
        if in_string:
            if char == "\\":
                skip = position + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class _Malformed(TriggerRejected):
    """wire_json's error class: its message (a decoder's text) is dropped, not kept."""

    def __init__(self, _message: str) -> None:
        super().__init__(Refusal.MALFORMED, "malformed JSON (or not UTF-8)")


def _decode(payload: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(payload, Mapping):
        try:
            payload = json.dumps(payload)
        except (TypeError, ValueError, RecursionError):
            raise _Malformed("") from None
    raw = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    if not isinstance(raw, bytes | bytearray):
        raise _Malformed("")
    if len(raw) > MAX_TRIGGER_BYTES:
        raise TriggerRejected(Refusal.TOO_LARGE, f"larger than {MAX_TRIGGER_BYTES} bytes")
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise _Malformed("") from None
    if json_depth_exceeds(text, MAX_TRIGGER_DEPTH):
        raise TriggerRejected(Refusal.TOO_DEEP, f"nested deeper than {MAX_TRIGGER_DEPTH} levels")
    try:
        document = wire_json.decode_json("trigger", text, _Malformed)
    except (ValueError, RecursionError) as exc:  # e.g. an integer of 5,000 digits
        if isinstance(exc, TriggerRejected):
            raise
        raise _Malformed("") from None
    if not isinstance(document, dict):
        raise TriggerRejected(Refusal.MALFORMED, "a trigger must be a JSON object")
    return document


# --- the allow-list -----------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    """Every string inside `value` (keys too), at any depth (bounded by the depth cap)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield key
            yield from _strings(child)
    elif isinstance(value, list):
        for child in value:
            yield from _strings(child)


def _is_shaped(key: str, value: Any) -> bool:
    """Values whose own strict check runs later and that the text detectors would misread:
    a date-time or a digest reads as a phone number, a GTIN-14 as an international one."""
    if key == "gtin":
        return isinstance(value, str) and value.isdigit() and len(value) <= 14
    if key == "at":  # a naive one too: it is refused by its own rule, not as a phone number
        return _is_iso_time(value)
    if key == "member":  # a digest's digits would read as a phone number
        return isinstance(value, str) and _member_is_valid(value)
    return False


def _refuse_personal_data(document: dict[str, Any], allowed: frozenset[str], kind: str) -> None:
    for key, value in document.items():
        if key not in allowed or _is_shaped(key, value):
            continue
        for text in _strings(value):
            found = personal_data_in_text(text)
            if found is not None:
                raise TriggerRejected(
                    Refusal.PERSONAL_DATA, f"contains {found}", field=key, claimed_kind=kind
                )


def _refuse_unknown_fields(document: dict[str, Any], allowed: frozenset[str], kind: str) -> None:
    unknown: list[tuple[str, Any]] = [(k, v) for k, v in document.items() if k not in allowed]
    for parent, known in _NESTED_KEYS.items():
        nested = document.get(parent)
        if parent in allowed and isinstance(nested, dict):
            unknown += [(k, v) for k, v in nested.items() if k not in known]
    if not unknown:
        return
    noun = "unknown field" if len(unknown) == 1 else "unknown fields"
    reason = f"{len(unknown)} {noun}; a trigger carries only its schema's fields"
    for key, value in unknown:
        found = personal_data_in_key(key) or next(
            (hit for text in _strings(value) if (hit := personal_data_in_text(text))), None
        )
        if found is PersonalData.IDENTIFIER_KEY:
            reason += " (one is named after personal data or an image)"
            break
        if found is not None:
            reason += f" (one holds {found})"
            break
    raise TriggerRejected(Refusal.UNKNOWN_FIELDS, reason, claimed_kind=kind)


# --- schema -------------------------------------------------------------------------------


def _is_iso_time(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 40:
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _parse_time(value: Any) -> datetime | None:
    if not _is_iso_time(value):
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC form
        return None


class _StrictNumber(fields.Float):
    """A finite JSON number; strings, booleans and NaN are refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("not a number")
        number = float(value)
        if not math.isfinite(number):
            raise ValidationError("not a finite number")
        return number


class _StrictInt(fields.Integer):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("not an integer")
        return value


class _AwareTime(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed = _parse_time(value)
        if parsed is None:
            raise ValidationError("not an aware date-time")
        return parsed


def _check(predicate: Callable[[Any], bool]) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if not predicate(value):
            raise ValidationError("does not match")

    return check


def _share() -> _StrictNumber:
    return _StrictNumber(validate=validate.Range(min=0, max=1))


def _seconds() -> _StrictNumber:
    return _StrictNumber(
        load_default=None, allow_none=True, validate=validate.Range(0, MAX_SECONDS)
    )


class _TriggerSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(KINDS))
    sensor = fields.String(required=True, validate=_check(lambda v: sensor_id_problem(v) is None))
    zone = fields.String(required=True, validate=validate.Regexp(ZONE_ID))
    at = _AwareTime(required=True)


class AudienceSchema(_TriggerSchema):
    count = _StrictInt(required=True, validate=validate.Range(0, MAX_AUDIENCE_COUNT))
    age_bands = fields.Dict(
        keys=fields.String(validate=validate.OneOf(AGE_BANDS)), values=_share(), load_default=dict
    )
    gender = fields.Dict(
        keys=fields.String(validate=validate.OneOf(GENDERS)), values=_share(), load_default=dict
    )
    dwell_s = _seconds()
    attention_s = _seconds()

    @validates_schema
    def _shares(self, data: dict[str, Any], **kwargs: Any) -> None:
        for name in ("age_bands", "gender"):
            if sum(data.get(name, {}).values()) > SHARE_SUM_TOLERANCE:
                raise ValidationError(_SHARES_OVER_ONE, name)


def _valid_gtin(value: str) -> bool:
    try:
        validate_gtin(value)
    except InvalidGTIN:
        return False
    return True


class ZoneSchema(_TriggerSchema):
    event = fields.String(required=True, validate=validate.OneOf(ZONE_EVENTS))
    gtin = fields.String(load_default=None, allow_none=True, validate=_check(_valid_gtin))

    @validates_schema
    def _pickup_has_gtin(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("event") == "pickup" and not data.get("gtin"):
            raise ValidationError(_PICKUP_NEEDS_GTIN, "gtin")


class LoyaltySchema(_TriggerSchema):
    member = fields.String(required=True, validate=_check(_member_is_valid))
    segment = fields.String(required=True, validate=_check(_segment_is_valid))
    consent = fields.Boolean(required=True, truthy={True}, falsy={False})


_SCHEMAS: dict[str, Schema] = {
    "audience": AudienceSchema(),
    "zone": ZoneSchema(),
    "loyalty": LoyaltySchema(),
}
_FIELD_ORDER = {name: index for index, name in enumerate(RULES)}


def _first_invalid(messages: dict[str, Any], document: dict[str, Any]) -> tuple[str, str]:
    """(field, reason) for the first refused field, in the order of RULES. The reason is a
    text of this module, never marshmallow's (which may quote the input)."""
    field = min(
        (name for name in messages if name in _FIELD_ORDER),
        key=_FIELD_ORDER.__getitem__,
        default="",
    )
    if not field:
        return "", "does not match the trigger schema"
    if field not in document:
        return field, _PICKUP_NEEDS_GTIN if field == "gtin" else _REQUIRED
    own = [m for m in messages[field] if isinstance(m, str) and m in _OWN_MESSAGES]
    return field, own[0] if own else RULES[field]


# --- parsing ------------------------------------------------------------------------------


def parse_trigger(
    payload: bytes | str | Mapping[str, Any],
    *,
    now: datetime,
    max_age_s: float,
    max_skew_s: float,
    known_zones: Collection[str],
    sensor: str | None = None,
) -> Trigger:
    """A trigger judged by the allow-list, or `TriggerRejected`: the only exception raised.

    `sensor` is who sent it, as the transport authenticated it (the MQTT topic's sensor,
    the HTTP credential); a trigger claiming another sensor is refused.
    """
    try:
        return _judge(_decode(payload), now, max_age_s, max_skew_s, known_zones, sensor)
    except TriggerRejected:
        raise
    except Exception as exc:  # a bug must cost this trigger only, and leak nothing of it
        log.error("a trigger could not be judged (%s); refused", type(exc).__name__)
        raise TriggerRejected(Refusal.NOT_JUDGED, "could not be judged; refused") from None


def _judge(
    document: dict[str, Any],
    now: datetime,
    max_age_s: float,
    max_skew_s: float,
    known_zones: Collection[str],
    sensor: str | None,
) -> Trigger:
    claimed = document.get("type")
    kind = claimed if isinstance(claimed, str) and claimed in KINDS else "unknown"
    allowed = ALLOWED_KEYS.get(kind, _ALL_KEYS)
    _refuse_personal_data(document, allowed, kind)
    _refuse_unknown_fields(document, allowed, kind)
    if kind == "unknown":
        raise TriggerRejected(Refusal.INVALID_FIELD, RULES["type"], field="type")
    if kind == "loyalty" and document.get("consent") is not True:
        raise TriggerRejected(
            Refusal.NO_CONSENT, RULES["consent"], field="consent", claimed_kind=kind
        )
    try:
        values = _SCHEMAS[kind].load(document)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {}
        field, reason = _first_invalid(messages, document)
        raise TriggerRejected(
            Refusal.INVALID_FIELD, reason, field=field, claimed_kind=kind
        ) from None
    if values["zone"] not in known_zones:
        raise TriggerRejected(
            Refusal.UNKNOWN_ZONE,
            "unknown zone, not one of this store's",
            field="zone",
            claimed_kind=kind,
        )
    if sensor is not None and values["sensor"] != sensor:
        raise TriggerRejected(
            Refusal.WRONG_SENSOR,
            "does not match the sensor that sent the trigger",
            field="sensor",
            claimed_kind=kind,
        )
    _check_time(values["at"], now, max_age_s, max_skew_s, kind)
    return _build(kind, values)


def _check_time(
    at: datetime, now: datetime, max_age_s: float, max_skew_s: float, kind: str
) -> None:
    age_s = (now - at).total_seconds()
    if age_s > max_age_s:
        raise TriggerRejected(
            Refusal.STALE,
            f"too old: {age_s:.0f} s ago, more than max_age_s={max_age_s:g}",
            field="at",
            claimed_kind=kind,
        )
    if -age_s > max_skew_s:
        raise TriggerRejected(
            Refusal.FUTURE,
            f"in the future by {-age_s:.0f} s, more than max_skew_s={max_skew_s:g}",
            field="at",
            claimed_kind=kind,
        )


def _build(kind: str, data: dict[str, Any]) -> Trigger:
    common = {"sensor": data["sensor"], "zone": data["zone"], "at": data["at"]}
    if kind == "audience":
        return AudienceTrigger(
            **common,
            count=data["count"],
            age_bands=dict(data["age_bands"]),
            gender=dict(data["gender"]),
            dwell_s=data["dwell_s"],
            attention_s=data["attention_s"],
        )
    if kind == "zone":
        gtin = validate_gtin(data["gtin"]) if data["gtin"] else None
        return ZoneTrigger(**common, event=data["event"], gtin=gtin)
    return LoyaltyTrigger(**common, member=data["member"], segment=data["segment"])


def trigger_kind(trigger: Trigger) -> str:
    """`audience`, `zone` or `loyalty`."""
    return trigger.kind


def recorded_reason(rejected: TriggerRejected) -> str:
    """The reason as stored in trigger_event and incidents (safe by construction)."""
    return str(rejected)[:300]
