"""Ids that travel as one MQTT topic level (store, station, label, player, sensor).

Shared by the protocol modules so both refuse the same ids the same way: a level may not
be empty, over-long, or hold whitespace or the topic wildcards.
"""

from __future__ import annotations

import re

MAX_ID_LENGTH = 64
_FORBIDDEN_IN_ID = re.compile(r"[/+#\s]")


class TopicLevelError(ValueError):
    """An id that cannot be one topic level; the message says why."""


def validate_id(what: str, value: str) -> str:
    """`value` if it is safe as one MQTT topic level, else TopicLevelError saying why."""
    if not isinstance(value, str) or not value:
        raise TopicLevelError(f"{what} id must be a non-empty string, got {value!r}")
    if len(value) > MAX_ID_LENGTH:
        raise TopicLevelError(f"{what} id is {len(value)} characters; at most {MAX_ID_LENGTH}")
    if _FORBIDDEN_IN_ID.search(value) or not value.isprintable():
        raise TopicLevelError(
            f"{what} id {value!r} must be printable without whitespace, '/', '+' or '#'"
        )
    return value
