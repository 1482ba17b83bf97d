"""JSON on the wire: decoding, schema loading and batches, shared by every protocol module.

Each protocol (ESL, signage) passes its own error classes, so a caller still catches the
protocol's ProtocolError; the messages name the field (`ack[2].seq: Not a valid integer.`).

Anyone on the broker (or the HTTP API) can send bytes, so the document's shape is capped:
its size before parsing, its nesting (100,000 brackets make `json` raise RecursionError)
and the digits of each number (Python refuses integers over 4,300 digits with a ValueError;
nothing we read needs more than 64 bits). Each refusal is the protocol's error with the
reason, which callers record as an incident, instead of a traceback.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from marshmallow import Schema, ValidationError

MAX_WIRE_BYTES = 1024 * 1024  # Mosquitto's deploy limit is 256 KiB; pop batches stay below
MAX_DEPTH = 32  # our messages nest three levels; 32 leaves room for vendors' telemetry
# uint64 has 20 digits and a float's shortest repr 17 significant ones; 40 leaves room for
# zeros and exponents while keeping number conversion cheap.
MAX_NUMBER_DIGITS = 40


_CONTAINERS = (dict, list)
# Every ASCII digit becomes b"1", every other byte b"0".
_DIGIT_MARKS = bytes(0x31 if 0x30 <= code <= 0x39 else 0x30 for code in range(256))


class _TooManyDigits(ValueError):
    def __init__(self, digits: int) -> None:
        super().__init__(digits)
        self.digits = digits


def describe_errors(messages: Mapping[Any, Any] | Sequence[Any], path: str = "") -> list[str]:
    """marshmallow's nested error dict as `field: message` lines (`[2].seq: ...` in lists)."""
    if isinstance(messages, Mapping):
        lines = []
        for key, value in messages.items():
            where = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else key
            if key == "_schema":
                where = path or "message"
            lines.extend(describe_errors(value, where))
        return lines
    return [f"{path}: {message}" for message in messages]


def nesting_depth(document: Any, limit: int | None = None) -> int:
    """How deeply arrays and objects nest in a decoded document (a scalar is 0).

    Level by level, so any depth is measured without recursion; stops early past `limit`."""
    level = [document] if type(document) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if limit is not None and depth > limit:
            return depth
        level = [
            child
            for node in level
            for child in (node.values() if type(node) is dict else node)
            if type(child) in _CONTAINERS
        ]
    return depth


def _has_long_number(payload: bytes | str, max_digits: int) -> bool:
    """A run of more than `max_digits` ASCII digits anywhere (strings included): cheap
    C-speed byte operations, so only such payloads pay for the per-number hooks."""
    data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    return b"1" * (max_digits + 1) in bytes(data).translate(_DIGIT_MARKS)


def _digits(text: str, max_digits: int) -> str:
    if len(text) <= max_digits:
        return text
    digits = sum(character.isdigit() for character in text)
    if digits > max_digits:
        raise _TooManyDigits(digits)
    return text


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def decode_json(
    what: str,
    payload: bytes | str,
    error: type[Exception],
    *,
    max_bytes: int = MAX_WIRE_BYTES,
    max_depth: int = MAX_DEPTH,
    max_digits: int = MAX_NUMBER_DIGITS,
    syntax_error: type[Exception] | None = None,
) -> Any:
    """The decoded document, or `error` naming why not: too large, too deep, a number with
    too many digits, or (as `syntax_error`, by default `error`) not JSON at all."""
    if not isinstance(payload, bytes | bytearray | str):
        raise error(f"{what}: expected bytes or text, got {type(payload).__name__}")
    if isinstance(payload, bytes | bytearray):
        size = len(payload)
    else:  # surrogatepass: a lone surrogate is refused below, with its reason
        size = len(payload.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise error(f"{what}: {size:,} bytes; at most {max_bytes:,}")
    # The digit hooks cost a Python call per number; only a payload holding a long digit run
    # (a cheap C-speed search, strings included) pays for them.
    if _has_long_number(payload, max_digits):
        number_hooks: dict[str, Any] = {
            "parse_int": lambda text: int(_digits(text, max_digits)),
            "parse_float": lambda text: float(_digits(text, max_digits)),
        }
    else:
        number_hooks = {}
    try:
        document = json.loads(payload, parse_constant=_refuse_constant, **number_hooks)
    except _TooManyDigits as exc:
        raise error(f"{what}: a number of {exc.digits:,} digits; at most {max_digits}") from None
    except RecursionError:
        raise error(f"{what}: nested too deeply; at most {max_depth} levels") from None
    except (UnicodeDecodeError, ValueError) as exc:
        # JSONDecodeError is a ValueError; so is a refused NaN or Infinity.
        raise (syntax_error or error)(f"{what}: not valid JSON ({exc})") from None
    if nesting_depth(document, limit=max_depth) > max_depth:
        raise error(f"{what}: nested more than {max_depth} levels deep")
    if _may_hold_unstorable_text(payload):
        problem = unstorable_text(document)
        if problem:
            raise error(f"{what}: {problem}")
    if _may_hold_non_ascii(payload):
        document = nfc_document(document)
    return document


_NON_ASCII = re.compile(rb"[\x80-\xff]|\\u")
_NON_ASCII_TEXT = re.compile(r"[^\x00-\x7f]|\\u")


def _may_hold_non_ascii(payload: bytes | bytearray | str) -> bool:
    # ASCII text is already NFC: the common payload pays one C-speed search, nothing more
    if isinstance(payload, str):
        return _NON_ASCII_TEXT.search(payload) is not None
    return _NON_ASCII.search(payload) is not None


def nfc_document(node: Any) -> Any:
    """The document with every string (keys too) in Unicode NFC, so "café" typed on two
    keyboards is one value; depth is already bounded by the caller."""
    if isinstance(node, str):
        return (
            node if unicodedata.is_normalized("NFC", node) else unicodedata.normalize("NFC", node)
        )
    if isinstance(node, dict):
        return {nfc_document(key): nfc_document(value) for key, value in node.items()}
    if isinstance(node, list):
        return [nfc_document(item) for item in node]
    return node


# A lone surrogate or a NUL can only come from a \u escape (JSON refuses raw control
# characters; decoded bytes hold no surrogates), so only a payload with one is walked.
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")
_UNSTORABLE_ESCAPE_TEXT = re.compile(r"\\u(?:[dD][89a-fA-F]|0000)|[\ud800-\udfff]")
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")


def _may_hold_unstorable_text(payload: bytes | bytearray | str) -> bool:
    if isinstance(payload, str):
        return _UNSTORABLE_ESCAPE_TEXT.search(payload) is not None
    return _UNSTORABLE_ESCAPE.search(payload) is not None


def unstorable_text(document: Any) -> str | None:
    """Why a decoded document holds text no database column takes (a lone UTF-16
    surrogate, which is not Unicode, or a NUL), else None. Keys count too; no recursion."""
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            pending.extend(node.keys())
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, str):
            found = _UNSTORABLE.search(node)
            if found:
                if found.group() == "\x00":
                    return "text holds a NUL character"
                return "text is not valid Unicode (a lone UTF-16 surrogate)"
    return None


def load_object(what: str, schema: Schema, document: Any, error: type[Exception]) -> Any:
    if not isinstance(document, dict):
        raise error(f"{what}: expected a JSON object, got {type(document).__name__}")
    try:
        return schema.load(document)
    except ValidationError as exc:
        raise error(f"{what}: " + "; ".join(describe_errors(exc.messages))) from None


def load_batch(
    what: str,
    payload: bytes | str,
    schema: Schema,
    *,
    limit: int,
    noun: str,
    error: type[Exception],
    batch_error: type[Exception],
    expected: str = "an object or a list",
) -> list[Any]:
    """One object or a JSON list of them, always as a list.

    Malformed entries raise `batch_error(message, valid)` carrying the valid ones, so the
    caller books those and records the rest (nothing silently dropped).
    """
    document = decode_json(what, payload, error)
    if isinstance(document, dict):
        return [load_object(what, schema, document, error)]
    if not isinstance(document, list):
        raise error(f"{what}: expected {expected}, got {type(document).__name__}")
    if len(document) > limit:
        raise error(f"{what}: batch of {len(document)} {noun}; at most {limit} per message")
    valid, errors = [], []
    for index, entry in enumerate(document):
        try:
            valid.append(load_object(f"{what}[{index}]", schema, entry, error))
        except error as exc:
            errors.append(str(exc))
    if errors:
        raise batch_error("; ".join(errors), valid)
    return valid
