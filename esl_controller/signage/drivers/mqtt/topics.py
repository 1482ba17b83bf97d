"""The MQTT topics of the signage player protocol (docs/protocol.md, section S2).

The only code that builds or splits signage topic strings: the MQTT player channel, the
player and sensor simulators and the benchmarks use it; the signage core never does.
Payloads are transport-neutral and live in `esl_controller.signage.protocol`.
"""

from __future__ import annotations

from dataclasses import dataclass

from esl_controller.signage.protocol import SignageProtocolError
from esl_controller.topic_levels import TopicLevelError, validate_id

SIGNAGE_LEVEL = "signage"  # the topic level after the store; no base station may use this id
PLAYER_COMMANDS = ("playlist", "override", "revert")
PLAYER_REPORTS = ("status", "pop")


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
    return f"{_signage_base(prefix, store)}/trigger/{_id('sensor', sensor)}"


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
    try:
        if len(levels) == 5 and levels[1:3] == [SIGNAGE_LEVEL, "player"]:
            store, _, _, player, kind = levels
            if kind in PLAYER_COMMANDS + PLAYER_REPORTS:
                return SignageTopic(_id("store", store), kind, player=_id("player", player))
        if len(levels) == 4 and levels[1:3] == [SIGNAGE_LEVEL, "trigger"]:
            store, _, _, sensor = levels
            return SignageTopic(_id("store", store), "trigger", sensor=_id("sensor", sensor))
    except SignageProtocolError as exc:
        raise SignageProtocolError(f"topic {topic!r}: {exc}") from None
    raise SignageProtocolError(
        f"topic {topic!r} is neither <store>/signage/player/<player>/"
        f"{'|'.join(PLAYER_COMMANDS + PLAYER_REPORTS)} nor <store>/signage/trigger/<sensor>"
    )
