"""The browser player (/screen) in real headless chromium against a real WSGI server and
the worker's signage service with the browser channel: pairing from the dashboard, the
playlist in order with its durations, an override on screen at once and gone at its TTL,
and a spell offline whose plays all arrive exactly once."""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.ads.ingest import PlayIngestor
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.models import Incident, Play, ScreenHealth, Zone
from esl_controller.signage import protocol
from esl_controller.signage.drivers.browser import BrowserPlayerChannel, mailbox
from esl_controller.signage.override_ids import reserve_override_ids_in
from esl_controller.signage.service import SignageService
from esl_controller.web import screen_pairing
from tests.web.conftest import browser_log_in

pytestmark = pytest.mark.browser
# Predicates are given as functions: Playwright evaluates an expression string with eval(),
# which the page's strict CSP refuses.

DURATIONS = {"red": 1.0, "green": 1.5, "blue": 2.0}
PLAYLIST = """title: Test loop
priority: 0
targets: {zones: [dairy]}
items:
  - {id: red, type: image, file: red.png, duration: 1.0}
  - {id: green, type: image, file: green.png, duration: 1.5}
  - {id: blue, type: image, file: blue.png, duration: 2.0}
"""
BROKEN_PLAYLIST = """title: A broken item
priority: 0
targets: {zones: [checkout]}
items:
  - {id: red, type: image, file: red.png, duration: 1.0}
  - {id: broken, type: image, file: broken.png, duration: 1.0}
  - {id: green, type: image, file: green.png, duration: 1.0}
"""
SLIDE_PLAYLIST = """title: Promo slides
priority: 0
targets: {zones: [deli]}
items:
  - {id: cascaval, type: promo_slide, gtin: "5940000000011", duration: 30}
"""
UNDECODABLE_PLAYLIST = """title: A video no browser can decode
priority: 0
targets: {zones: [bakery]}
items:
  - {id: red, type: image, file: red.png, duration: 1.0}
  - {id: clip, type: video, file: clip.webm, duration: 1.0}
  - {id: green, type: image, file: green.png, duration: 1.0}
"""
TOLERANCE_S = 0.2


def png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (160, 90), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    folder = tmp_path / "signage_playlists"
    (folder / "media").mkdir(parents=True)
    for colour in DURATIONS:
        (folder / "media" / f"{colour}.png").write_bytes(png(colour))
    (folder / "media" / "override.png").write_bytes(png("yellow"))
    (folder / "media" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)  # no image
    (folder / "loop.yaml").write_text(PLAYLIST)
    (folder / "broken.yaml").write_text(BROKEN_PLAYLIST)
    (folder / "slides.yaml").write_text(SLIDE_PLAYLIST)
    (folder / "media" / "clip.webm").write_bytes(b"\x1aE\xdf\xa3" + b"not a video " * 200)
    (folder / "undecodable.yaml").write_text(UNDECODABLE_PLAYLIST)
    return settings.with_overrides(playlists_dir=folder)


@pytest.fixture
def channel(engine: Engine, settings: Settings) -> BrowserPlayerChannel:
    return BrowserPlayerChannel(engine, settings.store_id)


@pytest.fixture
def worker(engine: Engine, settings: Settings, seed, channel) -> Iterator[SignageService]:
    with session_scope(engine) as session:
        zones = ("dairy", "checkout", "deli", "bakery")
        session.add_all([Zone(id=z, store_id=settings.store_id) for z in zones])
    service = SignageService(
        engine, settings, [channel], ingestor=PlayIngestor(engine, settings)
    ).start()
    yield service
    service.stop()


def plays_of(engine: Engine, player: str) -> list[Play]:
    with Session(engine) as session:
        query = select(Play).where(Play.player_id == player).order_by(Play.started_at)
        return list(session.scalars(query).all())


def wait_until(condition, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def seconds(play: Play) -> float:
    return (play.ended_at - play.started_at).total_seconds()


def pair_from_dashboard(page, context, player: str) -> None:
    page.goto("/screen")
    code = page.locator("#pair-code")
    code.wait_for()
    page.wait_for_function("() => document.getElementById('pair-code').textContent.length === 6")
    manager = context.new_page()
    browser_log_in(manager)
    manager.click("nav >> text=Players")
    form = manager.locator("#pair-screen")
    form.locator("input[name=code]").fill(code.text_content().lower())  # typed in lower case
    form.locator("input[name=id]").fill(player)
    form.locator("input[name=name]").fill("Dairy screen")
    form.locator("input[name=zone]").fill("dairy")
    form.locator("button[type=submit]").click()
    from playwright.sync_api import expect

    expect(manager.locator(".flash-success")).to_contain_text(f"paired with player {player}")
    manager.close()
    expect(page.locator("#pairing")).to_be_hidden()


def test_paired_screen_plays_in_order_then_shows_an_override_until_its_ttl(
    page, live_server: str, worker: SignageService, channel, engine: Engine
) -> None:
    from playwright.sync_api import expect

    pair_from_dashboard(page, page.context, "dairy-1")
    wait_until(lambda: len(plays_of(engine, "dairy-1")) >= 7)

    plays = plays_of(engine, "dairy-1")[1:7]  # the first may start mid-way through a load
    order = list(DURATIONS)
    start = order.index(plays[0].item_id)
    assert [p.item_id for p in plays] == [order[(start + i) % 3] for i in range(6)]
    for play in plays:
        assert abs(seconds(play) - DURATIONS[play.item_id]) <= TOLERANCE_S, play

    with session_scope(engine) as session:
        override_id = reserve_override_ids_in(session.connection(), 1)[0]
    media = (Path(worker.settings.playlists_dir) / "media" / "override.png").read_bytes()
    with session_scope(engine) as session:
        from esl_controller.signage.media import store_media

        sha = store_media(worker.settings, media, "override.png", "image/png", session).sha256
    ttl = 2.0
    sent_at_ms = time.time() * 1000
    command = protocol.OverrideCommand(
        override_id,
        protocol.ScreenItem("flash-sale", "image", 10.0, media=sha),
        priority=90,
        expires_at=datetime.now(UTC) + timedelta(seconds=ttl),
    )
    channel.send_override(["dairy-1"], command)
    expect(page.locator("#layer-override")).to_have_class("layer layer-override on")
    page.wait_for_function("() => document.body.dataset.overrideShownAt !== undefined")
    shown_at_ms = float(page.evaluate("document.body.dataset.overrideShownAt"))
    latency_ms = shown_at_ms - sent_at_ms
    print(f"override on screen {latency_ms:.0f} ms after it was sent")
    assert latency_ms < 500

    expect(page.locator("#layer-override")).to_have_class("layer layer-override")
    wait_until(lambda: any(p.override_id == override_id for p in plays_of(engine, "dairy-1")))
    [shown] = [p for p in plays_of(engine, "dairy-1") if p.override_id == override_id]
    assert shown.item_id == "flash-sale"
    assert abs(seconds(shown) - (ttl - latency_ms / 1000)) <= TOLERANCE_S
    wait_until(lambda: plays_of(engine, "dairy-1")[-1].started_at > shown.ended_at)  # resumed
    assert page.console_errors == []


def test_offline_screen_keeps_playing_and_every_buffered_play_arrives_once(
    page, live_server: str, worker: SignageService, engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as session:
        secret = screen_pairing.add_with_link(
            session, settings, player_id="dairy-2", zone="dairy", name="", actor="cli",
            now=datetime.now(UTC),
        )  # fmt: skip
    page.goto(f"/screen#pair={secret}")
    wait_until(lambda: len(plays_of(engine, "dairy-2")) >= 3)
    assert "pair=" not in page.url  # the one-time secret left the address bar
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)

    page.context.set_offline(True)
    offline_from = datetime.now(UTC)
    page.wait_for_timeout(OFFLINE_S * 1000)
    buffered = page.evaluate(BUFFERED_PLAY_IDS)
    # It went on playing every item from the cache: a loop lasts 4.5 s, so a minute holds
    # about 13 loops; half of that is the floor a slow shared machine still reaches.
    assert len(buffered) >= OFFLINE_S / sum(DURATIONS.values()) * len(DURATIONS) / 2
    assert {item for _, item in page.evaluate(BUFFERED_ITEMS)} == set(DURATIONS)
    page.context.set_offline(False)

    page.wait_for_function(f"() => ({BUFFERED_PLAY_IDS})().then(ids => ids.length === 0)")
    wait_until(lambda: set(buffered) <= {p.play_id for p in plays_of(engine, "dairy-2")})
    stored = [p for p in plays_of(engine, "dairy-2") if p.play_id in set(buffered)]
    assert len(stored) == len(buffered)
    assert all(
        p.started_at.replace(tzinfo=UTC) >= offline_from - timedelta(seconds=3) for p in stored
    )
    assert worker.stats["plays_duplicate"] == 0


OFFLINE_S = 60
BUFFERED_ITEMS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("esl-screen", 1);
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const request = open.result.transaction("plays").objectStore("plays").getAll();
    request.onsuccess = () => resolve(request.result.map(play => [play.play_id, play.item]));
  };
})"""
BUFFERED_PLAY_IDS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("esl-screen", 1);
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const request = open.result.transaction("plays").objectStore("plays").getAllKeys();
    request.onsuccess = () => resolve(request.result);
  };
})"""


def test_a_broken_item_is_skipped_and_reported_and_a_revoked_screen_pairs_again(
    page, live_server: str, worker: SignageService, engine: Engine, settings: Settings
) -> None:
    from playwright.sync_api import expect

    with session_scope(engine) as session:
        secret = screen_pairing.add_with_link(
            session, settings, player_id="till-1", zone="checkout", name="", actor="cli",
            now=datetime.now(UTC),
        )  # fmt: skip
    page.goto(f"/screen#pair={secret}")
    wait_until(lambda: len(plays_of(engine, "till-1")) >= 4)
    assert {p.item_id for p in plays_of(engine, "till-1")} == {"red", "green"}
    wait_until(lambda: health_of(engine, "till-1").last_error is not None)
    assert health_of(engine, "till-1").last_error.startswith("broken:")

    with session_scope(engine) as session:
        assert screen_pairing.revoke(session, "till-1", actor="cli")
    expect(page.locator("#pairing")).to_be_visible(timeout=20_000)
    expect(page.locator("#pair-code")).to_have_text(re.compile(r"^[A-Z0-9]{6}$"))
    assert page.evaluate("localStorage.getItem('esl-screen-token')") is None


def health_of(engine: Engine, player: str) -> ScreenHealth:
    with Session(engine) as session:
        health = session.get(ScreenHealth, player)
        assert health is not None
        return health


# Headless chromium always reports its pages visible, so the page's view of its own
# visibility is replaced before its script runs: as a browser reports a background tab.
HIDDEN_PAGE = """Object.defineProperty(document, "visibilityState", {get: () => "hidden"});
Object.defineProperty(document, "hidden", {get: () => true});"""


def test_a_hidden_page_plays_on_but_reports_no_plays(
    page, live_server: str, worker: SignageService, engine: Engine, settings: Settings
) -> None:
    page.add_init_script(HIDDEN_PAGE)
    with session_scope(engine) as session:
        secret = screen_pairing.add_with_link(
            session, settings, player_id="dairy-3", zone="dairy", name="", actor="cli",
            now=datetime.now(UTC),
        )  # fmt: skip
    page.goto(f"/screen#pair={secret}")
    assert page.evaluate("document.visibilityState") == "hidden"
    page.locator(".layer.on img").wait_for(timeout=20_000)
    shown = set()
    for _ in range(60):  # two passes of the playlist
        shown.add(page.evaluate("document.querySelector('.layer.on img')?.src ?? null"))
        page.wait_for_timeout(150)
    assert len(shown - {None}) == 3  # it went on playing every item
    wait_until(lambda: health_of_or_none(engine, "dairy-3") is not None)  # and is online
    wait_until(lambda: page.evaluate(f"({BUFFERED_PLAY_IDS})()") == [])
    assert plays_of(engine, "dairy-3") == []


def health_of_or_none(engine: Engine, player: str) -> str | None:
    with Session(engine) as session:
        health = session.get(ScreenHealth, player)
        return health.now_playing if health is not None else None


def test_the_pairing_code_fits_a_phone(browser, live_server: str, seed) -> None:
    context = browser.new_context(base_url=live_server, viewport={"width": 375, "height": 667})
    try:
        page = context.new_page()
        page.goto("/screen")
        page.wait_for_function(
            "() => document.getElementById('pair-code').textContent.length === 6"
        )
        box = page.locator("#pair-code").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    finally:
        context.close()


def test_a_product_slide_is_the_live_html_slide_fetched_with_the_screens_token(
    page, live_server: str, worker: SignageService, engine: Engine, settings: Settings
) -> None:
    from playwright.sync_api import expect

    from tests.support.slide_products import add_situations

    add_situations(engine, settings.store_id)
    with session_scope(engine) as session:
        secret = screen_pairing.add_with_link(
            session, settings, player_id="deli-1", zone="deli", name="", actor="cli",
            now=datetime.now(UTC),
        )  # fmt: skip
    page.goto(f"/screen#pair={secret}")
    slide = page.frame_locator("iframe[srcdoc]").first
    expect(slide.locator("[data-field='price']")).to_have_text("19,99\u00a0lei", timeout=20_000)
    expect(slide.locator("[data-field='promo.prior']")).to_contain_text("24,99")
    assert page.console_errors == []


def pair_by_link(page, engine: Engine, settings: Settings, player: str, zone: str) -> None:
    with session_scope(engine) as session:
        secret = screen_pairing.add_with_link(
            session, settings, player_id=player, zone=zone, name="", actor="cli",
            now=datetime.now(UTC),
        )  # fmt: skip
    page.goto(f"/screen#pair={secret}")


def players_page_text(page, live_server: str) -> str:
    manager = page.context.new_page()
    try:
        browser_log_in(manager)
        manager.click("nav >> text=Players")
        return manager.locator("main").inner_text()
    finally:
        manager.close()


def test_a_video_the_browser_cannot_decode_is_skipped_and_reported(
    page, live_server: str, worker: SignageService, engine: Engine, settings: Settings
) -> None:
    pair_by_link(page, engine, settings, "oven-1", "bakery")
    wait_until(lambda: len(plays_of(engine, "oven-1")) >= 4)
    assert {p.item_id for p in plays_of(engine, "oven-1")} == {"red", "green"}
    wait_until(lambda: health_of(engine, "oven-1").last_error is not None)
    assert health_of(engine, "oven-1").last_error.startswith("clip:")
    assert "clip:" in players_page_text(page, live_server)


def malformed_overrides() -> list[bytes]:
    expires = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    image = {"id": "flash", "type": "image", "duration_s": 5.0, "media": "a" * 64}
    rows = [
        {"override_id": 901, "priority": 90, "expires_at": expires,
         "item": {**image, "type": "hologram"}},
        {"override_id": 902, "priority": 90, "expires_at": expires,
         "item": {**image, "media": None}},
        {"override_id": 903, "priority": 90, "item": image},
        {"override_id": "904", "item": image},
    ]  # fmt: skip
    return [json.dumps({"v": 1, **row}).encode() for row in rows] + [b"[1, 2]", b"{not json"]


def test_malformed_overrides_are_reported_and_the_schedule_plays_on(
    page, live_server: str, worker: SignageService, engine: Engine, settings: Settings
) -> None:
    from playwright.sync_api import expect

    pair_by_link(page, engine, settings, "dairy-4", "dairy")
    wait_until(lambda: len(plays_of(engine, "dairy-4")) >= 2)
    with session_scope(engine) as session:
        for payload in malformed_overrides():
            mailbox.post_command(
                session, settings.store_id, "dairy-4", mailbox.OVERRIDE, payload, datetime.now(UTC)
            )
    wait_until(lambda: health_of(engine, "dairy-4").errors >= len(malformed_overrides()))
    expect(page.locator("#layer-override")).to_have_class("layer layer-override")
    before = len(plays_of(engine, "dairy-4"))
    wait_until(lambda: len(plays_of(engine, "dairy-4")) >= before + 3)  # still playing
    assert all(p.override_id is None for p in plays_of(engine, "dairy-4"))
    with Session(engine) as session:
        reasons = [
            row.message
            for row in session.scalars(select(Incident).where(Incident.subject == "dairy-4"))
        ]
    text = " ".join(reasons)
    for expected in ("unknown item type hologram", "image item without media", "no expiry"):
        assert expected in text, text
    assert "unreadable override message" in text
    shown = players_page_text(page, live_server)  # the count, and the last one in full
    assert f"{len(malformed_overrides())} error(s), last: unreadable override message" in shown


# The screen's wall clock three hours fast, as a kiosk with a wrong time zone or a dead RTC
# battery has it; timers and the monotonic clock are untouched, as they are on such a box.
SKEWED_CLOCK = """(() => {
  const skew = 3 * 3600 * 1000;
  const Real = Date;
  const realNow = Real.now.bind(Real);
  class Skewed extends Real {
    constructor(...args) { if (args.length === 0) super(realNow() + skew); else super(...args); }
    static now() { return realNow() + skew; }
  }
  window.Date = Skewed;
  const origin = performance.timeOrigin + skew;
  Object.defineProperty(performance, "timeOrigin", { get: () => origin });
})();"""


def test_a_screen_whose_clock_is_hours_off_pairs_and_keeps_override_ttls(
    page, live_server: str, worker: SignageService, channel, engine: Engine
) -> None:
    from playwright.sync_api import expect

    page.add_init_script(SKEWED_CLOCK)
    pair_from_dashboard(page, page.context, "dairy-5")  # the code outlives the wrong clock
    assert page.evaluate("() => Date.now()") - time.time() * 1000 > 2.9 * 3600 * 1000
    wait_until(lambda: len(plays_of(engine, "dairy-5")) >= 2)
    for play in plays_of(engine, "dairy-5"):  # stamped on the controller's clock
        assert abs(play.started_at.replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=1)

    with session_scope(engine) as session:
        override_id = reserve_override_ids_in(session.connection(), 1)[0]
    media = (Path(worker.settings.playlists_dir) / "media" / "override.png").read_bytes()
    with session_scope(engine) as session:
        from esl_controller.signage.media import store_media

        sha = store_media(worker.settings, media, "override.png", "image/png", session).sha256
    ttl = 3.0
    command = protocol.OverrideCommand(
        override_id,
        protocol.ScreenItem("flash-sale", "image", 10.0, media=sha),
        priority=90,
        expires_at=datetime.now(UTC) + timedelta(seconds=ttl),
    )
    channel.send_override(["dairy-5"], command)
    expect(page.locator("#layer-override")).to_have_class("layer layer-override on")
    expect(page.locator("#layer-override")).to_have_class("layer layer-override")
    wait_until(lambda: any(p.override_id == override_id for p in plays_of(engine, "dairy-5")))
    [shown] = [p for p in plays_of(engine, "dairy-5") if p.override_id == override_id]
    assert ttl - 1.0 <= seconds(shown) <= ttl + TOLERANCE_S  # its TTL, less the delivery


CACHED_MEDIA = """() => caches.open("esl-screen-media-v1")
  .then(cache => cache.keys())
  .then(keys => keys.map(request => new URL(request.url).pathname.slice(7)).sort())"""


def is_status_post(request) -> bool:
    return request.url.endswith("/screen/api/status")


def media_sha(settings: Settings, name: str) -> str:
    return hashlib.sha256((Path(settings.playlists_dir) / "media" / name).read_bytes()).hexdigest()


def test_media_no_longer_scheduled_leaves_the_cache_and_cache_items_counts_what_stays(
    page, live_server: str, worker: SignageService, channel, engine: Engine, settings: Settings
) -> None:
    statuses: list[dict] = []
    page.on(
        "request",
        lambda request: (
            request.url.endswith("/screen/api/status") and statuses.append(request.post_data_json)
        ),
    )
    pair_by_link(page, engine, settings, "dairy-6", "dairy")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)
    scheduled = sorted(media_sha(settings, f"{colour}.png") for colour in DURATIONS)
    wait_until(lambda: page.evaluate(CACHED_MEDIA) == scheduled)

    # An override's media is cached while it shows and dropped once it has ended.
    with session_scope(engine) as session:
        override_id = reserve_override_ids_in(session.connection(), 1)[0]
    override_sha = media_sha(settings, "override.png")
    with session_scope(engine) as session:
        from esl_controller.signage.media import store_media

        media = (Path(settings.playlists_dir) / "media" / "override.png").read_bytes()
        assert store_media(settings, media, "override.png", "image/png", session).sha256 == (
            override_sha
        )
    item = protocol.ScreenItem("flash-sale", "image", 10.0, media=override_sha)
    expires = datetime.now(UTC) + timedelta(seconds=8)  # long enough on a loaded box
    channel.send_override(["dairy-6"], protocol.OverrideCommand(override_id, item, 90, expires))
    wait_until(lambda: override_sha in page.evaluate(CACHED_MEDIA))
    wait_until(lambda: page.evaluate(CACHED_MEDIA) == scheduled)

    # An item dropped from the playlist leaves the cache; the rest stays and plays on.
    loop = Path(settings.playlists_dir) / "loop.yaml"
    loop.write_text("".join(line for line in PLAYLIST.splitlines(True) if "blue" not in line))
    kept = sorted(media_sha(settings, f"{colour}.png") for colour in ("red", "green"))
    wait_until(lambda: page.evaluate(CACHED_MEDIA) == kept)
    for _ in range(2):  # the next heartbeats say so
        with page.expect_request(is_status_post, timeout=15_000) as status:
            pass
        assert status.value.post_data_json["cache_items"] == len(kept)
    since = datetime.now(UTC)
    wait_until(
        lambda: (
            {
                p.item_id
                for p in plays_of(engine, "dairy-6")
                if p.started_at.replace(tzinfo=UTC) > since
            }
            == {"red", "green"}
        )
    )


def test_a_playlist_item_the_page_cannot_play_is_skipped_and_reported_once(
    page, live_server: str, worker: SignageService, engine: Engine, settings: Settings
) -> None:
    pair_by_link(page, engine, settings, "dairy-7", "dairy")
    wait_until(lambda: len(plays_of(engine, "dairy-7")) >= 2)
    # A playlist no controller would send (its checks refuse such items), as a newer
    # controller or a hand-written row could: an unknown type, an image without media.
    with Session(engine) as session:
        row = mailbox.latest_playlist(session, settings.store_id, "dairy-7")
        assert row is not None
        playlist = json.loads(row.payload)
    good = [item for item in playlist["items"] if item["id"] in ("red", "green")]
    odd = [
        {"id": "holo", "type": "hologram", "duration_s": 1.0},
        {"id": "blank", "type": "image", "duration_s": 1.0},
        {"id": "forever", "type": "image", "duration_s": 0, "media": good[0]["media"]},
    ]
    playlist.update(items=[good[0], *odd, good[1]], digest="hand-written")
    with session_scope(engine) as session:
        payload = json.dumps(playlist).encode()
        mailbox.post_command(
            session, settings.store_id, "dairy-7", mailbox.PLAYLIST, payload, datetime.now(UTC)
        )
    wait_until(lambda: health_of(engine, "dairy-7").errors >= len(odd))
    since = datetime.now(UTC)
    wait_until(
        lambda: (
            len(
                [p for p in plays_of(engine, "dairy-7") if p.started_at.replace(tzinfo=UTC) > since]
            )
            >= 4
        )
    )
    played = {
        p.item_id for p in plays_of(engine, "dairy-7") if p.started_at.replace(tzinfo=UTC) > since
    }
    assert played == {"red", "green"}
    with Session(engine) as session:
        reasons = [
            row.message
            for row in session.scalars(select(Incident).where(Incident.subject == "dairy-7"))
        ]
    text = " ".join(reasons)
    for expected in (
        "holo: playlist item skipped: unknown item type hologram",
        "blank: playlist item skipped: image item without media",
        "forever: playlist item skipped: image item without a duration",
    ):
        assert expected in text, text
    skipped = [reason for reason in reasons if "playlist item skipped" in reason]
    assert len(skipped) == len(odd)  # once each, not on every pass of the playlist
    assert page.console_errors == []


def test_a_throttled_page_says_why_and_waits(page, live_server: str, seed) -> None:
    from playwright.sync_api import expect

    from esl_controller.web import pairing_throttle

    for _ in range(pairing_throttle.MAX_NEW_PAIRINGS_PER_ADDRESS):
        request = urllib.request.Request(f"{live_server}/screen/api/pairings", method="POST")
        with urllib.request.urlopen(request) as answer:
            assert answer.status == 201
    page.goto("/screen")
    expect(page.locator("#pair-status")).to_contain_text(
        "Too many pairing attempts from this screen's network address. Wait "
    )
    assert page.locator("#pair-code").text_content() == "······"  # no made-up code shown
