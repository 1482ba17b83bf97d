"""The MQTT topics of the signage player protocol (docs/protocol.md, section S2).

The only code that builds or splits signage topic strings: the MQTT player channel, the
player and sensor simulators and the benchmarks use it; the signage core never does.
Payloads are transport-neutral and live in `esl_controller.signage.protocol`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from esl_controller.signage.personal_data import personal_data_in_text
from esl_controller.signage.protocol import SignageProtocolError
from esl_controller.signage.triggers import sensor_id_problem
from esl_controller.topic_levels import TopicLevelError, validate_id

SIGNAGE_LEVEL = "signage"  # the topic level after the store; no base station may use this id
PLAYER_COMMANDS = ("playlist", "override", "revert")
PLAYER_REPORTS = ("status", "pop")
PLAYER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # as the dashboard registers them


@dataclass(frozen=True)
class SignageTopic:
    store: str
    kind: str  # playlist | override | revert | status | pop | trigger
    player: str | None = None
    sensor: str | None = None


def _id(what: str, value: str) -> str:
    try:
        return validate_id(what, value)
    except TopicLevelError as exc:
        raise SignageProtocolError(str(exc)) from None


def _validate_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not prefix:
        raise SignageProtocolError("topic prefix must be a non-empty string")
    for level in prefix.split("/"):
        _id("topic prefix level", level)
    return prefix


def _signage_base(prefix: str, store: str) -> str:
    return f"{_validate_prefix(prefix)}/{_id('store', store)}/{SIGNAGE_LEVEL}"


def _player_topic(prefix: str, store: str, player: str, kind: str) -> str:
    return f"{_signage_base(prefix, store)}/player/{_id('player', player)}/{kind}"


def playlist_topic(prefix: str, store: str, player: str) -> str:
    return _player_topic(prefix, store, player, "playlist")


def override_topic(prefix: str, store: str, player: str) -> str:
    return _player_topic(prefix, store, player, "override")


def revert_topic(prefix: str, store: str, player: str) -> str:
    return _player_topic(prefix, store, player, "revert")


def player_status_topic(prefix: str, store: str, player: str) -> str:
    return _player_topic(prefix, store, player, "status")


def pop_topic(prefix: str, store: str, player: str) -> str:
    return _player_topic(prefix, store, player, "pop")


def trigger_topic(prefix: str, store: str, sensor: str) -> str:
    problem = sensor_id_problem(sensor)
    if problem is not None:
        raise SignageProtocolError(f"sensor id {problem}")
    return f"{_signage_base(prefix, store)}/trigger/{sensor}"


def controller_subscriptions(prefix: str, store: str) -> list[str]:
    """What the controller's signage service subscribes to (QoS 1)."""
    base = _signage_base(prefix, store)
    return [f"{base}/player/+/status", f"{base}/player/+/pop", f"{base}/trigger/+"]


def player_subscriptions(prefix: str, store: str, player: str) -> list[str]:
    """What one player subscribes to (QoS 1): its playlist, override and revert topics."""
    return [_player_topic(prefix, store, player, kind) for kind in PLAYER_COMMANDS]


def parse_topic(prefix: str, topic: str) -> SignageTopic:
    """Split a signage topic under `prefix`; anything off-contract is a SignageProtocolError."""
    head = f"{_validate_prefix(prefix)}/"
    if not isinstance(topic, str) or not topic.startswith(head):
        raise SignageProtocolError(f"topic {topic!r} is not under prefix {prefix!r}")
    levels = topic[len(head) :].split("/")
    if levels[1:3] == [SIGNAGE_LEVEL, "trigger"]:
        return _trigger_topic(levels)
    if len(levels) == 5 and levels[1:3] == [SIGNAGE_LEVEL, "player"]:
        store, _, _, player, kind = levels
        if kind in PLAYER_COMMANDS + PLAYER_REPORTS:
            problem = player_id_problem(player)
            if problem is not None:
                raise SignageProtocolError(f"player topic: the player level {problem}")
            try:
                return SignageTopic(_id("store", store), kind, player=player)
            except SignageProtocolError as exc:
                raise SignageProtocolError(f"topic {topic!r}: {exc}") from None
    raise SignageProtocolError(
        f"topic {safe_topic(prefix, topic)!r} is neither <store>/signage/player/<player>/"
        f"{'|'.join(PLAYER_COMMANDS + PLAYER_REPORTS)} nor <store>/signage/trigger/<sensor>"
    )


def _trigger_topic(levels: list[str]) -> SignageTopic:
    """A sensor's topic. Its sensor level is judged like a trigger's sensor field and never
    quoted back: a refused one may be personal data (a phone's MAC, a name)."""
    if len(levels) != 4:
        raise SignageProtocolError("trigger topic: expected <store>/signage/trigger/<sensor>")
    store, _, _, sensor = levels
    problem = sensor_id_problem(sensor)
    if problem is not None:
        raise SignageProtocolError(f"trigger topic: the sensor level {problem}")
    try:
        return SignageTopic(_id("store", store), "trigger", sensor=sensor)
    except SignageProtocolError:
        raise SignageProtocolError("trigger topic: the store level is not an id") from None


def player_id_problem(value: Any) -> str | None:
    """Why `value` cannot be a player id in a topic (a safe text), or None when it can."""
    if not isinstance(value, str) or not PLAYER_ID.match(value):
        return "must be a player id: 1-64 letters, digits, '.', '_' or '-', starting with one"
    found = personal_data_in_text(value)
    return f"contains {found}" if found is not None else None


def safe_topic(prefix: str, topic: str) -> str:
    """`topic` as it may be recorded: the sensor or player level only when it is a valid id,
    otherwise a placeholder (what a refused level held is not kept)."""
    head = f"{prefix}/"
    if not isinstance(topic, str) or not topic.startswith(head):
        return "(a topic outside the prefix)"
    levels = topic[len(head) :].split("/")
    if levels[1:2] != [SIGNAGE_LEVEL]:
        return head + "/".join(levels[:1] + ["(other)"] * (len(levels) > 1))
    check = {"trigger": sensor_id_problem, "player": player_id_problem}.get(
        levels[2] if len(levels) > 2 else ""
    )
    kinds = PLAYER_COMMANDS + PLAYER_REPORTS

    def kept(index: int, level: str) -> str:
        if index < 3:
            return level
        if index == 3 and check is not None and check(level) is None:
            return level
        if index == 4 and levels[2] == "player" and level in kinds:
            return level
        return "(refused)"

    return head + "/".join(kept(index, level) for index, level in enumerate(levels))
