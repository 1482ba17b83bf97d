"""The MQTT player channel: the bytes of docs/protocol.md on the documented topics, and what
it reports of each incoming message."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as paho
import pytest

from esl_controller.config import Settings
from esl_controller.mqtt import MqttClient, parse_mqtt_url
from esl_controller.signage import protocol
from esl_controller.signage.channel import (
    ChannelReport,
    MalformedReported,
    PlaylistDelivery,
    PlaysReported,
    PresenceReported,
    TriggerReported,
)
from esl_controller.signage.drivers.mqtt import MqttPlayerChannel, topics

SHA = "ab" * 32
BASE = "http://10.0.0.2:8000/media/"
EXPIRES = datetime(2026, 11, 23, 10, 0, 30, tzinfo=UTC)


class Reports:
    def __init__(self) -> None:
        self.got: list[ChannelReport] = []

    def report(self, report: ChannelReport) -> None:
        self.got.append(report)


class Acks:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def channel(settings: Settings) -> tuple[MqttPlayerChannel, Reports]:
    client = MqttClient(settings.mqtt_url, client_id=f"unit-{uuid.uuid4().hex[:8]}")
    channel = MqttPlayerChannel(client, settings.topic_prefix, settings.store_id)
    reports = Reports()
    channel.open(reports)
    return channel, reports


def topic(settings: Settings, kind: str, who: str = "scr-1") -> str:
    base = f"{settings.topic_prefix}/{settings.store_id}/signage"
    return f"{base}/trigger/{who}" if kind == "trigger" else f"{base}/player/{who}/{kind}"


def a_play(player: str = "scr-1") -> protocol.Play:
    start = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    return protocol.Play(str(uuid.uuid4()), player, "milk", start, start + timedelta(seconds=8))


# --- incoming --------------------------------------------------------------------------------


def test_status_becomes_presence_and_a_cleared_status_nothing(channel, settings) -> None:
    driver, reports = channel
    status = protocol.PlayerStatus("online", now_playing="milk", override_id=4, cache_items=3)
    ack = Acks()
    driver.handle_message(topic(settings, "status"), protocol.player_status_payload(status), ack)
    driver.handle_message(topic(settings, "status"), b"", ack)
    assert reports.got == [PresenceReported("mqtt", "scr-1", True, "milk", 4, 3)]
    assert ack.count == 2  # not billing data: acknowledged at once


def test_a_trigger_is_reported_raw_with_the_topics_sensor(channel, settings) -> None:
    driver, reports = channel
    driver.handle_message(topic(settings, "trigger", "cam-2"), b'{"type":"audience"}')
    assert reports.got == [TriggerReported("mqtt", "cam-2", b'{"type":"audience"}')]


def test_plays_are_acknowledged_only_when_the_core_commits(channel, settings) -> None:
    driver, reports = channel
    ack = Acks()
    play = a_play()
    driver.handle_message(topic(settings, "pop"), protocol.pop_payload([play]), ack)
    [batch] = reports.got
    assert isinstance(batch, PlaysReported)
    assert (batch.player, list(batch.plays)) == ("scr-1", [play])
    assert ack.count == 0
    batch.on_committed()
    assert ack.count == 1


def test_plays_are_attributed_to_the_topics_player_not_to_the_one_they_name(
    channel, settings
) -> None:
    # The ingest refuses a play whose player differs from the batch's (wrong_player), so the
    # channel must take the reporter from the topic the broker's ACL ties to the login.
    driver, reports = channel
    forged = a_play(player="scr-2")
    driver.handle_message(topic(settings, "pop", "scr-1"), protocol.pop_payload([forged]), Acks())
    [batch] = reports.got
    assert isinstance(batch, PlaysReported)
    assert batch.player == "scr-1"
    assert [play.player for play in batch.plays] == ["scr-2"]


def test_a_batch_with_a_bad_play_reports_the_good_ones_and_the_reason(channel, settings) -> None:
    driver, reports = channel
    good = json.loads(protocol.pop_payload([a_play()]))[0]
    bad = {**good, "play_id": "not-a-uuid"}
    ack = Acks()
    driver.handle_message(topic(settings, "pop"), json.dumps([good, bad]).encode(), ack)
    plays, malformed = reports.got
    assert isinstance(plays, PlaysReported)
    assert [p.play_id for p in plays.plays] == [good["play_id"]]
    assert isinstance(malformed, MalformedReported) and malformed.kind == "malformed_pop"
    assert "play_id" in malformed.error
    assert ack.count == 0  # still waits for the commit of the good play


def test_unreadable_messages_are_reported_and_let_go(channel, settings) -> None:
    driver, reports = channel
    ack = Acks()
    driver.handle_message(topic(settings, "pop"), b"not json", ack)
    driver.handle_message(topic(settings, "status"), b'{"state":"asleep"}', ack)
    driver.handle_message(f"{settings.topic_prefix}/{settings.store_id}/signage/odd", b"{}", ack)
    assert [(r.kind, r.subject) for r in reports.got] == [
        ("malformed_pop", "scr-1"),
        ("malformed_status", "scr-1"),
        ("malformed_signage", f"{settings.topic_prefix}/{settings.store_id}/signage/odd"),
    ]
    assert ack.count == 3  # redelivery could not make them readable


def test_a_closed_channel_leaves_plays_to_the_broker(channel, settings) -> None:
    driver, reports = channel
    driver.close()
    ack = Acks()
    driver.handle_message(topic(settings, "pop"), protocol.pop_payload([a_play()]), ack)
    assert reports.got == [] and ack.count == 0  # redelivered after the next connect


# --- outgoing, on a real broker -------------------------------------------------------------------


class Player:
    def __init__(self, settings: Settings, player: str) -> None:
        target = parse_mqtt_url(settings.mqtt_url)
        self.got: list[tuple[str, bytes, bool]] = []
        self._changed = threading.Condition()
        subscribed = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"p-{uuid.uuid4()}")
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.on_message = self._record
        self.client.connect(target.host, target.port)
        self.client.loop_start()
        wanted = topics.player_subscriptions(settings.topic_prefix, settings.store_id, player)
        self.client.subscribe([(t, 1) for t in wanted])
        assert subscribed.wait(10)

    def _record(self, _c, _u, message: paho.MQTTMessage) -> None:
        with self._changed:
            self.got.append((message.topic, message.payload, bool(message.retain)))
            self._changed.notify_all()

    def wait(self, count: int) -> list[tuple[str, bytes, bool]]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.got) >= count, 10)
            return list(self.got)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.mark.mqtt
def test_commands_go_out_as_the_documented_bytes(settings: Settings) -> None:
    client = MqttClient(settings.mqtt_url, client_id=f"out-{uuid.uuid4().hex[:8]}").start(10)
    driver = MqttPlayerChannel(client, settings.topic_prefix, settings.store_id)
    player = Player(settings, "scr-1")
    item = protocol.ScreenItem("ad-11", "image", 10.0, media=SHA)
    command = protocol.OverrideCommand(42, item, 60, EXPIRES, 9001, 3, 11)
    digest = protocol.playlist_digest("dairy", (item,), None, BASE)
    try:
        driver.send_override(["scr-1", "scr-9"], command)
        driver.send_revert(["scr-1"], 42)
        driver.send_playlist(PlaylistDelivery("scr-1", "dairy", (item,), None, BASE, digest))
        override, revert, playlist = player.wait(3)
    finally:
        client.publish(topic(settings, "playlist"), b"", retain=True)  # clear the retained copy
        player.close()
        client.stop()
    assert override == (topic(settings, "override"), protocol.override_payload(command), False)
    assert revert == (topic(settings, "revert"), b'{"v":1,"override_id":42}', False)
    assert playlist[0] == topic(settings, "playlist")
    assert playlist[1] == protocol.playlist_payload("scr-1", "dairy", (item,), None, BASE)
    assert json.loads(playlist[1])["digest"] == digest
    # a live subscriber sees retain=0 even for a retained publish; retention itself is
    # checked by the contract test (a player connecting later gets the playlist)
