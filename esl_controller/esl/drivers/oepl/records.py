"""What an OpenEPaperLink AP says, validated: tag records, /get_db pages, websocket messages.

Pure: text in, typed records out, or a `RecordError` naming what was wrong. The field names
are the firmware's (tag_db.cpp fillNode; web.cpp wsSendSysteminfo, handleSysinfoRequest).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

HEX_MAC_LENGTHS = (12, 16)
DEEP_SLEEP_SENTINEL = 3216153600  # the firmware's "expected check-in" of a sleeping tag
MAX_MESSAGE_CHARS = 1_000_000


class RecordError(ValueError):
    """Input from the AP that cannot be trusted; `kind` names the incident."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def normal_mac(text: str) -> str:
    """A tag MAC as our label id: 16 (or 12) upper-case hex digits, separators dropped."""
    mac = "".join(ch for ch in str(text) if ch not in ":-. ").upper()
    if len(mac) not in HEX_MAC_LENGTHS or any(ch not in "0123456789ABCDEF" for ch in mac):
        raise ValueError(f"not a tag MAC (12 or 16 hex digits): {text!r}")
    return mac


def _mac(value: str) -> bool:
    try:
        normal_mac(value)
    except ValueError:
        return False
    return True


def _check_mac(value: str) -> None:
    if not _mac(value):
        raise ValidationError("not a tag MAC (12 or 16 hex digits)")


class _TagRecordSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    mac = fields.String(required=True, validate=_check_mac)
    hash = fields.String(load_default="", validate=validate.Length(max=64))
    lastseen = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))
    nextcheckin = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))
    pending = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    hwType = fields.Integer(required=True, strict=True, validate=validate.Range(0, 255))
    batteryMv = fields.Integer(load_default=None, strict=True, validate=validate.Range(0, 10000))
    RSSI = fields.Integer(load_default=None, strict=True, validate=validate.Range(-128, 127))
    LQI = fields.Integer(load_default=None, strict=True, validate=validate.Range(0, 255))
    temperature = fields.Integer(load_default=None, strict=True, validate=validate.Range(-128, 127))
    # Older firmware has no update counter; delivery then falls back to the hash.
    updatecount = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=0))
    updatelast = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=0))
    alias = fields.String(load_default="")


class _SysSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    currtime = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    runstate = fields.Integer(load_default=None, strict=True)
    recordcount = fields.Integer(load_default=None, strict=True)


class _TagTypeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(load_default="")
    width = fields.Integer(required=True, strict=True, validate=validate.Range(0, 4096))
    height = fields.Integer(required=True, strict=True, validate=validate.Range(0, 4096))
    rotatebuffer = fields.Integer(load_default=0, strict=True, validate=validate.Range(0, 3))
    bpp = fields.Integer(load_default=1, strict=True)
    colortable = fields.Dict(
        keys=fields.String(),
        values=fields.List(
            fields.Integer(validate=validate.Range(0, 255)), validate=validate.Length(3, 3)
        ),
        load_default=dict,
    )


# One instance each: building a schema costs far more than loading a record with it, and
# an AP pushes a record at every tag's check-in.
_TAG_RECORD = _TagRecordSchema()
_SYS = _SysSchema()
_TAG_TYPE = _TagTypeSchema()


@dataclass(frozen=True)
class TagRecord:
    mac: str
    hash: str
    lastseen: int  # AP epoch seconds
    nextcheckin: int  # AP epoch seconds; DEEP_SLEEP_SENTINEL while asleep
    pending: int
    hw_type: int
    battery_mv: int | None
    rssi: int | None
    lqi: int | None
    temperature: int | None
    update_count: int | None
    update_last: int | None
    alias: str = ""


@dataclass(frozen=True)
class ApClock:
    """The AP's `sys` status: its clock and run state."""

    currtime: int
    runstate: int | None


@dataclass(frozen=True)
class TagTypeInfo:
    """A `/tagtypes/XX.json`: the picture size the AP wants and its ink colours."""

    hw_type: int
    name: str
    width: int
    height: int
    rotatebuffer: int
    bpp: int
    colortable: dict[str, tuple[int, int, int]]


@dataclass(frozen=True)
class Message:
    """One websocket message: tag records, a clock, or a log line (kind "log")."""

    records: tuple[TagRecord, ...] = ()
    clock: ApClock | None = None
    log: str | None = None


def _describe(error: ValidationError) -> str:
    messages = error.messages
    if isinstance(messages, dict):
        return "; ".join(
            f"{field}: {', '.join(map(str, m)) if isinstance(m, list) else m}"
            for field, m in sorted(messages.items(), key=str)
        )
    return str(messages)


def load_json(text: str | bytes, where: str) -> Any:
    if len(text) > MAX_MESSAGE_CHARS:
        raise RecordError(
            "oversized", f"{where}: {len(text)} characters, more than {MAX_MESSAGE_CHARS}"
        )
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordError("json", f"{where}: not valid JSON ({exc})") from None


def tag_record(raw: Any, where: str) -> TagRecord:
    if not isinstance(raw, dict):
        raise RecordError(
            "tag_record", f"{where}: a tag record must be an object, got {type(raw).__name__}"
        )
    try:
        data = _TAG_RECORD.load(raw)
    except ValidationError as exc:
        mac = raw.get("mac") if isinstance(raw.get("mac"), str) and _mac(raw["mac"]) else "?"
        raise RecordError("tag_record", f"{where}: tag record {mac}: {_describe(exc)}") from None
    return TagRecord(
        mac=normal_mac(data["mac"]),
        hash=data["hash"].lower(),
        lastseen=data["lastseen"],
        nextcheckin=data["nextcheckin"],
        pending=data["pending"],
        hw_type=data["hwType"],
        battery_mv=data["batteryMv"],
        rssi=data["RSSI"],
        lqi=data["LQI"],
        temperature=data["temperature"],
        update_count=data["updatecount"],
        update_last=data["updatelast"],
        alias=data["alias"],
    )


def tag_records(raw: Any, where: str) -> tuple[list[TagRecord], list[RecordError]]:
    """The records of a `{"tags": [...]}` object; a bad record is an error, the rest stand."""
    if not isinstance(raw, dict) or not isinstance(raw.get("tags"), list):
        raise RecordError("tag_list", f"{where}: expected an object with a 'tags' list")
    good: list[TagRecord] = []
    bad: list[RecordError] = []
    for index, item in enumerate(raw["tags"]):
        try:
            good.append(tag_record(item, f"{where} tags[{index}]"))
        except RecordError as exc:
            bad.append(exc)
    return good, bad


@dataclass(frozen=True)
class Page:
    records: list[TagRecord]
    errors: list[RecordError]
    next_pos: int | None  # the firmware's `continu`


def db_page(text: str | bytes, pos: int) -> Page:
    """One answer of `GET /get_db?pos=N`."""
    where = f"GET /get_db?pos={pos}"
    raw = load_json(text, where)
    records, errors = tag_records(raw, where)
    more = raw.get("continu")
    if more is not None and (not isinstance(more, int) or isinstance(more, bool) or more <= pos):
        raise RecordError(
            "tag_list", f"{where}: 'continu' must be a position after {pos}, got {more!r}"
        )
    return Page(records, errors, more)


def same_state(raw: Any, known: TagRecord) -> bool:
    """Whether a raw record only repeats what `known` says about delivery: the same type,
    pending count, update count and hash (a routine check-in with nothing new)."""
    if not isinstance(raw, dict):
        return False
    values = (raw.get("hwType"), raw.get("pending"), raw.get("updatecount"), raw.get("hash"))
    if any(type(value) not in (int, str, type(None)) for value in values):
        return False
    return values == (known.hw_type, known.pending, known.update_count, known.hash)


def ws_message(
    text: str | bytes, routine: Callable[[Any], bool] | None = None
) -> tuple[Message, list[RecordError]]:
    """One websocket text message of the AP. Tag records for which `routine` says True are
    left out unvalidated: nothing of them is used."""
    raw = load_json(text, "websocket message")
    if not isinstance(raw, dict):
        raise RecordError("ws_message", "websocket message: expected a JSON object")
    if "tags" in raw:
        if routine is not None and isinstance(raw["tags"], list):
            raw = {"tags": [item for item in raw["tags"] if not routine(item)]}
        records, errors = tag_records(raw, "websocket")
        return Message(records=tuple(records)), errors
    if "sys" in raw:
        try:
            data = _SYS.load(raw["sys"] if isinstance(raw["sys"], dict) else {})
        except ValidationError as exc:
            raise RecordError("ws_message", f"websocket sys: {_describe(exc)}") from None
        return Message(clock=ApClock(data["currtime"], data["runstate"])), []
    for key in ("errMsg", "logMsg", "console"):
        if key in raw:
            return Message(log=f"{key}: {str(raw[key])[:300]}"), []
    return Message(), []


def tag_type(text: str | bytes, hw_type: int) -> TagTypeInfo:
    where = f"GET /tagtypes/{hw_type:02X}.json"
    raw = load_json(text, where)
    if not isinstance(raw, dict):
        raise RecordError("tag_type", f"{where}: expected a JSON object")
    try:
        data = _TAG_TYPE.load(raw)
    except ValidationError as exc:
        raise RecordError("tag_type", f"{where}: {_describe(exc)}") from None
    return TagTypeInfo(
        hw_type=hw_type,
        name=data["name"],
        width=data["width"],
        height=data["height"],
        rotatebuffer=data["rotatebuffer"],
        bpp=data["bpp"],
        colortable={name: tuple(rgb) for name, rgb in data["colortable"].items()},
    )
