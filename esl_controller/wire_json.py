"""JSON on the wire: decoding, schema loading and batches, shared by every protocol module.

Each protocol (ESL, signage) passes its own error classes, so a caller still catches the
protocol's ProtocolError; the messages name the field (`ack[2].seq: Not a valid integer.`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from marshmallow import Schema, ValidationError


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


def decode_json(what: str, payload: bytes | str, error: type[Exception]) -> Any:
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
        raise error(f"{what}: not valid JSON ({exc})") from None


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
