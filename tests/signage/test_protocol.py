from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from esl_controller.signage import protocol
from esl_controller.signage.protocol import (
    BatchError,
    OverrideCommand,
    Play,
    PlayerStatus,
    ScreenItem,
    SignageProtocolError,
)

SHA = "ab" * 32
BASE = "http://127.0.0.1:8000/media/"
LOCAL = timezone(timedelta(hours=2))
EXPIRES = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def image(item_id: str = "milk", gtin: str | None = None) -> ScreenItem:
    return ScreenItem(item_id, "image", 8.0, media=SHA, gtin=gtin)


def play(**changes: Any) -> Play:
    values: dict[str, Any] = {
        "play_id": str(uuid.uuid4()),
        "player": "screen-07",
        "item": "milk",
        "started_at": datetime(2026, 11, 23, 12, 0, 0, tzinfo=LOCAL),
        "ended_at": datetime(2026, 11, 23, 12, 0, 8, tzinfo=LOCAL),
        "campaign_id": 3,
        "creative_id": 11,
        "override_id": 5,
        "trigger_id": 7,
    }
    values.update(changes)
    return Play(**values)


def play_document(**changes: Any) -> dict[str, Any]:
    document = json.loads(protocol.pop_payload([play()]))[0]
    document.update(changes)
    return document


# --- topics -------------------------------------------------------------------------------


def test_topics_have_the_documented_shapes() -> None:
    assert protocol.playlist_topic("esl", "s1", "p1") == "esl/s1/signage/player/p1/playlist"
    assert protocol.override_topic("a/b", "s1", "p1") == "a/b/s1/signage/player/p1/override"
    assert protocol.revert_topic("esl", "s1", "p1") == "esl/s1/signage/player/p1/revert"
    assert protocol.player_status_topic("esl", "s1", "p1") == "esl/s1/signage/player/p1/status"
    assert protocol.pop_topic("esl", "s1", "p1") == "esl/s1/signage/player/p1/pop"
    assert protocol.trigger_topic("esl", "s1", "cam-2") == "esl/s1/signage/trigger/cam-2"
    assert protocol.controller_subscriptions("esl", "s1") == [
        "esl/s1/signage/player/+/status",
        "esl/s1/signage/player/+/pop",
        "esl/s1/signage/trigger/+",
    ]
    assert protocol.player_subscriptions("esl", "s1", "p1") == [
        "esl/s1/signage/player/p1/playlist",
        "esl/s1/signage/player/p1/override",
        "esl/s1/signage/player/p1/revert",
    ]


@pytest.mark.parametrize("kind", ["playlist", "override", "revert", "status", "pop"])
def test_every_player_topic_parses_back(kind: str) -> None:
    build = {
        "playlist": protocol.playlist_topic,
        "override": protocol.override_topic,
        "revert": protocol.revert_topic,
        "status": protocol.player_status_topic,
        "pop": protocol.pop_topic,
    }[kind]
    parsed = protocol.parse_topic("acme/esl", build("acme/esl", "s1", "screen-07"))
    assert parsed == protocol.SignageTopic("s1", kind, player="screen-07")


def test_a_trigger_topic_parses_to_its_sensor() -> None:
    parsed = protocol.parse_topic("esl", "esl/s1/signage/trigger/cam-2")
    assert parsed == protocol.SignageTopic("s1", "trigger", sensor="cam-2")


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        ("other/s1/signage/trigger/cam", "not under prefix"),
        ("esl/s1/signage/player/p1/reboot", "neither"),
        ("esl/s1/bs-01/ack", "neither"),
        ("esl/s1/signage/player/p1", "neither"),
        ("esl/s1/signage/trigger/cam/extra", "expected <store>/signage/trigger/<sensor>"),
        ("esl/s1/signage/player//status", "the player level must be a player id"),
        ("esl/s 1/signage/trigger/cam", "store level is not an id"),
    ],
)
def test_off_contract_topics_are_refused(topic: str, message: str) -> None:
    with pytest.raises(SignageProtocolError, match=message):
        protocol.parse_topic("esl", topic)


@pytest.mark.parametrize(
    ("topic", "recorded"),
    [
        ("esl/s1/signage/trigger/a45e60c2197b", "esl/s1/signage/trigger/(refused)"),
        ("esl/s1/signage/trigger/Ana.Popescu", "esl/s1/signage/trigger/(refused)"),
        ("esl/s1/signage/trigger/cam-1/ana@example.ro", "esl/s1/signage/trigger/cam-1/(refused)"),
        ("esl/s1/signage/player/ana@example.ro/status", "esl/s1/signage/player/(refused)/status"),
        ("esl/s1/signage/player/0721234567/pop", "esl/s1/signage/player/(refused)/pop"),
        ("esl/s1/signage/player/p1/0721234567", "esl/s1/signage/player/p1/(refused)"),
    ],
)
def test_ids_in_topics_that_fail_their_pattern_are_refused_and_never_quoted(
    topic: str, recorded: str
) -> None:
    level = next(part for part in topic.split("/") if part not in recorded.split("/"))
    with pytest.raises(SignageProtocolError) as caught:
        protocol.parse_topic("esl", topic)
    assert level not in str(caught.value)
    assert protocol.safe_topic("esl", topic) == recorded


def test_valid_topics_are_recorded_as_they_are() -> None:
    for topic in ("esl/s1/signage/trigger/cam-1", "esl/s1/signage/player/Screen.01/status"):
        protocol.parse_topic("esl", topic)
        assert protocol.safe_topic("esl", topic) == topic


@pytest.mark.parametrize(
    ("prefix", "player", "message"),
    [("", "p1", "prefix"), ("esl/", "p1", "prefix level"), ("esl", "a+b", "player id")],
)
def test_bad_ids_never_become_topics(prefix: str, player: str, message: str) -> None:
    with pytest.raises(SignageProtocolError, match=message):
        protocol.playlist_topic(prefix, "s1", player)


# --- playlist -----------------------------------------------------------------------------


def test_a_playlist_round_trips_with_a_digest_of_its_content() -> None:
    items = [
        image("milk", gtin="5941768000015"),
        ScreenItem("clip", "video", 15, media=SHA),
        ScreenItem("news", "web", 20, url="https://example.org/board"),
    ]
    until = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    payload = protocol.playlist_payload("screen-07", "dairy", items, until, BASE)

    message = protocol.parse_playlist_message(payload)

    assert json.loads(payload)["v"] == 1
    assert message.items == tuple(items)
    assert (message.player, message.playlist, message.valid_until) == ("screen-07", "dairy", until)
    assert message.digest == protocol.playlist_digest("dairy", items, until, BASE)
    assert message.media_url(items[0]) == BASE + SHA
    changed = protocol.playlist_digest("dairy", items[:2], until, BASE)
    assert changed != message.digest


def test_an_empty_playlist_means_nothing_scheduled() -> None:
    message = protocol.parse_playlist_message(
        protocol.playlist_payload("screen-07", None, [], None, BASE)
    )
    assert (message.playlist, message.items, message.valid_until) == (None, (), None)
    with pytest.raises(SignageProtocolError, match="no media"):
        message.media_url(ScreenItem("news", "web", 5, url="https://example.org/"))


def playlist_document(**changes: Any) -> dict[str, Any]:
    document = json.loads(protocol.playlist_payload("screen-07", "dairy", [image()], None, BASE))
    document.update(changes)
    return document


def item_document(**changes: Any) -> dict[str, Any]:
    document = {"id": "milk", "type": "image", "duration_s": 8, "media": SHA}
    document.update(changes)
    return document


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"v": 2}, "v: unsupported version 2"),
        ({"player": "a/b"}, "player: player id"),
        ({"media_base": "ftp://host/media/"}, "media_base: must be an http"),
        ({"media_base": "http://host/media"}, "must end with '/'"),
        ({"valid_until": "2026-11-23T09:00:00"}, "valid_until: Not a valid aware datetime"),
        ({"playlist": None}, "no playlist"),
        ({"items": [item_document(), item_document()]}, "unique"),
        ({"items": [item_document(duration_s=0)]}, r"items\[0\].duration_s"),
        ({"items": [item_document(duration_s="8")]}, r"items\[0\].duration_s"),
        ({"items": [item_document(media=None)]}, "image items need their media sha256"),
        ({"items": [item_document(media="AB" * 32)]}, "lowercase hex sha256"),
        ({"items": [item_document(type="web", media=None)]}, "web items need their url"),
        ({"items": [item_document(type="promo_slide")]}, r"items\[0\].type"),
        ({"items": [item_document(gtin="5941768000016")]}, "check digit"),
        ({"items": [item_document(type="web", url="javascript:alert(1)")]}, "http"),
    ],
)
def test_bad_playlists_are_refused_naming_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(SignageProtocolError, match=message):
        protocol.parse_playlist_message(json.dumps(playlist_document(**changes)))


@pytest.mark.parametrize(
    ("payload", "message"),
    [(b"{", "not valid JSON"), (b"\xff", "not valid JSON"), (b"[1]", "expected a JSON object")],
)
def test_undecodable_messages_are_refused(payload: bytes, message: str) -> None:
    with pytest.raises(SignageProtocolError, match=message):
        protocol.parse_playlist_message(payload)


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    message = protocol.parse_playlist_message(json.dumps(playlist_document(layout="portrait")))
    assert message.playlist == "dairy"


def test_the_playlist_builder_refuses_what_the_parser_would() -> None:
    with pytest.raises(SignageProtocolError, match="valid_until must be a datetime with a UTC"):
        protocol.playlist_payload("p1", "x", [image()], datetime(2026, 1, 1), BASE)
    with pytest.raises(SignageProtocolError, match="need their media"):
        protocol.playlist_payload("p1", "x", [ScreenItem("a", "image", 5)], None, BASE)
    with pytest.raises(SignageProtocolError, match="expected a ScreenItem"):
        protocol.playlist_payload("p1", "x", [{"id": "a"}], None, BASE)  # type: ignore[list-item]


# --- override and revert ------------------------------------------------------------------


def test_an_override_round_trips() -> None:
    command = OverrideCommand(5, image("ad"), 60, EXPIRES, trigger_id=7, campaign_id=3)
    payload = protocol.override_payload(command)
    assert protocol.parse_override(payload) == command
    assert json.loads(payload)["creative_id"] is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"override_id": 0}, "override_id"),
        ({"override_id": "5"}, "override_id"),
        ({"priority": 1001}, "priority"),
        ({"expires_at": "2026-11-23T10:00:00"}, "expires_at"),
        ({"item": item_document(type="video", media=None)}, r"item.media: video items need"),
        ({"trigger_id": -1}, "trigger_id"),
        ({"v": None}, "v:"),
    ],
)
def test_bad_overrides_are_refused(changes: dict[str, Any], message: str) -> None:
    document = json.loads(protocol.override_payload(OverrideCommand(5, image(), 60, EXPIRES)))
    document.update(changes)
    with pytest.raises(SignageProtocolError, match=message):
        protocol.parse_override(json.dumps(document))


def test_the_override_builder_refuses_a_naive_expiry() -> None:
    with pytest.raises(SignageProtocolError, match="expires_at"):
        protocol.override_payload(OverrideCommand(5, image(), 60, datetime(2026, 11, 23)))


def test_a_status_without_state_is_refused() -> None:
    with pytest.raises(SignageProtocolError, match="state: Missing"):
        protocol.parse_player_status(b"{}")


def test_a_revert_round_trips_and_is_checked() -> None:
    assert protocol.parse_revert(protocol.revert_payload(5)) == protocol.RevertCommand(5)
    with pytest.raises(SignageProtocolError, match="override_id"):
        protocol.revert_payload(0)
    with pytest.raises(SignageProtocolError, match="v: Missing"):
        protocol.parse_revert(b'{"override_id": 5}')


# --- status -------------------------------------------------------------------------------


def test_the_offline_status_is_the_bare_last_will() -> None:
    assert protocol.player_status_payload(protocol.OFFLINE_STATUS) == b'{"state":"offline"}'
    assert protocol.parse_player_status(b'{"state":"offline"}') == protocol.OFFLINE_STATUS


def test_an_online_status_round_trips() -> None:
    status = PlayerStatus("online", now_playing="milk", override_id=5, cache_items=12)
    assert protocol.parse_player_status(protocol.player_status_payload(status)) == status


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"state": "sleeping"}, "state"),
        ({"state": "online", "cache_items": -1}, "cache_items"),
        ({"state": "online", "now_playing": ""}, "now_playing"),
    ],
)
def test_bad_statuses_are_refused(document: dict[str, Any], message: str) -> None:
    with pytest.raises(SignageProtocolError, match=message):
        protocol.parse_player_status(json.dumps(document))
    with pytest.raises(SignageProtocolError, match=message.split(":")[0]):
        protocol.player_status_payload(PlayerStatus(**document))


# --- proof of play ------------------------------------------------------------------------


def test_plays_round_trip_keeping_the_players_local_offset() -> None:
    plays = [play(), play(item="bread", campaign_id=None, override_id=None)]
    parsed = protocol.parse_pops(protocol.pop_payload(plays))
    assert parsed == plays
    assert parsed[0].started_at.utcoffset() == timedelta(hours=2)
    assert json.loads(protocol.pop_payload(plays))[0]["started_at"] == "2026-11-23T12:00:00+02:00"


def test_a_single_play_object_is_a_batch_of_one() -> None:
    assert len(protocol.parse_pops(json.dumps(play_document()))) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"play_id": "not-a-uuid"}, "play_id: must be a canonical lowercase uuid4"),
        ({"play_id": str(uuid.uuid1())}, "uuid4"),
        ({"play_id": str(uuid.uuid4()).upper()}, "uuid4"),
        ({"ended_at": "2026-11-23T12:00:00+02:00"}, "ended_at: must be after started_at"),
        ({"started_at": "2026-11-23T12:00:00"}, "started_at: Not a valid aware"),
        ({"item": ""}, "item"),
        ({"player": "a b"}, "player id"),
        ({"campaign_id": "3"}, "campaign_id"),
    ],
)
def test_a_bad_play_is_reported_with_the_good_ones_kept(
    changes: dict[str, Any], message: str
) -> None:
    good = play_document()
    batch = [good, play_document(**changes)]
    with pytest.raises(BatchError, match=message) as error:
        protocol.parse_pops(json.dumps(batch))
    assert "pop[1]" in str(error.value)
    assert [p.play_id for p in error.value.valid] == [good["play_id"]]


@pytest.mark.parametrize(
    ("payload", "message"),
    [(b"nope", "not valid JSON"), (b"42", "expected a list of plays"), (b'"x"', "expected a list")],
)
def test_a_pop_message_that_is_no_batch_is_refused(payload: bytes, message: str) -> None:
    with pytest.raises(SignageProtocolError, match=message) as error:
        protocol.parse_pops(payload)
    assert not isinstance(error.value, BatchError)


def test_batch_size_is_bounded_both_ways() -> None:
    with pytest.raises(SignageProtocolError, match="at most 1000"):
        protocol.parse_pops(json.dumps([play_document()] * 1001))
    with pytest.raises(SignageProtocolError, match=r"1\.\.1000 plays, got 0"):
        protocol.pop_payload([])


def test_the_pop_builder_refuses_an_off_contract_play() -> None:
    with pytest.raises(SignageProtocolError, match=r"pop\[0\]: ended_at"):
        protocol.pop_payload([play(ended_at=datetime(2026, 11, 23, 11, 0, tzinfo=LOCAL))])
    with pytest.raises(SignageProtocolError, match="started_at must be a datetime"):
        protocol.pop_payload([play(started_at=datetime(2026, 11, 23, 12, 0))])


# --- items for storage --------------------------------------------------------------------


def test_an_item_survives_storage_as_json() -> None:
    item = image("ad", gtin="5941768000015")
    assert protocol.parse_item(json.loads(protocol.item_json(item))) == item
    with pytest.raises(SignageProtocolError, match="item: type"):
        protocol.parse_item({"id": "x", "type": "hologram", "duration_s": 1})
