"""Simulated signage players: real MQTT peers speaking the signage part of docs/protocol.md.

`esl-controller sim player` runs one or more screens in one process. Each player has its
own MQTT connection (the last will is per connection) and one display thread that
follows the retained playlist, lets overrides interrupt it, fetches media over HTTP by
content hash (revalidating with If-None-Match), and reports every item it showed as a
proof of play. Plays are buffered while the player is offline and replayed after it
reconnects, each under its own play id, so the controller can book them exactly once.

Time: item durations are divided by `speed` so tests run fast; override expiry uses the
true clock (the controller's absolute `expires_at`); proof-of-play times are the player's
LOCAL time (`utc_offset_minutes`), optionally skewed by `clock_offset_s` to model a
player whose clock is wrong.

Payloads come from `esl_controller.signage.protocol`, topics from the MQTT driver's
`esl_controller.signage.drivers.mqtt.topics`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import paho.mqtt.client as paho
import requests

from esl_controller.mqtt import parse_mqtt_url
from esl_controller.signage import protocol
from esl_controller.signage.drivers.mqtt import topics
from esl_controller.sims.running import report_until_interrupted

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 15.0
FETCH_TIMEOUT_S = 5.0
POP_BATCH_SIZE = 20  # plays per proof-of-play message
POP_INTERVAL_S = 1.0  # a play waits at most this long (real time) before it is sent
BUFFER_LIMIT = 10_000  # plays kept while offline; beyond that the oldest are dropped
RETRY_S = 1.0  # (scaled by speed) how long to keep the current item when nothing else loads
MAX_WAIT_S = 0.25  # the display loop re-checks at least this often
INFLIGHT_DRAIN_S = 2.0


@dataclass(frozen=True)
class _Showing:
    """What is on screen now."""

    item: protocol.ScreenItem
    override: protocol.OverrideCommand | None
    started_wall: datetime  # true UTC, converted to the player's local clock for the play
    ends: float  # time.monotonic() when a scheduled item is done


@dataclass(frozen=True)
class _Target:
    item: protocol.ScreenItem
    override: protocol.OverrideCommand | None = None
    index: int | None = None  # position in the playlist for a scheduled item


class _Player:
    """One simulated screen: an MQTT session, a media cache, a display thread."""

    def __init__(self, sim: PlayerSim, player_id: str, rng: random.Random) -> None:
        self.sim = sim
        self.id = player_id
        self.rng = rng
        self.lock = threading.Condition()
        self.connected = threading.Event()
        self.sending = threading.Event()  # set while the network is up (go_offline clears it)
        self.client: paho.Client | None = None
        self.http = requests.Session()
        self.cache: dict[str, bytes] = {}  # sha256 -> media bytes
        self.playlist: protocol.PlaylistMessage | None = None
        self.next_index = 0
        self.override: protocol.OverrideCommand | None = None
        self.current: _Showing | None = None
        self.shown: list[str] = []
        self.failed_in_a_row = 0
        self.retry_after = 0.0
        self.blank_since: float | None = None
        self.pending: deque[protocol.Play] = deque()
        self.oldest_pending = 0.0  # monotonic time the oldest unsent play was queued
        self.inflight: list[tuple[paho.MQTTMessageInfo, list[protocol.Play]]] = []
        self.announced: tuple[str | None, int | None] | None = None  # last status sent
        self.thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- MQTT session ----------------------------------------------------------------------

    @property
    def status_topic(self) -> str:
        return topics.player_status_topic(self.sim.prefix, self.sim.store, self.id)

    def connect(self) -> None:
        target = self.sim.target
        client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            # the prefix too: two test runs on one broker must not evict each other
            client_id=f"player-{self.sim.prefix}-{self.sim.store}-{self.id}",
            clean_session=True,
        )
        if target.username:
            client.username_pw_set(target.username, target.password)
        if target.tls:
            client.tls_set()
        offline = protocol.player_status_payload(protocol.OFFLINE_STATUS)
        client.will_set(self.status_topic, offline, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client
        self.sending.set()
        client.connect_async(target.host, target.port, keepalive=30)
        client.loop_start()

    def _on_connect(self, client, _userdata, _flags, reason_code, _props) -> None:
        if reason_code.is_failure:
            log.error("player %s: connection refused: %s", self.id, reason_code)
            return
        wanted = topics.player_subscriptions(self.sim.prefix, self.sim.store, self.id)
        client.subscribe([(topic, 1) for topic in wanted])

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _props) -> None:
        # Online only once subscribed: an override published before that would be lost.
        if any(code.is_failure for code in reason_codes):
            log.error("player %s: subscription refused: %s", self.id, reason_codes)
            return
        self.connected.set()
        self.publish_status()
        with self.lock:
            self.lock.notify_all()  # replay buffered plays now

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _props) -> None:
        self.connected.clear()
        log.info("player %s disconnected (%s)", self.id, reason_code)

    def _on_message(self, _client, _userdata, message: paho.MQTTMessage) -> None:
        try:
            parsed = topics.parse_topic(self.sim.prefix, message.topic)
            if parsed.player != self.id:
                return
            if parsed.kind == "playlist":
                self._receive_playlist(protocol.parse_playlist_message(message.payload))
            elif parsed.kind == "override":
                self._receive_override(protocol.parse_override(message.payload))
            elif parsed.kind == "revert":
                self._receive_revert(protocol.parse_revert(message.payload))
        except protocol.SignageProtocolError as exc:
            self.sim.bad_messages[self.id] += 1
            log.warning("player %s: ignoring %s: %s", self.id, message.topic, exc)

    def publish_status(self, state: str = "online") -> paho.MQTTMessageInfo | None:
        client = self.client
        if client is None:
            return None
        with self.lock:
            showing = self.current
            status = protocol.PlayerStatus(
                state=state,
                now_playing=showing.item.id if showing and state == "online" else None,
                override_id=(
                    showing.override.override_id
                    if showing and showing.override and state == "online"
                    else None
                ),
                cache_items=len(self.cache),
            )
        payload = protocol.player_status_payload(status)
        return client.publish(self.status_topic, payload, qos=1, retain=True)

    def _announce_changes(self) -> None:
        """A retained status whenever what is on screen changed (never under self.lock:
        paho holds its own locks while it calls our callbacks)."""
        with self.lock:
            showing = self.current
            on_screen = (
                showing.item.id if showing else None,
                showing.override.override_id if showing and showing.override else None,
            )
        if on_screen != self.announced and self.connected.is_set() and self.sending.is_set():
            self.announced = on_screen
            self.publish_status()

    def drop_connection(self) -> None:
        """Lose the network without DISCONNECT, so the broker publishes the last will."""
        self.sending.clear()
        self._drain_inflight(INFLIGHT_DRAIN_S)
        client, self.client = self.client, None
        if client is None:
            return
        client.loop_stop()
        sock = client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):  # already gone is fine
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.connected.clear()
        with self.lock:
            self._requeue_unconfirmed()

    def disconnect(self) -> None:
        client, self.client = self.client, None
        self.connected.clear()
        if client is not None:
            client.disconnect()
            client.loop_stop()

    # -- commands from the controller --------------------------------------------------------

    def _receive_playlist(self, message: protocol.PlaylistMessage) -> None:
        if message.player != self.id:
            raise protocol.SignageProtocolError(
                f"playlist addressed to player {message.player!r} arrived on {self.id!r}'s topic"
            )
        with self.lock:
            if self.playlist is not None and self.playlist.digest == message.digest:
                return  # a re-delivery: nothing changed
            self.playlist = message
            self.failed_in_a_row = 0
            self.retry_after = 0.0
            ids = [item.id for item in message.items]
            showing = self.current
            if showing is not None and showing.override is None and showing.item.id in ids:
                self.next_index = ids.index(showing.item.id) + 1
            else:
                self.next_index = 0
            self.lock.notify_all()

    def _receive_override(self, command: protocol.OverrideCommand) -> None:
        with self.lock:
            active = self.override
            if active is not None and active.override_id == command.override_id:
                return  # a QoS 1 re-delivery
            if command.expires_at <= datetime.now(UTC):
                self.sim.expired_overrides[self.id] += 1
                return
            if active is not None and command.priority < active.priority:
                self.sim.ignored_overrides[self.id] += 1
                return
            self.override = command
            self.lock.notify_all()

    def _receive_revert(self, command: protocol.RevertCommand) -> None:
        with self.lock:
            if self.override is not None and self.override.override_id == command.override_id:
                self.override = None
                self.lock.notify_all()

    # -- the screen ----------------------------------------------------------------------------

    def start_display(self) -> None:
        self._stop.clear()
        self.thread = threading.Thread(target=self._display_loop, name=f"player-{self.id}")
        self.thread.daemon = True
        self.thread.start()

    def stop_display(self) -> None:
        self._stop.set()
        with self.lock:
            self.lock.notify_all()
        if self.thread is not None:
            self.thread.join(timeout=10)
        with self.lock:
            self._finish_current(time.monotonic())

    def _display_loop(self) -> None:
        while not self._stop.is_set():
            target = self._wanted()
            if target is not None:
                self._switch_to(target)
            self._announce_changes()
            self._send_plays()
            with self.lock:
                self._count_blank(time.monotonic())
                if not self._stop.is_set():
                    self.lock.wait(self._sleep_s())

    def _wanted(self) -> _Target | None:
        """What should replace the current item now, or None when it stays."""
        now = time.monotonic()
        with self.lock:
            override = self.override
            if override is not None and override.expires_at <= datetime.now(UTC):
                self.override = override = None
            showing = self.current
            if override is not None:
                same = showing is not None and showing.override == override
                if not same or now >= showing.ends:
                    return _Target(override.item, override)
                return None
            if now < self.retry_after:
                return None
            if showing is None or showing.override is not None or now >= showing.ends:
                return self._next_scheduled()
            items = self.playlist.items if self.playlist else ()
            if showing.item not in items:  # a new playlist dropped what is on screen
                return self._next_scheduled()
            return None

    def _next_scheduled(self) -> _Target | None:
        items = self.playlist.items if self.playlist else ()
        if not items:
            if self.current is not None:
                self._finish_current(time.monotonic())  # nothing scheduled: idle screen
            return None
        index = self.next_index % len(items)
        return _Target(items[index], None, index)

    def _switch_to(self, target: _Target) -> None:
        # Load first, switch after: the old item stays on screen while the new one loads,
        # so a screen is never blank between two items.
        loaded = self._load_media(target.item)
        now = time.monotonic()
        with self.lock:
            if not loaded:
                self._skip(target, now)
                return
            if target.override is not None and self.override != target.override:
                return  # reverted or superseded while loading
            self._finish_current(now)
            self._count_blank(now)
            self.blank_since = None
            self.current = _Showing(
                target.item,
                target.override,
                datetime.now(UTC),
                now + target.item.duration_s / self.sim.speed,
            )
            self.shown.append(target.item.id)
            self.failed_in_a_row = 0
            if target.index is not None:
                self.next_index = target.index + 1

    def _count_blank(self, now: float) -> None:
        if self.blank_since is not None:
            self.sim.blank_seconds[self.id] += now - self.blank_since
            self.blank_since = now

    def _skip(self, target: _Target, now: float) -> None:
        """An item whose media cannot be had is skipped; the screen keeps what it shows."""
        self.sim.skipped[self.id] += 1
        if target.override is not None:
            if self.override == target.override:
                self.override = None  # nothing to show for it: back to the schedule
            return
        self.failed_in_a_row += 1
        self.next_index = (target.index or 0) + 1
        items = self.playlist.items if self.playlist else ()
        if self.failed_in_a_row >= len(items):
            # Nothing in the playlist loads: keep the current item on, try again later.
            self.failed_in_a_row = 0
            self.retry_after = now + RETRY_S / self.sim.speed
            if self.current is None and self.blank_since is None:
                self.blank_since = now

    def _finish_current(self, now: float) -> None:
        showing, self.current = self.current, None
        if showing is None:
            return
        ended_wall = datetime.now(UTC)
        if ended_wall <= showing.started_wall:
            return  # shown for no measurable time: not a play
        override = showing.override
        play = protocol.Play(
            play_id=str(uuid.uuid4()),
            player=self.id,
            item=showing.item.id,
            started_at=self.sim.local_time(showing.started_wall),
            ended_at=self.sim.local_time(ended_wall),
            creative_id=override.creative_id if override else None,
            campaign_id=override.campaign_id if override else None,
            override_id=override.override_id if override else None,
            trigger_id=override.trigger_id if override else None,
        )
        self._buffer(play, now)

    def _sleep_s(self) -> float:
        now = time.monotonic()
        deadlines = [now + MAX_WAIT_S]
        if self.current is not None:
            deadlines.append(self.current.ends)
        if self.retry_after > now:
            deadlines.append(self.retry_after)
        if self.pending:
            deadlines.append(self.oldest_pending + POP_INTERVAL_S)
        if self.override is not None:
            remaining = (self.override.expires_at - datetime.now(UTC)).total_seconds()
            deadlines.append(now + remaining)
        return max(0.0, min(deadlines) - now)

    # -- media ------------------------------------------------------------------------------

    def _load_media(self, item: protocol.ScreenItem) -> bool:
        """Make sure the item's media is in the cache (revalidated); False if it cannot be."""
        if item.media is None:
            return True  # a web page: the browser loads it
        playlist = self.playlist
        if playlist is None:
            return item.media in self.cache
        cached = item.media in self.cache
        headers = {"If-None-Match": f'"{item.media}"'} if cached else {}
        try:
            if self.rng.random() < self.sim.fetch_fail_rate:
                raise requests.ConnectionError("simulated network failure")
            response = self.http.get(
                playlist.media_url(item), headers=headers, timeout=FETCH_TIMEOUT_S
            )
        except requests.RequestException as exc:
            self.sim.fetch_errors[self.id] += 1
            log.warning("player %s: fetching %s failed: %s", self.id, item.media, exc)
            return cached  # the cached copy is still good: media are immutable
        if response.status_code == 304 and cached:
            self.sim.not_modified[self.id] += 1
            return True
        if response.status_code == 200:
            if hashlib.sha256(response.content).hexdigest() != item.media:
                self.sim.fetch_errors[self.id] += 1
                log.warning("player %s: %s arrived corrupted", self.id, item.media)
                return cached
            self.sim.fetches[self.id] += 1
            self.cache[item.media] = response.content
            return True
        self.sim.fetch_errors[self.id] += 1
        log.warning("player %s: media %s: HTTP %s", self.id, item.media, response.status_code)
        return cached

    # -- proof of play ------------------------------------------------------------------------

    def _buffer(self, play: protocol.Play, now: float) -> None:
        if not self.pending:
            self.oldest_pending = now
        self.pending.append(play)
        while len(self.pending) > self.sim.buffer_limit:
            self.pending.popleft()
            self.sim.dropped_plays[self.id] += 1

    def _send_plays(self) -> None:
        """Publish due batches; a play leaves the buffer only when the broker confirmed it."""
        client = self.client
        with self.lock:
            self._collect_confirmed()
            if client is None or not (self.connected.is_set() and self.sending.is_set()):
                return
            due = self.pending and (
                len(self.pending) >= POP_BATCH_SIZE
                or time.monotonic() - self.oldest_pending >= POP_INTERVAL_S
            )
            if not due:
                return
            batches = []
            while self.pending:
                size = min(POP_BATCH_SIZE, len(self.pending))
                batches.append([self.pending.popleft() for _ in range(size)])
        # Published outside self.lock: paho calls our callbacks holding its own locks.
        topic = topics.pop_topic(self.sim.prefix, self.sim.store, self.id)
        sent = [(client.publish(topic, protocol.pop_payload(b), qos=1), b) for b in batches]
        with self.lock:
            if self.client is client:
                self.inflight.extend(sent)
            else:  # the connection went away meanwhile: these go again, same play ids
                for _info, batch in reversed(sent):
                    self.pending.extendleft(reversed(batch))

    def _collect_confirmed(self) -> None:
        still = []
        for info, batch in self.inflight:
            if _published(info):
                self.sim.plays_sent[self.id] += len(batch)
            else:
                still.append((info, batch))
        self.inflight = still

    def _requeue_unconfirmed(self) -> None:
        """Batches the broker never confirmed go back to the front, same play ids."""
        self._collect_confirmed()
        for _info, batch in reversed(self.inflight):
            self.pending.extendleft(reversed(batch))
        self.inflight = []
        while len(self.pending) > self.sim.buffer_limit:
            self.pending.popleft()
            self.sim.dropped_plays[self.id] += 1

    def _drain_inflight(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                self._collect_confirmed()
                if not self.inflight:
                    return
            time.sleep(0.01)

    def flush(self, timeout: float) -> None:
        """Send every buffered play now and wait for the broker to confirm them."""
        with self.lock:
            self.oldest_pending = -POP_INTERVAL_S  # make the whole buffer due
        self._send_plays()
        self._drain_inflight(timeout)

    def buffered(self) -> int:
        with self.lock:
            return len(self.pending) + sum(len(batch) for _info, batch in self.inflight)


def _published(info: paho.MQTTMessageInfo) -> bool:
    try:
        return info.is_published()
    except (ValueError, RuntimeError):
        return False


class PlayerSim:
    """One or more simulated signage players of a store, each a real MQTT client."""

    def __init__(
        self,
        mqtt_url: str,
        prefix: str,
        store: str,
        players: list[str],
        speed: float = 1.0,
        seed: int = 0,
        clock_offset_s: float = 0.0,
        utc_offset_minutes: int = 120,
        fetch_fail_rate: float = 0.0,
        buffer_limit: int = BUFFER_LIMIT,
    ) -> None:
        if not players:
            raise ValueError("simulate at least one player")
        if len(set(players)) != len(players):
            raise ValueError("player ids must be unique")
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        if not -720 <= utc_offset_minutes <= 840:
            raise ValueError(
                f"utc_offset_minutes must be between -720 and 840, got {utc_offset_minutes}"
            )
        if not 0.0 <= fetch_fail_rate <= 1.0:
            raise ValueError(f"fetch_fail_rate must be between 0 and 1, got {fetch_fail_rate}")
        if buffer_limit < 1:
            raise ValueError(f"buffer_limit must be at least 1, got {buffer_limit}")
        self.target = parse_mqtt_url(mqtt_url)
        self.prefix = prefix
        self.store = store
        self.speed = speed
        self.clock_offset = timedelta(seconds=clock_offset_s)
        self.zone = timezone(timedelta(minutes=utc_offset_minutes))
        self.fetch_fail_rate = fetch_fail_rate
        self.buffer_limit = buffer_limit
        self.fetches: Counter[str] = Counter()  # media downloaded (HTTP 200)
        self.not_modified: Counter[str] = Counter()  # revalidated from cache (HTTP 304)
        self.fetch_errors: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()  # items not shown: their media could not load
        self.plays_sent: Counter[str] = Counter()  # plays the broker confirmed
        self.dropped_plays: Counter[str] = Counter()  # buffer overflow while offline
        self.ignored_overrides: Counter[str] = Counter()  # lower priority than the active one
        self.expired_overrides: Counter[str] = Counter()  # arrived after their expiry
        self.bad_messages: Counter[str] = Counter()  # off-contract commands
        self.blank_seconds: Counter[str] = Counter()  # content expected, nothing on screen
        for player in players:
            topics.player_status_topic(prefix, store, player)  # refuses a bad id early
        self._players = {
            player: _Player(self, player, random.Random(f"{seed}:{player}")) for player in players
        }

    @property
    def players(self) -> list[str]:
        return list(self._players)

    def local_time(self, wall: datetime) -> datetime:
        """What the player's own clock said at true UTC `wall`."""
        return (wall + self.clock_offset).astimezone(self.zone)

    def start(self, timeout: float = CONNECT_TIMEOUT_S) -> PlayerSim:
        for player in self._players.values():
            player.connect()
            player.start_display()
        deadline = time.monotonic() + timeout
        for player in self._players.values():
            if not player.connected.wait(max(0.0, deadline - time.monotonic())):
                self.stop()
                raise ConnectionError(
                    f"player {player.id}: no MQTT connection to "
                    f"{self.target.host}:{self.target.port} after {timeout:.0f} s"
                )
        return self

    def stop(self, timeout: float = INFLIGHT_DRAIN_S) -> None:
        """Clean shutdown: the item on screen ends as a play, buffered plays go out if
        connected, and each player says goodbye with a retained offline status."""
        for player in self._players.values():
            player.stop_display()
            if player.client is not None and player.connected.is_set():
                player.flush(timeout)
                goodbye = player.publish_status("offline")
                if goodbye is not None:
                    with contextlib.suppress(ValueError, RuntimeError):
                        goodbye.wait_for_publish(timeout)
            player.disconnect()

    def go_offline(self, player: str) -> None:
        """The network goes away (no DISCONNECT: the broker publishes the last will).

        The screen keeps playing from its cache; plays are buffered until `go_online`.
        """
        self._player(player).drop_connection()

    def go_online(self, player: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
        """The network is back: reconnect, get the retained playlist, replay buffered plays."""
        sim_player = self._player(player)
        if sim_player.client is None:
            sim_player.connect()
        if not sim_player.connected.wait(timeout):
            raise ConnectionError(f"player {player}: no MQTT connection after {timeout} s")

    def shown(self, player: str) -> list[str]:
        """Item ids the player has put on screen, in order."""
        sim_player = self._player(player)
        with sim_player.lock:
            return list(sim_player.shown)

    def current(self, player: str) -> str | None:
        sim_player = self._player(player)
        with sim_player.lock:
            return sim_player.current.item.id if sim_player.current else None

    def current_override(self, player: str) -> int | None:
        sim_player = self._player(player)
        with sim_player.lock:
            showing = sim_player.current
            return showing.override.override_id if showing and showing.override else None

    def buffered(self, player: str) -> int:
        """Plays not yet confirmed by the broker (waiting, or sent and unconfirmed)."""
        return self._player(player).buffered()

    def cache_items(self, player: str) -> int:
        return len(self._player(player).cache)

    def totals(self) -> dict[str, float]:
        counters = (
            "fetches",
            "not_modified",
            "fetch_errors",
            "skipped",
            "plays_sent",
            "dropped_plays",
            "ignored_overrides",
            "expired_overrides",
            "bad_messages",
            "blank_seconds",
        )
        return {name: sum(getattr(self, name).values()) for name in counters}

    def _player(self, player: str) -> _Player:
        try:
            return self._players[player]
        except KeyError:
            raise KeyError(f"this simulator does not run player {player!r}") from None


# --- command line -------------------------------------------------------------------------------


def player_names(players: str | None, count: int | None, zone: str | None) -> list[str]:
    """`a,b` as given, or `--count 3 --zone dairy` as dairy-01..dairy-03."""
    if players and count:
        raise ValueError("give --players or --count, not both")
    if count is not None:
        if count < 1:
            raise ValueError(f"--count must be at least 1, got {count}")
        width = max(2, len(str(count)))
        return [f"{zone or 'screen'}-{n:0{width}d}" for n in range(1, count + 1)]
    names = [name.strip() for name in (players or "screen-01").split(",") if name.strip()]
    if not names:
        raise ValueError("--players lists no player")
    return names


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esl-controller sim player",
        description="Simulated signage players speaking docs/protocol.md over MQTT and HTTP.",
    )
    parser.add_argument(
        "--mqtt-url", default=os.environ.get("ESL_MQTT_URL") or "mqtt://127.0.0.1:1883"
    )
    parser.add_argument("--prefix", default=os.environ.get("ESL_TOPIC_PREFIX", "esl"))
    parser.add_argument("--store", default=os.environ.get("ESL_STORE_ID", "store-1"))
    parser.add_argument("--players", help="comma-separated ids, e.g. screen-01,screen-02")
    parser.add_argument("--count", type=int, help="simulate N players named <zone>-01..")
    parser.add_argument("--zone", help="name prefix for --count (e.g. dairy)")
    parser.add_argument("--speed", type=float, default=1.0, help="play items N times faster")
    parser.add_argument("--utc-offset", type=int, default=120, help="player clock, minutes")
    parser.add_argument("--clock-offset", type=float, default=0.0, help="clock error, seconds")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def run_player_sim(argv: list[str] | None = None) -> int:
    """Run simulated players until Ctrl-C; the exit code for the shell."""
    parser = _argument_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        sim = PlayerSim(
            args.mqtt_url,
            args.prefix,
            args.store,
            player_names(args.players, args.count, args.zone),
            speed=args.speed,
            seed=args.seed,
            clock_offset_s=args.clock_offset,
            utc_offset_minutes=args.utc_offset,
        ).start()
    except (ValueError, protocol.SignageProtocolError, ConnectionError) as exc:
        parser.error(str(exc))
    log.info(
        "simulating %d player(s) of %s under %s/ on %s:%s; Ctrl-C stops",
        len(sim.players),
        args.store,
        args.prefix,
        sim.target.host,
        sim.target.port,
    )
    return report_until_interrupted(sim, log)
