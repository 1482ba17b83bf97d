"""Audience, zone and loyalty triggers: parsed, validated, and guarded for privacy.

The privacy guard runs before anything else looks at a payload. Audience data must be an
anonymous aggregate, so a trigger is refused (`privacy=True`) when it carries a field the
schema does not know, anything that looks like an image of a person, a long base64 blob, or
a direct identifier (MAC address, phone number, e-mail, IP address) in any key or value at
any depth, and a loyalty trigger without the member's consent. Refusals name the field and
never echo the personal data itself, so the error can be logged safely.

Pure: `now` comes from the caller.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from esl_controller.catalogue.gtin import InvalidGTIN, validate_gtin
from esl_controller.labels.hardware import flatten_errors

AGE_BANDS = ("0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
GENDERS = ("female", "male", "other")
ZONE_EVENTS = ("enter", "leave", "pickup")
SHARE_SUM_TOLERANCE = 1.01  # sensors round each share; a sum of 1.004 is not an error
MAX_BASE64_CHARS = 200

_COMMON_KEYS = frozenset({"type", "sensor", "zone", "at"})
ALLOWED_KEYS = {
    "audience": _COMMON_KEYS | {"count", "age_bands", "gender", "dwell_s", "attention_s"},
    "zone": _COMMON_KEYS | {"event", "gtin"},
    "loyalty": _COMMON_KEYS | {"member", "segment", "consent"},
}
_NESTED_KEYS = {"age_bands": frozenset(AGE_BANDS), "gender": frozenset(GENDERS)}

# Key words that name personal data or pictures of people (matched per word of a key).
_IMAGE_WORDS = frozenset(
    {
        "image",
        "img",
        "photo",
        "picture",
        "pic",
        "face",
        "faces",
        "embedding",
        "embeddings",
        "selfie",
        "thumbnail",
        "snapshot",
        "frame",
        "jpeg",
        "jpg",
        "png",
        "biometric",
    }
)
_IDENTIFIER_WORDS = frozenset(
    {
        "name",
        "firstname",
        "lastname",
        "fullname",
        "surname",
        "email",
        "mail",
        "phone",
        "mobile",
        "msisdn",
        "tel",
        "telephone",
        "mac",
        "ip",
        "ipv4",
        "ipv6",
        "imei",
        "imsi",
        "address",
        "ssn",
        "cnp",
        "passport",
        "plate",
        "bluetooth",
        "bssid",
        "ssid",
        "idfa",
    }
)
_MAC = re.compile(
    r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}(?![0-9A-Fa-f])"
    r"|(?<![0-9A-Fa-f.])(?:[0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}(?![0-9A-Fa-f.])"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IPV4 = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])"
)
_PHONE = re.compile(
    # international (+40 721 234 567, 0040721234567) or national with separators (0721 234 567)
    r"(?<![\w+])(?:\+|00)[1-9](?:[\s.\-()]*\d){7,14}(?!\w)"
    r"|(?<!\w)\(?0\d{2,4}\)?[\s.\-]\d{2,4}(?:[\s.\-]?\d{2,4}){1,2}(?!\w)"
)
_BASE64 = re.compile(rf"[A-Za-z0-9+/_-]{{{MAX_BASE64_CHARS + 1},}}={{0,2}}")
_DATA_URI = re.compile(r"data:[\w.+-]+/[\w.+-]+;base64,", re.IGNORECASE)
_KEY_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_MEMBER = re.compile(r"^[0-9a-f]{16,64}$")


class TriggerRejected(ValueError):
    """A trigger that was not accepted: which field, why, and whether privacy was at stake."""

    def __init__(self, field: str, reason: str, *, privacy: bool = False) -> None:
        self.field = field
        self.reason = reason
        self.privacy = privacy
        prefix = "privacy: " if privacy else ""
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
    member: str  # pseudonymous: 16-64 lowercase hex characters
    segment: str
    kind = "loyalty"


Trigger = AudienceTrigger | ZoneTrigger | LoyaltyTrigger


# --- the privacy guard --------------------------------------------------------------------


def _walk(value: Any, path: str) -> Iterator[tuple[str, str | None, Any]]:
    """(path, key or None, value) for every key and value at any depth."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else str(key)
            yield child_path, str(key), child
            yield from _walk(child, child_path)
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            yield f"{path}[{index}]", None, child
            yield from _walk(child, f"{path}[{index}]")


def _key_words(key: str) -> set[str]:
    return {word.lower() for word in _KEY_WORDS.findall(key)} | {key.lower()}


def _personal_data_in_key(key: str) -> str | None:
    words = _key_words(key)
    if words & _IMAGE_WORDS:
        return "looks like an image of a person; only anonymous aggregates are accepted"
    if words & _IDENTIFIER_WORDS or "e-mail" in key.lower():
        return "names a direct identifier (name, e-mail, phone, MAC, IP); not accepted"
    return None


def _looks_like_ipv6(text: str) -> bool:
    for token in re.split(r"[\s,;=/\[\]]+", text):
        if token.count(":") >= 2:
            try:
                ipaddress.IPv6Address(token.split("%")[0])
            except ValueError:
                continue
            return True
    return False


def _personal_data_in_text(text: str) -> str | None:
    if _DATA_URI.search(text) or _BASE64.search(text):
        return f"holds a base64 blob longer than {MAX_BASE64_CHARS} characters (an image?)"
    if _MAC.search(text):
        return "holds a device MAC address"
    if _EMAIL.search(text):
        return "holds an e-mail address"
    if _IPV4.search(text) or _looks_like_ipv6(text):
        return "holds an IP address"
    if _PHONE.search(text):
        return "holds a phone number"
    return None


def refuse_personal_data(data: Mapping[str, Any]) -> None:
    """Refuse (privacy=True) images and direct identifiers in any key or value, at any depth."""
    for path, key, value in _walk(data, ""):
        if key is not None:
            problem = _personal_data_in_key(key) or _personal_data_in_text(key)
            if problem:
                raise TriggerRejected(path, f"field {problem}", privacy=True)
        # A GTIN-14 like 00594176800001 reads as an international number; its own check holds.
        if isinstance(value, str) and not (key == "gtin" and value.isdigit()):
            problem = _personal_data_in_text(value)
            if problem:
                raise TriggerRejected(path, f"value {problem}", privacy=True)


def refuse_outside_schema(kind: str, data: Mapping[str, Any]) -> None:
    """Refuse (privacy=True) unknown fields, also nested ones, and loyalty without consent."""
    allowed = ALLOWED_KEYS[kind]
    for key in data:
        if key not in allowed:
            raise TriggerRejected(
                str(key), "unknown field; a trigger carries only its schema's fields", privacy=True
            )
    for parent, known in _NESTED_KEYS.items():
        nested = data.get(parent)
        if isinstance(nested, Mapping):
            for key in nested:
                if key not in known:
                    raise TriggerRejected(
                        f"{parent}.{key}",
                        f"unknown field; expected one of {', '.join(sorted(known))}",
                        privacy=True,
                    )
    if kind == "loyalty" and data.get("consent") is not True:
        raise TriggerRejected(
            "consent", "a loyalty trigger needs consent=true from the member", privacy=True
        )


# --- schema -------------------------------------------------------------------------------


class _StrictNumber(fields.Float):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValidationError(f"must be a finite number, got {value!r}")
        return float(value)


class _StrictInt(fields.Integer):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"must be an integer, got {value!r}")
        return value


class _AwareTime(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise ValidationError(f"must be an ISO-8601 string with an offset, got {value!r}")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValidationError(f"{value!r} is not an ISO-8601 date-time") from exc
        if parsed.tzinfo is None:
            raise ValidationError(f"{value!r} has no UTC offset (add 'Z' or '+02:00')")
        return parsed.astimezone(UTC)


_SHARE = _StrictNumber(validate=validate.Range(min=0, max=1, error="share must be in 0..1"))
_NOT_NEGATIVE = validate.Range(min=0, error="must be >= 0")
_IDENT = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$",
    error="must be an id: letters, digits, '_', '.', ':', '-' (max 128)",
)


class _TriggerSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(tuple(ALLOWED_KEYS)))
    sensor = fields.String(required=True, validate=_IDENT)
    zone = fields.String(required=True, validate=_IDENT)
    at = _AwareTime(required=True)


def _share_sum(shares: Mapping[str, float], name: str) -> None:
    if sum(shares.values()) > SHARE_SUM_TOLERANCE:
        raise ValidationError(f"shares add up to {sum(shares.values()):.3f}, more than 1", name)


class AudienceSchema(_TriggerSchema):
    count = _StrictInt(required=True, validate=_NOT_NEGATIVE)
    age_bands = fields.Dict(keys=fields.String(), values=_SHARE, load_default=dict)
    gender = fields.Dict(keys=fields.String(), values=_SHARE, load_default=dict)
    dwell_s = _StrictNumber(load_default=None, allow_none=True, validate=_NOT_NEGATIVE)
    attention_s = _StrictNumber(load_default=None, allow_none=True, validate=_NOT_NEGATIVE)

    @validates_schema
    def _shares(self, data: dict[str, Any], **kwargs: Any) -> None:
        _share_sum(data["age_bands"], "age_bands")
        _share_sum(data["gender"], "gender")


class ZoneSchema(_TriggerSchema):
    event = fields.String(required=True, validate=validate.OneOf(ZONE_EVENTS))
    gtin = fields.String(load_default=None, allow_none=True)

    @validates("gtin")
    def _valid_gtin(self, value: str | None, **kwargs: Any) -> None:
        if value is not None:
            try:
                validate_gtin(value)
            except InvalidGTIN as exc:
                raise ValidationError(str(exc)) from exc

    @validates_schema
    def _pickup_has_gtin(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("event") == "pickup" and not data.get("gtin"):
            raise ValidationError("a pickup needs the product's gtin", "gtin")


class LoyaltySchema(_TriggerSchema):
    member = fields.String(
        required=True,
        validate=validate.Regexp(
            _MEMBER, error="must be a pseudonymous id: 16-64 lowercase hex characters"
        ),
    )
    segment = fields.String(required=True, validate=_IDENT)
    consent = fields.Boolean(required=True, truthy={True}, falsy={False})


_SCHEMAS: dict[str, Schema] = {
    "audience": AudienceSchema(),
    "zone": ZoneSchema(),
    "loyalty": LoyaltySchema(),
}


# --- parsing ------------------------------------------------------------------------------


def _decode(payload: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(payload, Mapping):
        data: Any = payload
    else:
        try:
            text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
            data = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TriggerRejected("", f"malformed JSON: {exc}") from exc
    if not isinstance(data, Mapping):
        raise TriggerRejected("", f"a trigger must be a JSON object, got {type(data).__name__}")
    return data


def parse_trigger(
    payload: bytes | str | Mapping[str, Any],
    *,
    now: datetime,
    max_age_s: float,
    max_skew_s: float,
    known_zones: Collection[str],
) -> Trigger:
    """A validated trigger, or `TriggerRejected` naming the field and the reason."""
    data = _decode(payload)
    refuse_personal_data(data)
    kind = data.get("type")
    if kind not in _SCHEMAS:
        raise TriggerRejected(
            "type", f"unknown trigger type {kind!r}; one of audience, zone, loyalty"
        )
    refuse_outside_schema(kind, data)
    try:
        fields_ = _SCHEMAS[kind].load(data)
    except ValidationError as exc:
        field, _, reason = flatten_errors(exc.messages)[0].partition(": ")
        raise TriggerRejected(field, reason.rstrip(".")) from exc
    if fields_["zone"] not in known_zones:
        raise TriggerRejected("zone", f"unknown zone {fields_['zone']!r}")
    _check_time(fields_["at"], now, max_age_s, max_skew_s)
    return _build(kind, fields_)


def _check_time(at: datetime, now: datetime, max_age_s: float, max_skew_s: float) -> None:
    age_s = (now - at).total_seconds()
    if age_s > max_age_s:
        raise TriggerRejected(
            "at", f"too old: {age_s:.0f} s ago, more than max_age_s={max_age_s:g}"
        )
    if -age_s > max_skew_s:
        raise TriggerRejected(
            "at", f"in the future by {-age_s:.0f} s, more than max_skew_s={max_skew_s:g}"
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
