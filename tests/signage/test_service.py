"""The signage service end to end: a real broker, a real SQLite file, paho clients as players
and sensors. Tests drive the service with `step()`; waits poll for an outcome, never time."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from esl_controller.ads.ingest import PlayIngestor
from esl_controller.db import session_scope
from esl_controller.models import (
    Advertiser,
    Campaign,
    Creative,
    Incident,
    Override,
    Player,
    PlaylistFile,
    Product,
    Store,
    TriggerAggregate,
    TriggerEvent,
    Zone,
)
from esl_controller.mqtt import MqttClient, parse_mqtt_url
from esl_controller.signage import protocol
from esl_controller.signage.drivers.mqtt import MqttPlayerChannel, topics
from esl_controller.signage.override_ids import reserve_override_ids_in
from esl_controller.signage.service import SignageService
from tests.support.gtins import make_gtin

MEDIA_SHA = "ab" * 32
PROMO_GTIN = make_gtin(77)


class Recorder:
    """A paho client standing in for the players and sensors of one store."""

    def __init__(self, url: str, prefix: str, store: str) -> None:
        target = parse_mqtt_url(url)
        self.prefix, self.store = prefix, store
        self.messages: dict[str, list[tuple[bytes, bool]]] = defaultdict(list)
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"rec-{uuid.uuid4()}")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_args: self._subscribed.set()
        self.client.connect(target.host, target.port)
        self.client.loop_start()
        self.client.subscribe(f"{prefix}/{store}/signage/player/+/+", qos=1)
        assert self._subscribed.wait(10), "recorder could not subscribe"

    def _on_message(self, _client, _userdata, message: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages[message.topic].append((message.payload, bool(message.retain)))

    def of(self, player: str, kind: str) -> list[bytes]:
        topic = f"{self.prefix}/{self.store}/signage/player/{player}/{kind}"
        with self._lock:
            return [payload for payload, _retained in self.messages.get(topic, [])]

    def send(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def trigger(self, sensor: str, document: dict) -> None:
        topic = topics.trigger_topic(self.prefix, self.store, sensor)
        self.send(topic, json.dumps(document).encode())

    def status(self, player: str, state: str) -> None:
        status = protocol.PlayerStatus(state, now_playing="welcome")
        payload = protocol.player_status_payload(status)
        self.send(topics.player_status_topic(self.prefix, self.store, player), payload, True)

    def close(self) -> None:
        # Retained statuses must not outlive the test (topics are unique, but be tidy).
        for topic in list(self.messages):
            if topic.endswith("/playlist"):
                self.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(10)
        self.client.loop_stop()
        self.client.disconnect()


def audience(sensor: str = "cam-1", zone: str = "dairy", count: int = 4, **extra) -> dict:
    return {
        "type": "audience",
        "sensor": sensor,
        "zone": zone,
        "at": datetime.now(UTC).isoformat(),
        "count": count,
        "age_bands": {"25-34": 0.5},
        "gender": {"female": 0.5},
        **extra,
    }


def pickup(sensor: str = "shelf-1", gtin: str = PROMO_GTIN) -> dict:
    return {
        "type": "zone",
        "sensor": sensor,
        "zone": "dairy",
        "at": datetime.now(UTC).isoformat(),
        "event": "pickup",
        "gtin": gtin,
    }


@pytest.fixture
def store(engine, settings, tmp_path: Path):
    """A store with two zones, three players (two in dairy), one campaign and one product."""
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        s.add(
            Store(
                id=settings.store_id,
                name="Test",
                locale="ro_RO",
                currency="RON",
                timezone="Europe/Bucharest",
            )
        )
        s.flush()
        s.add_all(
            [
                Zone(id="dairy", store_id=settings.store_id),
                Zone(id="entrance", store_id=settings.store_id),
            ]
        )
        s.flush()
        for player_id, zone in (("scr-1", "dairy"), ("scr-2", "dairy"), ("scr-3", "entrance")):
            s.add(Player(id=player_id, store_id=settings.store_id, zone_id=zone))
        s.add(
            Product(
                store_id=settings.store_id,
                gtin=PROMO_GTIN,
                name="Cafea boabe 1 kg",
                net_quantity=1000,
                unit="g",
                price_minor=4999,
                currency="RON",
            )
        )
        advertiser = Advertiser(name="Acme")
        s.add(advertiser)
        s.flush()
        campaign = Campaign(
            advertiser_id=advertiser.id,
            name="Acme dairy",
            priority=60,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=1),
            targeting=json.dumps({"triggers": ["audience"], "audience": {"min_count": 2}}),
        )
        s.add(campaign)
        s.flush()
        s.add(
            Creative(
                campaign_id=campaign.id,
                name="milk",
                kind="image",
                media_sha256=MEDIA_SHA,
                duration_s=8,
            )
        )
    return settings


@pytest.fixture
def playlists_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "signage_playlists"
    (folder / "media").mkdir(parents=True)
    (folder / "media" / "welcome.png").write_bytes(_png())
    return folder


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def harness(engine, store, playlists_dir) -> Iterator[tuple[SignageService, Recorder]]:
    settings = store.with_overrides(playlists_dir=playlists_dir, override_ttl_s=30.0)
    mqtt = MqttClient(settings.mqtt_url, client_id=f"svc-{uuid.uuid4()}")
    channel = MqttPlayerChannel(mqtt, settings.topic_prefix, settings.store_id)
    service = SignageService(
        engine, settings, [channel], ingestor=PlayIngestor(engine, settings)
    ).open_channels()
    mqtt.start(wait=10)
    recorder = Recorder(settings.mqtt_url, settings.topic_prefix, settings.store_id)
    try:
        yield service, recorder
    finally:
        recorder.close()
        mqtt.stop()


def pump(service: SignageService, done: Callable[[], bool], limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while not done():
        assert time.monotonic() < deadline, "condition not reached"
        service.step(0.02)


def go_online(service: SignageService, recorder: Recorder, *players: str) -> None:
    for player in players:
        recorder.status(player, "online")
    pump(service, lambda: set(players) <= service.online_players())


def rows(engine, model, *where) -> list:
    with Session(engine) as s:
        return list(s.scalars(select(model).where(*where)).all())


# --- triggers -------------------------------------------------------------------------------


def test_trigger_over_mqtt_overrides_every_online_player_of_the_zone(harness, engine):
    service, recorder = harness
    go_online(service, recorder, "scr-1", "scr-2", "scr-3")
    recorder.trigger("cam-1", audience())
    pump(service, lambda: recorder.of("scr-1", "override") and recorder.of("scr-2", "override"))

    command = protocol.parse_override(recorder.of("scr-1", "override")[0])
    assert command.item.media == MEDIA_SHA
    assert recorder.of("scr-2", "override") == recorder.of("scr-1", "override")
    assert recorder.of("scr-3", "override") == []  # another zone
    [override] = rows(engine, Override)
    assert override.id == command.override_id
    assert (override.zone_id, override.kind) == ("dairy", "campaign")
    [event] = rows(engine, TriggerEvent)
    assert (event.outcome, event.override_id) == ("matched", override.id)
    assert event.id == command.trigger_id
    assert json.loads(event.payload)["count"] == 4


def test_trigger_without_a_matching_campaign_is_recorded_as_no_match(harness, engine):
    service, recorder = harness
    recorder.trigger("cam-1", audience(count=1))  # the campaign wants at least 2
    pump(service, lambda: rows(engine, TriggerEvent))
    [event] = rows(engine, TriggerEvent)
    assert event.outcome == "no_match"
    assert rows(engine, Override) == []


def test_a_chain_campaign_plays_only_in_its_stores_and_zone_kinds(harness, engine, store):
    service, recorder = harness
    go_online(service, recorder, "scr-1", "scr-3")

    def aim(targeting: dict) -> None:
        with session_scope(engine) as session:
            session.execute(update(Campaign).values(targeting=json.dumps(targeting)))
            service.reload_campaigns(session)

    aim({"stores": ["another-store"], "zone_kinds": ["dairy"]})  # not this store's
    recorder.trigger("cam-1", audience(zone="dairy"))
    pump(service, lambda: len(rows(engine, TriggerEvent)) == 1)
    aim({"stores": [store.store_id], "zone_kinds": ["dairy"]})
    recorder.trigger("cam-2", audience("cam-2", zone="entrance"))  # this store, another kind
    recorder.trigger("cam-3", audience("cam-3", zone="dairy"))
    pump(service, lambda: recorder.of("scr-1", "override"))
    outcomes = {event.sensor_id: event.outcome for event in rows(engine, TriggerEvent)}
    assert outcomes == {"cam-1": "no_match", "cam-2": "no_match", "cam-3": "matched"}
    assert recorder.of("scr-3", "override") == []


def test_privacy_refusal_is_recorded_without_the_payload(harness, engine):
    service, recorder = harness
    recorder.trigger("cam-1", audience(email="ana.pop@example.com"))
    pump(service, lambda: rows(engine, TriggerEvent))
    [event] = rows(engine, TriggerEvent)
    assert event.outcome == "rejected"
    assert event.reason.startswith("privacy")
    assert "ana.pop" not in event.reason and "ana.pop" not in event.payload
    assert event.payload == "{}"
    assert service.stats["rejected_privacy"] == 1
    assert rows(engine, Override) == []


def test_storm_from_one_sensor_is_rate_limited_and_other_sensors_get_through(harness, engine):
    service, recorder = harness
    go_online(service, recorder, "scr-1")
    storm = json.dumps(audience(sensor="cam-storm")).encode()
    topic = topics.trigger_topic(recorder.prefix, recorder.store, "cam-storm")
    for _ in range(1000):
        recorder.client.publish(topic, storm, qos=1)
    recorder.trigger("cam-calm", audience(sensor="cam-calm"))
    pump(service, lambda: service.stats["triggers"] >= 1001)
    time.sleep(1.1)  # let the refusal window close, so its row is booked
    service.step(0.0)

    burst = service.settings.trigger_burst
    assert service.stats["rate_limited"] >= 1000 - burst - 40  # a few tokens refill meanwhile
    limited = rows(engine, TriggerEvent, TriggerEvent.outcome == "rate_limited")
    assert 1 <= len(limited) <= 10  # aggregated, not one row per refused trigger
    assert sum(json.loads(r.payload)["refused"] for r in limited) == service.stats["rate_limited"]
    calm = rows(engine, TriggerEvent, TriggerEvent.sensor_id == "cam-calm")
    assert [e.outcome for e in calm] == ["matched"]


def test_pickup_without_campaign_shows_the_products_promo_slide(harness, engine):
    service, recorder = harness
    go_online(service, recorder, "scr-1")
    recorder.trigger("shelf-1", pickup())
    pump(service, lambda: recorder.of("scr-1", "override"))
    command = protocol.parse_override(recorder.of("scr-1", "override")[0])
    assert command.item.type == "image" and command.item.gtin == PROMO_GTIN
    assert (service.settings.media_dir / command.item.media).is_file()
    [override] = rows(engine, Override)
    assert override.kind == "promo_slide"


# --- overrides --------------------------------------------------------------------------------


def manual_override(engine, zone: str, seconds: float) -> int:
    item = protocol.ScreenItem("announce", "image", 10.0, media=MEDIA_SHA)
    with session_scope(engine) as s:
        row = Override(
            id=reserve_override_ids_in(s.connection(), 1)[0],
            zone_id=zone,
            kind="manual",
            content=protocol.item_json(item),
            priority=90,
            expires_at=datetime.now(UTC) + timedelta(seconds=seconds),
            created_by="ana",
        )
        s.add(row)
        s.flush()
        return row.id


def test_manual_override_is_published_once_to_the_zone(harness, engine):
    service, recorder = harness
    go_online(service, recorder, "scr-1", "scr-2")
    override_id = manual_override(engine, "dairy", 60)
    pump(service, lambda: recorder.of("scr-2", "override"))
    for _ in range(3):
        service.step(0.6)  # later polls must not publish it again
    assert [protocol.parse_override(p).override_id for p in recorder.of("scr-1", "override")] == [
        override_id
    ]


def test_override_for_offline_player_is_held_until_it_comes_online(harness, engine):
    service, recorder = harness
    go_online(service, recorder, "scr-1")
    recorder.trigger("cam-1", audience())
    pump(service, lambda: recorder.of("scr-1", "override"))
    assert recorder.of("scr-2", "override") == []
    go_online(service, recorder, "scr-2")
    pump(service, lambda: recorder.of("scr-2", "override"))
    assert recorder.of("scr-2", "override") == recorder.of("scr-1", "override")


def test_held_override_is_dropped_when_it_expires_and_reverted_where_shown(harness, engine):
    service, recorder = harness
    go_online(service, recorder, "scr-1")
    override_id = manual_override(engine, "dairy", 1.0)
    pump(service, lambda: recorder.of("scr-1", "override"))
    pump(service, lambda: recorder.of("scr-1", "revert"))
    assert protocol.parse_revert(recorder.of("scr-1", "revert")[0]).override_id == override_id
    [row] = rows(engine, Override)
    assert row.state == "expired"
    go_online(service, recorder, "scr-2")  # back after the expiry: nothing to show
    service.step(0.1)
    assert recorder.of("scr-2", "override") == []


# --- player status and proof of play ----------------------------------------------------------


def test_player_status_and_unknown_player(harness, engine):
    service, recorder = harness
    go_online(service, recorder, "scr-1")
    recorder.status("scr-404", "online")
    recorder.status("scr-404", "online")
    pump(service, lambda: rows(engine, Incident, Incident.kind == "unknown_player"))
    service.step(0.2)
    [player] = rows(engine, Player, Player.id == "scr-1")
    assert player.online and player.now_playing == "welcome" and player.last_seen is not None
    assert len(rows(engine, Incident, Incident.kind == "unknown_player")) == 1
    recorder.status("scr-1", "offline")
    pump(service, lambda: "scr-1" not in service.online_players())
    [player] = rows(engine, Player, Player.id == "scr-1")
    assert not player.online


def test_proof_of_play_is_stored_and_sets_last_pop(harness, engine):
    from esl_controller.models import Play

    service, recorder = harness
    start = datetime.now(UTC) - timedelta(seconds=20)
    end = start + timedelta(seconds=10)
    play = protocol.Play(str(uuid.uuid4()), "scr-1", "welcome", start, end)
    recorder.send(
        topics.pop_topic(recorder.prefix, recorder.store, "scr-1"), protocol.pop_payload([play])
    )
    pump(service, lambda: rows(engine, Play, Play.play_id == play.play_id))
    [stored] = rows(engine, Play, Play.play_id == play.play_id)
    assert (stored.player_id, stored.item_id, stored.campaign_id) == ("scr-1", "welcome", None)
    [player] = rows(engine, Player, Player.id == "scr-1")
    assert player.last_pop_at is not None
    assert service.stats["plays_accepted"] == 1


# --- schedules ----------------------------------------------------------------------------------

PLAYLIST = """\
title: Dairy all day
priority: 10
targets: {zones: [dairy]}
items:
  - {id: welcome, type: image, file: welcome.png, duration: 10}
  - {id: coffee, type: promo_slide, gtin: "GTIN", duration: 8}
""".replace("GTIN", PROMO_GTIN)


def playlist_messages(recorder: Recorder, player: str) -> list[protocol.PlaylistMessage]:
    return [protocol.parse_playlist_message(p) for p in recorder.of(player, "playlist") if p]


def test_playlist_published_retained_and_republished_when_the_file_changes(harness, engine):
    service, recorder = harness
    path = service.settings.playlists_dir / "dairy.yaml"
    path.write_text(PLAYLIST)
    pump(service, lambda: playlist_messages(recorder, "scr-1"))
    [first] = playlist_messages(recorder, "scr-1")
    assert first.playlist == "dairy" and [i.id for i in first.items] == ["welcome", "coffee"]
    assert first.items[1].type == "image" and first.items[1].gtin == PROMO_GTIN
    # retained: a player connecting now gets it at once
    late = Recorder(service.settings.mqtt_url, recorder.prefix, recorder.store)
    try:
        deadline = time.monotonic() + 10
        while not late.of("scr-1", "playlist") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert late.messages  # the retained copies arrived on subscribe
        assert all(retained for msgs in late.messages.values() for _p, retained in msgs)
    finally:
        late.client.loop_stop()
        late.client.disconnect()
    assert playlist_messages(recorder, "scr-3")[0].playlist is None  # not targeted

    path.write_text(PLAYLIST.replace("duration: 10", "duration: 12"))
    pump(service, lambda: len(playlist_messages(recorder, "scr-1")) == 2)
    assert playlist_messages(recorder, "scr-1")[-1].items[0].duration_s == 12.0

    path.write_text(PLAYLIST.replace("duration: 10", "duration: -1"))  # a bad edit
    pump(service, lambda: rows(engine, PlaylistFile, PlaylistFile.error.is_not(None)))
    [row] = rows(engine, PlaylistFile)
    assert "dairy.yaml" in row.error and "duration" in row.error
    assert "duration: 12" in row.source  # the last good version stays
    assert len(playlist_messages(recorder, "scr-1")) == 2  # nothing new on air
    [player] = rows(engine, Player, Player.id == "scr-1")
    assert player.playlist_digest == playlist_messages(recorder, "scr-1")[-1].digest


def test_promo_slide_rerendered_and_republished_when_the_price_changes(harness, engine):
    service, recorder = harness
    (service.settings.playlists_dir / "dairy.yaml").write_text(PLAYLIST)
    pump(service, lambda: playlist_messages(recorder, "scr-1"))
    before = playlist_messages(recorder, "scr-1")[-1].items[1].media
    with session_scope(engine) as s:
        product = s.scalars(select(Product).where(Product.gtin == PROMO_GTIN)).one()
        product.price_minor, product.updated_at = 3999, datetime.now(UTC)
    pump(service, lambda: len(playlist_messages(recorder, "scr-1")) == 2)
    after = playlist_messages(recorder, "scr-1")[-1].items[1].media
    assert after != before
    assert (service.settings.media_dir / after).is_file()


# --- retention ---------------------------------------------------------------------------------


def test_old_trigger_events_are_rolled_up_and_deleted(harness, engine):
    service, _recorder = harness
    old = datetime.now(UTC) - timedelta(days=2)
    with session_scope(engine) as s:
        for count in (3, 5):
            s.add(
                TriggerEvent(
                    store_id=service.settings.store_id,
                    sensor_id="cam-1",
                    kind="audience",
                    zone_id="dairy",
                    received_at=old,
                    payload=json.dumps({"count": count}),
                    outcome="matched",
                )
            )
        s.add(
            TriggerEvent(
                store_id=service.settings.store_id,
                sensor_id="cam-9",
                kind="unknown",
                received_at=old,
                payload=json.dumps({"refused": 700}),
                outcome="rate_limited",
            )
        )
        s.add(
            TriggerEvent(
                store_id=service.settings.store_id,
                sensor_id="cam-1",
                kind="audience",
                zone_id="dairy",
                payload=json.dumps({"count": 1}),
                outcome="matched",
            )
        )  # recent
    service.step(0.0)
    remaining = rows(engine, TriggerEvent)
    assert [e.sensor_id for e in remaining] == ["cam-1"] and remaining[0].received_at > old
    aggregates = {(a.kind, a.outcome): a for a in rows(engine, TriggerAggregate)}
    assert aggregates[("audience", "matched")].count == 2
    assert aggregates[("audience", "matched")].audience_sum == 8
    hour = old.replace(minute=0, second=0, microsecond=0)
    assert aggregates[("audience", "matched")].hour == hour
    assert aggregates[("unknown", "rate_limited")].count == 700


def test_trigger_accepted_over_http_is_acted_on_by_the_worker(harness, engine):
    from esl_controller.web.trigger_intake import receive_trigger

    service, recorder = harness
    go_online(service, recorder, "scr-1")
    body = json.dumps(audience(sensor="app")).encode()
    with session_scope(engine) as s:
        event_id = receive_trigger(s, service.settings, body, "app", datetime.now(UTC)).id
    pump(service, lambda: recorder.of("scr-1", "override"))
    [event] = rows(engine, TriggerEvent, TriggerEvent.id == event_id)
    assert event.outcome == "matched"
    assert protocol.parse_override(recorder.of("scr-1", "override")[0]).trigger_id == event_id


def test_trigger_and_manual_overrides_share_one_id_sequence(harness, engine):
    service, recorder = harness
    go_online(service, recorder, "scr-1")
    recorder.trigger("cam-1", audience())
    pump(service, lambda: len(recorder.of("scr-1", "override")) == 1)
    manual_id = manual_override(engine, "dairy", 60)  # taken while the service holds a block
    pump(service, lambda: len(recorder.of("scr-1", "override")) == 2)
    recorder.trigger("cam-2", audience(sensor="cam-2"))
    pump(service, lambda: len(recorder.of("scr-1", "override")) == 3)

    published = [protocol.parse_override(p) for p in recorder.of("scr-1", "override")]
    assert len({c.override_id for c in published}) == 3
    assert manual_id in {c.override_id for c in published}
    stored = {o.id: o for o in rows(engine, Override)}
    assert set(stored) == {c.override_id for c in published}
    events = {e.id: e for e in rows(engine, TriggerEvent)}
    for command in published:
        if command.trigger_id is not None:
            assert events[command.trigger_id].override_id == command.override_id
            assert stored[command.override_id].trigger_event_id == command.trigger_id
