"""Fixtures for the web tests: a seeded store, users with tokens, logged-in clients,
and (for browser tests) the app served by a real WSGI server in a thread."""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from werkzeug.serving import make_server

from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.models import (
    BaseStation,
    Incident,
    Label,
    OutboxMessage,
    PriceHistory,
    Product,
    Store,
)
from esl_controller.web import create_app
from esl_controller.web.auth import create_user, issue_api_token
from tests.support.head_office_stores import NORTH, SOUTH, add_chain_stores, add_store_user
from tests.support.slide_products import add_player, add_situations

ADMIN = ("alice", "alice-password-1")
MANAGER = ("bob", "bob-password-1")
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Seed:
    admin_token: str
    manager_token: str
    label_ids: dict[str, str]  # state -> label id


@pytest.fixture
def seed(engine: Engine, settings: Settings) -> Seed:
    now = utcnow()
    with session_scope(engine) as session:
        session.add(Store(id=settings.store_id, name="Test store", locale="ro_RO", currency="RON"))
        session.flush()  # no ORM relationships, so flush parents before children
        session.add_all(
            [
                BaseStation(
                    id="bs-1",
                    store_id=settings.store_id,
                    name="Aisle 1",
                    online=True,
                    last_seen=now,
                    firmware="1.4.2",
                    queue_depth=1,
                ),
                BaseStation(
                    id="bs-2",
                    store_id=settings.store_id,
                    name="Aisle 2",
                    online=False,
                    last_seen=now - timedelta(hours=2),
                    firmware="1.4.2",
                ),
            ]
        )
        session.flush()
        products = [
            Product(
                store_id=settings.store_id,
                gtin="5901234123457",
                name="Cașcaval Dalia",
                brand="Hochland",
                net_quantity=400,
                unit="g",
                price_minor=2499,
                currency="RON",
                stock=40,
            ),
            Product(
                store_id=settings.store_id,
                gtin="4006381333931",
                name="Grüner Tee",
                brand="Teekanne",
                net_quantity=35,
                unit="g",
                price_minor=1150,
                currency="RON",
                stock=3,
            ),
            Product(
                store_id=settings.store_id,
                gtin="9780201379624",
                name="Молоко 3,2%",
                brand="Простоквашино",
                net_quantity=1,
                unit="l",
                price_minor=899,
                currency="RON",
                stock=12,
            ),
        ]
        session.add_all(products)
        session.flush()
        for product in products:
            session.add(
                PriceHistory(
                    product_id=product.id,
                    price_minor=product.price_minor,
                    effective_at=now - timedelta(days=60),
                )
            )
        label_ids = {
            state: f"L-{state.upper()}"
            for state in ("acked", "pending", "sent", "failed", "unbound")
        }
        for index, (state, label_id) in enumerate(label_ids.items()):
            bound = state != "unbound"
            session.add(
                Label(
                    id=label_id,
                    store_id=settings.store_id,
                    model="2.9-bwr",
                    base_station_id="bs-1" if index % 2 == 0 else "bs-2",
                    product_id=products[index % 3].id if bound else None,
                    template="promo" if state == "sent" else "price",
                    state=state,
                    battery=80 - index,
                    signal=-60 - index,
                    temperature=21.5,
                    last_seen=now if bound else None,
                    last_error="no ack after 5 attempts" if state == "failed" else None,
                )
            )
        session.flush()
        session.add(
            OutboxMessage(
                label_id=label_ids["failed"],
                base_station_id="bs-1",
                seq=1,
                payload=b"x",
                state="failed",
                attempts=5,
                reason="no ack after 5 attempts",
            )
        )
        session.add(
            OutboxMessage(
                label_id=label_ids["pending"],
                base_station_id="bs-2",
                seq=1,
                payload=b"x",
                state="pending",
            )
        )
        session.add(
            Incident(
                kind="invalid_gtin",
                subject="1234567890123",
                message="check digit should be 8, got 3",
            )
        )
        session.add(
            Incident(
                kind="delivery_failed",
                subject=label_ids["failed"],
                message="no ack after 5 attempts",
            )
        )
        create_user(session, *ADMIN, "admin")
        create_user(session, *MANAGER, "manager")
        admin_token = issue_api_token(session, ADMIN[0])
        manager_token = issue_api_token(session, MANAGER[0])
    return Seed(admin_token=admin_token, manager_token=manager_token, label_ids=label_ids)


@pytest.fixture
def app(settings: Settings, engine: Engine, seed: Seed) -> Flask:
    app = create_app(settings, engine)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A client whose "browser" asks for English, as the page assertions are written."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.9"
    return client


def csrf_token_from(client: FlaskClient, path: str = "/login") -> str:
    match = CSRF_INPUT.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def log_in(client: FlaskClient, username: str, password: str, next_path: str = ""):
    token = csrf_token_from(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_path},
    )


@pytest.fixture
def manager_client(client: FlaskClient) -> FlaskClient:
    assert log_in(client, *MANAGER).status_code == 302
    return client


@pytest.fixture
def admin_client(client: FlaskClient) -> FlaskClient:
    assert log_in(client, *ADMIN).status_code == 302
    return client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


# --- a real headless chromium (Debian's), shared by the test_browser*.py modules ---------------

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags chromium tries hosts this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT_DIR = Path(tempfile.gettempdir())


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed: apt-get install chromium (CI installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server: str) -> Iterator:
    """A fresh browser context on the live server; console errors collected for asserts."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console_errors = []
    page.on(
        "console",
        lambda message: message.type == "error" and page.console_errors.append(message.text),
    )
    yield page
    context.close()


PHONE = {"width": 375, "height": 812}


@pytest.fixture
def phone_page(browser, live_server: str) -> Iterator:
    """Like `page`, on a phone-sized screen (375 x 812, touch)."""
    context = browser.new_context(base_url=live_server, viewport=PHONE, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console_errors = []
    page.on(
        "console",
        lambda message: message.type == "error" and page.console_errors.append(message.text),
    )
    yield page
    context.close()


# Chromium's fake camera plays a .y4m file; its permission prompt is answered yes.
FAKE_CAMERA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture
def camera_phone(browser, live_server: str) -> Iterator[Callable[[Path], Any]]:
    """`camera_phone(video)`: a phone page (like `phone_page`) in a chromium of its own whose
    camera films `video`, a .y4m file (tests/support/camera_frames.py writes them)."""
    launched = []

    def open_page(video: Path) -> Any:
        camera_browser = browser.browser_type.launch(
            executable_path=str(CHROMIUM),
            args=[*CHROMIUM_ARGS, *FAKE_CAMERA_ARGS, f"--use-file-for-fake-video-capture={video}"],
            headless=True,
        )
        launched.append(camera_browser)
        context = camera_browser.new_context(
            base_url=live_server, viewport=PHONE, has_touch=True, permissions=["camera"]
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.console_errors = []
        page.on(
            "console",
            lambda message: message.type == "error" and page.console_errors.append(message.text),
        )
        return page

    yield open_page
    for camera_browser in launched:
        camera_browser.close()


def browser_log_in(page, credentials: tuple[str, str] = MANAGER) -> None:
    page.goto("/login")
    page.fill("input[name=username]", credentials[0])
    page.fill("input[name=password]", credentials[1])
    page.click("button[type=submit]")
    page.wait_for_url("**/")


@pytest.fixture
def slide_screen_token(engine: Engine, settings: Settings, seed: Seed) -> str:
    """Products in crafted price situations (promo slides) and a paired screen's token."""
    add_situations(engine, settings.store_id)
    return add_player(engine)


# --- a chain: two more stores beside the seeded one, and users of one store -----------------

NORTH_MANAGER = ("nora", "nora-password-1")
NORTH_ADMIN = ("nick", "nick-password-1")
SOUTH_MANAGER = ("sam", "sam-password-1")


@dataclass(frozen=True)
class Chain:
    north_manager_token: str
    south_manager_token: str


@pytest.fixture
def chain(engine: Engine, seed: Seed) -> Chain:
    """Stores north and south (tests/support/head_office_stores.py) beside the seeded store, a
    manager in each and an admin of north; the seeded alice and bob are head office."""
    add_chain_stores(engine)
    north = add_store_user(engine, *NORTH_MANAGER, "manager", NORTH.id)
    add_store_user(engine, *NORTH_ADMIN, "admin", NORTH.id)
    south = add_store_user(engine, *SOUTH_MANAGER, "manager", SOUTH.id)
    return Chain(north_manager_token=north, south_manager_token=south)
