"""Browser screens: an override sent -> its first painted frame on N headless chromium
pages in one zone, and a page's memory while it loops a 10-item playlist.

The real web (waitress), the worker's signage service with the browser channel over a real
SQLite file, and N pages of Debian's chromium paired through one-time links. Each override
goes out through the channel as the core sends it; every page stamps the first frame that
shows it (`requestAnimationFrame`, on the epoch clock shared with this process). Prints
p50/p99/max per page and per override (the last page of the zone), then the JS heap of
one page after garbage collection, before and after looping.

    python bench/bench_screens.py                          # 20 pages, 10 overrides, 2 min loop
    python bench/bench_screens.py --pages 5 --overrides 5 --loop-minutes 60
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image
from waitress import create_server

from esl_controller import db
from esl_controller.ads.ingest import PlayIngestor
from esl_controller.broker import free_port
from esl_controller.config import Settings
from esl_controller.models import Store, Zone
from esl_controller.signage import protocol
from esl_controller.signage.drivers.browser import BrowserPlayerChannel
from esl_controller.signage.media import store_media
from esl_controller.signage.override_ids import reserve_override_ids_in
from esl_controller.signage.service import SignageService
from esl_controller.web import create_app, screen_pairing

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
COLOURS = ["red", "green", "blue", "yellow", "cyan", "magenta", "orange", "purple", "teal", "navy"]


def png(colour: str, size: tuple[int, int] = (1920, 1080)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def prepare(folder: Path, item_s: float) -> Settings:
    playlists = folder / "signage_playlists"
    (playlists / "media").mkdir(parents=True)
    lines = ["title: Bench loop", "priority: 0", "targets: {zones: [dairy]}", "items:"]
    for colour in COLOURS:
        (playlists / "media" / f"{colour}.png").write_bytes(png(colour))
        lines.append(f"  - {{id: {colour}, type: image, file: {colour}.png, duration: {item_s}}}")
    (playlists / "loop.yaml").write_text("\n".join(lines) + "\n")
    port = free_port("127.0.0.1")
    return Settings(
        data_dir=folder / "data",
        playlists_dir=playlists,
        secret_key="bench-secret",
        web_host="127.0.0.1",
        web_port=port,
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name:<34} n={len(values):<4} p50={statistics.median(values):6.0f} ms  "
        f"p99={percentile(values, 0.99):6.0f} ms  max={max(values):6.0f} ms"
    )


def heap_mb(cdp) -> float:
    cdp.send("HeapProfiler.collectGarbage")
    return cdp.send("Runtime.getHeapUsage")["usedSize"] / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--overrides", type=int, default=10)
    parser.add_argument("--loop-minutes", type=float, default=2.0)
    parser.add_argument("--item-seconds", type=float, default=2.0)
    args = parser.parse_args()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # bursts of media at pairing
    folder = Path(tempfile.mkdtemp(prefix="bench-screens-"))
    settings = prepare(folder, args.item_seconds)
    engine = db.make_engine(settings.resolved_database_url)
    db.init_db(engine)
    with db.session_scope(engine) as session:
        session.add(Store(id=settings.store_id, name="Bench"))
        session.flush()
        session.add(Zone(id="dairy", store_id=settings.store_id))
    server = create_server(
        create_app(settings, engine), host="127.0.0.1", port=settings.web_port,
        threads=args.pages + 4, connection_limit=10 * (args.pages + 4),
    )  # fmt: skip
    threading.Thread(target=server.run, daemon=True).start()
    channel = BrowserPlayerChannel(engine, settings.store_id)
    service = SignageService(engine, settings, [channel], ingestor=PlayIngestor(engine, settings))
    service.start()
    base = f"http://127.0.0.1:{settings.web_port}"
    players = [f"screen-{n:02d}" for n in range(args.pages)]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        pages = []
        for player in players:
            with db.session_scope(engine) as session:
                secret = screen_pairing.add_with_link(
                    session, settings, player_id=player, zone="dairy", name=player,
                    actor="bench", now=datetime.now(UTC),
                )  # fmt: skip
            page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            page.goto(f"{base}/screen#pair={secret}")
            pages.append(page)
        deadline = time.monotonic() + 120
        while set(players) - service.online_players():
            assert time.monotonic() < deadline, "not every page came online"
            time.sleep(0.2)
        print(f"{args.pages} pages online, waitress threads {args.pages + 4}")

        with db.session_scope(engine) as session:
            sha = store_media(settings, png("white"), "override.png", "image/png", session).sha256
        per_page: list[float] = []
        per_override: list[float] = []
        missed = 0
        for n in range(args.overrides):
            with db.session_scope(engine) as session:
                override_id = reserve_override_ids_in(session.connection(), 1)[0]
            item = protocol.ScreenItem(f"flash-{n}", "image", 10.0, media=sha)
            command = protocol.OverrideCommand(
                override_id, item, 90, datetime.now(UTC) + timedelta(seconds=2.0)
            )
            sent_ms = time.time() * 1000
            channel.send_override(players, command)
            latencies = []
            for page in pages:
                try:
                    page.wait_for_function(
                        f"() => Number(document.body.dataset.overrideShownAt || 0) > {sent_ms}",
                        timeout=15_000,
                    )
                except PlaywrightTimeout:  # it could not load the override in time: reported
                    missed += 1
                    continue
                shown = float(page.evaluate("document.body.dataset.overrideShownAt"))
                latencies.append(shown - sent_ms)
            per_page += latencies
            if len(latencies) == len(pages):
                per_override.append(max(latencies))
            time.sleep(3.0)  # past the TTL, back on the schedule
        print(summary("override -> painted, per page", per_page))
        if per_override:
            print(summary("override -> painted, last page", per_override))
        print(f"overrides a page missed (could not load it within 8 s): {missed}")

        cdp = pages[0].context.new_cdp_session(pages[0])
        before = heap_mb(cdp)
        loops = args.loop_minutes * 60 / (args.item_seconds * len(COLOURS))
        time.sleep(args.loop_minutes * 60)
        after = heap_mb(cdp)
        print(
            f"JS heap of one page after GC: {before:.1f} MB, then {after:.1f} MB after "
            f"{args.loop_minutes:g} min ({loops:.0f} loops of the 10-item playlist)"
        )
        browser.close()
    service.stop()
    server.close()


if __name__ == "__main__":
    main()
