"""The player simulator against the real broker and a real HTTP media server."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from esl_controller.config import Settings
from esl_controller.signage import protocol
from esl_controller.signage.drivers.mqtt import topics
from esl_controller.sims.player import PlayerSim, player_names, run_player_sim
from tests.sims.conftest import Listener, eventually

pytestmark = pytest.mark.mqtt

RED = b"red image bytes"
BLUE = b"blue image bytes"
GREEN = b"green image bytes"
AD = b"advertiser creative bytes"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *_args: Any, **_kwargs: Any) -> None:
        pass  # hundreds of 304s would drown a failing test's log


class MediaServer:
    """Serves media by sha256 with an ETag and 304s, the way the web app does."""

    def __init__(self, media: list[bytes]) -> None:
        self.media = {sha(data): data for data in media}
        self.requests: list[tuple[str, str | None]] = []  # (sha, If-None-Match)
        self._server = make_server(
            "127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler
        )
        self.base = f"http://127.0.0.1:{self._server.server_port}/media/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        digest = request.path.rsplit("/", 1)[-1]
        match = request.headers.get("If-None-Match")
        self.requests.append((digest, match))
        if digest not in self.media:
            return Response("no such media", status=404)(environ, start_response)
        if match == f'"{digest}"':
            return Response(status=304)(environ, start_response)
        response = Response(self.media[digest], content_type="image/png")
        response.headers["ETag"] = f'"{digest}"'
        return response(environ, start_response)

    def close(self) -> None:
        self._server.shutdown()


def image(item_id: str, data: bytes, duration_s: float) -> protocol.ScreenItem:
    return protocol.ScreenItem(item_id, "image", duration_s, media=sha(data))


@pytest.fixture
def media() -> Iterator[MediaServer]:
    server = MediaServer([RED, BLUE, GREEN, AD])
    yield server
    server.close()


class Controller(Listener):
    """The controller's side of the signage topics: publishes commands, records reports."""

    def __init__(self, settings: Settings, store: str) -> None:
        self.prefix, self.store = settings.topic_prefix, store
        self.retained_topics: set[str] = set()
        super().__init__(settings.mqtt_url, topics.controller_subscriptions(self.prefix, store))

    def send_playlist(
        self, player: str, items: list[protocol.ScreenItem], base: str, name: str = "main"
    ) -> None:
        topic = topics.playlist_topic(self.prefix, self.store, player)
        self.retained_topics.add(topic)
        self.publish(topic, protocol.playlist_payload(player, name, items, None, base), True)

    def send_override(self, player: str, command: protocol.OverrideCommand) -> None:
        topic = topics.override_topic(self.prefix, self.store, player)
        self.publish(topic, protocol.override_payload(command))

    def send_revert(self, player: str, override_id: int) -> None:
        topic = topics.revert_topic(self.prefix, self.store, player)
        self.publish(topic, protocol.revert_payload(override_id))

    def pop_messages(self) -> list[list[protocol.Play]]:
        with self._changed:
            payloads = [p for topic, p, _ in self.messages if topic.endswith("/pop")]
        return [protocol.parse_pops(payload) for payload in payloads]

    def plays(self) -> list[protocol.Play]:
        return [play for batch in self.pop_messages() for play in batch]

    def statuses(self, player: str) -> list[tuple[protocol.PlayerStatus, bool]]:
        topic = topics.player_status_topic(self.prefix, self.store, player)
        with self._changed:
            found = [(p, retained) for t, p, retained in self.messages if t == topic and p]
        return [(protocol.parse_player_status(p), retained) for p, retained in found]

    def last_state(self, player: str) -> str | None:
        statuses = self.statuses(player)
        return statuses[-1][0].state if statuses else None

    def clear_retained(self, players: list[str]) -> None:
        for player in players:
            self.retained_topics.add(topics.player_status_topic(self.prefix, self.store, player))
        for topic in self.retained_topics:
            self.publish(topic, b"", retain=True)


@pytest.fixture
def controller(settings: Settings, store: str) -> Iterator[Controller]:
    controller = Controller(settings, store)
    yield controller
    controller.close()


@pytest.fixture
def make_sim(
    settings: Settings, store: str, controller: Controller, media: MediaServer
) -> Iterator[Callable[..., PlayerSim]]:
    # Depends on `media` and `controller` so simulators stop before those go away.
    sims: list[PlayerSim] = []

    def make(players: list[str] | None = None, **options: Any) -> PlayerSim:
        sim = PlayerSim(
            settings.mqtt_url, settings.topic_prefix, store, players or ["screen-01"], **options
        )
        sims.append(sim.start())
        return sim

    yield make
    for sim in sims:
        sim.stop()
        controller.clear_retained(sim.players)


def override(
    override_id: int, item: protocol.ScreenItem, priority: int = 50, ttl_s: float = 60.0
) -> protocol.OverrideCommand:
    return protocol.OverrideCommand(
        override_id=override_id,
        item=item,
        priority=priority,
        expires_at=datetime.now(UTC) + timedelta(seconds=ttl_s),
        trigger_id=7,
        campaign_id=3,
        creative_id=11,
    )


def cycles(shown: list[str], pattern: list[str]) -> bool:
    return len(shown) >= 2 * len(pattern) and all(
        item == pattern[i % len(pattern)] for i, item in enumerate(shown)
    )


# --- playlist -----------------------------------------------------------------------------------


def test_a_player_that_connects_later_gets_the_retained_playlist_and_cycles_it(
    controller: Controller, make_sim: Callable[..., PlayerSim], media: MediaServer
) -> None:
    items = [image("red", RED, 1), image("blue", BLUE, 1), image("green", GREEN, 1)]
    controller.send_playlist("screen-01", items, media.base)  # before the player exists
    sim = make_sim(speed=50)

    assert eventually(lambda: len(sim.shown("screen-01")) >= 7)
    assert cycles(sim.shown("screen-01"), ["red", "blue", "green"])
    assert controller.wait_for(
        lambda: any(status.now_playing for status, _ in controller.statuses("screen-01"))
    )
    assert controller.statuses("screen-01")[-1][0].state == "online"
    assert sim.totals()["blank_seconds"] == 0


def test_media_are_downloaded_once_then_revalidated_with_304(
    controller: Controller, make_sim: Callable[..., PlayerSim], media: MediaServer
) -> None:
    controller.send_playlist(
        "screen-01", [image("red", RED, 1), image("blue", BLUE, 1)], media.base
    )
    sim = make_sim(speed=50)

    assert eventually(lambda: sim.not_modified["screen-01"] >= 4)
    assert sim.fetches["screen-01"] == 2
    assert sim.cache_items("screen-01") == 2
    assert sim.fetch_errors["screen-01"] == 0
    first_red, *later_red = [match for digest, match in media.requests if digest == sha(RED)]
    assert first_red is None
    assert later_red and set(later_red) == {f'"{sha(RED)}"'}


def test_an_item_whose_media_is_missing_is_skipped_never_blank(
    controller: Controller, make_sim: Callable[..., PlayerSim], media: MediaServer
) -> None:
    missing = image("gone", b"never uploaded", 1)
    items = [image("red", RED, 1), missing, image("blue", BLUE, 1)]
    controller.send_playlist("screen-01", items, media.base)
    sim = make_sim(speed=50)

    assert eventually(lambda: len(sim.shown("screen-01")) >= 6)
    assert "gone" not in sim.shown("screen-01")
    assert cycles(sim.shown("screen-01"), ["red", "blue"])
    assert sim.skipped["screen-01"] >= 2
    assert sim.fetch_errors["screen-01"] >= 2
    assert sim.blank_seconds["screen-01"] == 0


def test_a_screen_with_no_loadable_media_counts_its_blank_time(
    controller: Controller, make_sim: Callable[..., PlayerSim], media: MediaServer
) -> None:
    controller.send_playlist("screen-01", [image("red", RED, 1)], media.base)
    sim = make_sim(speed=50, fetch_fail_rate=1.0)

    assert eventually(lambda: sim.blank_seconds["screen-01"] > 0)
    assert sim.shown("screen-01") == []
    assert sim.skipped["screen-01"] >= 1
    assert sim.fetch_errors["screen-01"] >= 1


def test_a_new_playlist_takes_over_at_once(
    controller: Controller, make_sim: Callable[..., PlayerSim], media: MediaServer
) -> None:
    controller.send_playlist("screen-01", [image("red", RED, 600)], media.base)
    sim = make_sim()
    assert eventually(lambda: sim.current("screen-01") == "red")

    controller.send_playlist("screen-01", [image("blue", BLUE, 600)], media.base, name="b")

    assert eventually(lambda: sim.current("screen-01") == "blue")
    assert sim.shown("screen-01") == ["red", "blue"]


def test_an_off_contract_command_is_counted_and_ignored(
    controller: Controller,
    make_sim: Callable[..., PlayerSim],
    media: MediaServer,
    settings: Settings,
    store: str,
) -> None:
    controller.send_playlist("screen-01", [image("red", RED, 600)], media.base)
    sim = make_sim()
    assert eventually(lambda: sim.current("screen-01") == "red")

    topic = topics.override_topic(settings.topic_prefix, store, "screen-01")
    controller.publish(topic, b'{"v":1,"override_id":"seven"}')

    assert eventually(lambda: sim.bad_messages["screen-01"] == 1)
    assert sim.current("screen-01") == "red"


# --- overrides ----------------------------------------------------------------------------------


def test_an_override_interrupts_and_on_expiry_the_schedule_resumes_with_the_next_item(
    controller: Controller, make_sim: Callable[..., PlayerSim], media: MediaServer
) -> None:
    controller.send_playlist(
        "screen-01", [image("red", RED, 600), image("blue", BLUE, 600)], media.base
    )
    sim = make_sim()
    assert eventually(lambda: sim.current("screen-01") == "red")

    controller.send_override("screen-01", override(1, image("ad", AD, 0.2), ttl_s=1.0))

    assert eventually(lambda: sim.current("screen-01") == "blue")
    shown = sim.shown("screen-01")
    assert shown[0] == "red" and shown[-1] == "blue"
    assert set(shown[1:-1]) == {"ad"}  # the ad loops for its whole TTL
    assert sim.blank_seconds["screen-01"] == 0
    sim.stop()
    plays = controller.plays()
    ad_plays = [play for play in plays if play.item == "ad"]
    assert ad_plays and all(
        (p.override_id, p.campaign_id, p.creative_id, p.trigger_id) == (1, 3, 11, 7)
        for p in ad_plays
    )
    assert [p.override_id for p in plays if p.item != "ad"] == [None, None]


def test_a_revert_returns_to_the_schedule_at_once(
    controller: Controller, make_sim: Callable[..., PlayerSim], media: MediaServer
) -> None:
    controller.send_playlist(
        "screen-01", [image("red", RED, 600), image("blue", BLUE, 600)], media.base
    )
    sim = make_sim()
    assert eventually(lambda: sim.current("screen-01") == "red")
    controller.send_override("screen-01", override(5, image("ad", AD, 600), ttl_s=600))
    assert eventually(lambda: sim.current_override("screen-01") == 5)
    assert controller.wait_for(
        lambda: any(s.override_id == 5 for s, _ in controller.statuses("screen-01"))
    )

    controller.send_revert("screen-01", 4)  # not the one on screen: ignored
    controller.send_revert("screen-01", 5)

    assert eventually(lambda: sim.current("screen-01") == "blue")
    assert sim.shown("screen-01") == ["red", "ad", "blue"]
    assert sim.blank_seconds["screen-01"] == 0


def test_a_lower_priority_override_is_ignored_while_a_higher_one_is_active(
    controller: Controller, make_sim: Callable[..., PlayerSim], media: MediaServer
) -> None:
    controller.send_playlist("screen-01", [image("red", RED, 600)], media.base)
    sim = make_sim()
    assert eventually(lambda: sim.current("screen-01") == "red")
    controller.send_override("screen-01", override(1, image("ad", AD, 600), priority=50))
    assert eventually(lambda: sim.current_override("screen-01") == 1)

    controller.send_override("screen-01", override(2, image("blue", BLUE, 600), priority=10))
    assert eventually(lambda: sim.ignored_overrides["screen-01"] == 1)
    assert sim.current_override("screen-01") == 1

    controller.send_override("screen-01", override(3, image("green", GREEN, 600), priority=50))
    assert eventually(lambda: sim.current_override("screen-01") == 3)
    assert sim.shown("screen-01") == ["red", "ad", "green"]


def test_an_override_that_arrives_expired_is_not_shown(
    controller: Controller, make_sim: Callable[..., PlayerSim], media: MediaServer
) -> None:
    controller.send_playlist("screen-01", [image("red", RED, 600)], media.base)
    sim = make_sim()
    assert eventually(lambda: sim.current("screen-01") == "red")

    controller.send_override("screen-01", override(9, image("ad", AD, 1), ttl_s=-1))

    assert eventually(lambda: sim.expired_overrides["screen-01"] == 1)
    assert sim.shown("screen-01") == ["red"]


# --- proof of play ------------------------------------------------------------------------------


def test_plays_come_in_batches_with_unique_ids_in_the_players_local_time(
    controller: Controller, make_sim: Callable[..., PlayerSim], media: MediaServer
) -> None:
    controller.send_playlist(
        "screen-01", [image("red", RED, 1), image("blue", BLUE, 1)], media.base
    )
    before = datetime.now(UTC)
    sim = make_sim(speed=50, utc_offset_minutes=180, clock_offset_s=3600)

    assert controller.wait_for(lambda: len(controller.plays()) >= 30)
    batches = controller.pop_messages()
    assert all(1 <= len(batch) <= 20 for batch in batches)
    assert any(len(batch) == 20 for batch in batches)
    plays = controller.plays()
    assert len({play.play_id for play in plays}) == len(plays)
    for play in plays:
        assert play.started_at.utcoffset() == timedelta(hours=3)
        assert play.ended_at > play.started_at
        # The player's clock runs an hour fast: its times lie an hour after the true ones.
        assert play.started_at - before > timedelta(minutes=59)
    assert [play.item for play in plays[:4]] == ["red", "blue", "red", "blue"]
    assert eventually(lambda: sim.plays_sent["screen-01"] >= 30)


def test_plays_are_buffered_offline_and_replayed_exactly_once(
    controller: Controller, make_sim: Callable[..., PlayerSim], media: MediaServer
) -> None:
    controller.send_playlist(
        "screen-01", [image("red", RED, 1), image("blue", BLUE, 1)], media.base
    )
    sim = make_sim(speed=50)
    assert controller.wait_for(lambda: len(controller.plays()) >= 5)

    sim.go_offline("screen-01")
    sent_before = len(controller.plays())
    assert eventually(lambda: sim.buffered("screen-01") >= 25)
    assert len(controller.plays()) == sent_before  # nothing goes out while offline
    buffered = sim.buffered("screen-01")
    sim.go_online("screen-01")
    assert controller.wait_for(lambda: len(controller.plays()) >= sent_before + buffered)
    sim.stop()

    # At least once on the wire: a batch the broker took but had not confirmed when the
    # connection dropped goes again, under the same play ids (the controller books it once).
    first_seen: dict[str, protocol.Play] = {}
    for play in controller.plays():
        assert first_seen.setdefault(play.play_id, play) == play  # a re-send is the same play
    assert len(first_seen) == len(sim.shown("screen-01")) == sim.plays_sent["screen-01"]
    assert [play.item for play in first_seen.values()] == sim.shown("screen-01")
    assert sim.dropped_plays["screen-01"] == 0


def test_a_full_offline_buffer_drops_the_oldest_plays_and_counts_them(
    controller: Controller, make_sim: Callable[..., PlayerSim], media: MediaServer
) -> None:
    controller.send_playlist(
        "screen-01", [image("red", RED, 1), image("blue", BLUE, 1)], media.base
    )
    sim = make_sim(speed=50, buffer_limit=5)
    assert eventually(lambda: sim.current("screen-01") is not None)
    sim.go_offline("screen-01")
    assert eventually(lambda: sim.dropped_plays["screen-01"] >= 3)
    assert sim.buffered("screen-01") == 5
    sim.go_online("screen-01")
    sim.stop()

    plays = controller.plays()
    shown = sim.shown("screen-01")
    assert len(plays) + sim.dropped_plays["screen-01"] == len(shown)
    assert [play.item for play in plays][-3:] == shown[-3:]  # the newest survive


# --- presence -----------------------------------------------------------------------------------


def test_losing_the_network_publishes_the_last_will_and_reconnecting_resumes(
    controller: Controller,
    make_sim: Callable[..., PlayerSim],
    media: MediaServer,
    settings: Settings,
    store: str,
) -> None:
    controller.send_playlist("screen-01", [image("red", RED, 600)], media.base)
    sim = make_sim(["screen-01", "screen-02"])
    assert eventually(lambda: sim.current("screen-01") == "red")

    sim.go_offline("screen-01")
    assert controller.wait_for(lambda: controller.last_state("screen-01") == "offline")
    assert controller.statuses("screen-01")[-1][0] == protocol.OFFLINE_STATUS
    topic = topics.player_status_topic(settings.topic_prefix, store, "screen-01")
    late = Listener(settings.mqtt_url, [topic])
    try:
        assert late.wait_for(lambda: bool(late.messages))
        _topic, payload, retained = late.messages[0]
        assert retained and protocol.parse_player_status(payload).state == "offline"
    finally:
        late.close()
    assert sim.current("screen-01") == "red"  # the screen itself keeps playing

    # A playlist published while the player is away reaches it on reconnect (retained).
    controller.send_playlist("screen-01", [image("blue", BLUE, 600)], media.base, name="b")
    assert sim.current("screen-01") == "red"
    sim.go_online("screen-01")
    assert eventually(lambda: sim.current("screen-01") == "blue")
    assert controller.wait_for(lambda: controller.last_state("screen-01") == "online")


def test_a_clean_stop_says_offline_itself(
    controller: Controller, make_sim: Callable[..., PlayerSim], media: MediaServer
) -> None:
    sim = make_sim()
    assert controller.wait_for(lambda: bool(controller.statuses("screen-01")))
    sim.stop()
    assert controller.wait_for(lambda: controller.last_state("screen-01") == "offline")


# --- construction and command line -------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"players": []}, "at least one player"),
        ({"players": ["a", "a"]}, "unique"),
        ({"speed": 0}, "speed"),
        ({"utc_offset_minutes": 900}, "utc_offset_minutes"),
        ({"fetch_fail_rate": 2}, "fetch_fail_rate"),
        ({"buffer_limit": 0}, "buffer_limit"),
        ({"players": ["bad/id"]}, "player id"),
    ],
)
def test_bad_simulator_settings_are_refused(options: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"players": ["screen-01"], **options}
    with pytest.raises(ValueError, match=message):
        PlayerSim("mqtt://127.0.0.1:1883", "esl", "store-1", **arguments)


def test_player_names_from_a_list_or_a_count() -> None:
    assert player_names("a, b", None, None) == ["a", "b"]
    assert player_names(None, 3, "dairy") == ["dairy-01", "dairy-02", "dairy-03"]
    assert player_names(None, None, None) == ["screen-01"]
    with pytest.raises(ValueError, match="not both"):
        player_names("a", 2, None)
    with pytest.raises(ValueError, match="at least 1"):
        player_names(None, 0, "dairy")


def test_the_command_line_refuses_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_player_sim(["--players", "a", "--count", "2"])
    assert exit_info.value.code == 2
    assert "not both" in capsys.readouterr().err
