"""Three store brokers bridged to one head-office broker, all real Mosquitto on free ports,
every config written by `esl-controller deploy acl|bridge|head-office`.

Head office has a test-only observer that reads `#`, so the tests see everything that
crosses. Ordering proves absence, as in test_mosquitto_acl: the forbidden messages go
through the same link before an allowed sentinel, so had they crossed they would have
arrived before it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from esl_controller.cli import main
from esl_controller.deploy.bridge import bridge_state_topic
from esl_controller.deploy.passwd import hash_password
from esl_controller.esl.drivers.mqtt import protocol as esl
from esl_controller.signage.drivers.mqtt import topics as signage
from tests.support.mosquitto import (
    MOSQUITTO,
    Broker,
    Inbox,
    private_mosquitto,
    publish,
    subscribe,
)

pytestmark = pytest.mark.mqtt

LOCAL_PREFIX, HQ_PREFIX = "esl", "hq"
STORES = ("store-a", "store-b", "store-c")
OBSERVER = ("observer", "observer-password-1")
TAMPERER = ("tamperer", "tamperer-password-1")


def station_of(store: str) -> str:
    return f"bs-{store[-1]}1"


def player_of(store: str) -> str:
    return f"screen-{store[-1]}1"


@dataclass
class Chain:
    head_office: Broker
    stores: dict[str, Broker]
    directory: Path
    hq_passwords: dict[str, str]


def run(arguments: list[str]) -> None:
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output


def read_credentials(path: Path) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in path.read_text().splitlines())


def add_test_user(directory: Path, acl: str, passwd: str, user: tuple[str, str], rule: str):
    with (directory / acl).open("a") as acl_file:
        acl_file.write(f"\nuser {user[0]}\ntopic {rule}\n")
    with (directory / passwd).open("a") as passwd_file:
        passwd_file.write(f"{user[0]}:{hash_password(user[1])}\n")


def store_files(directory: Path, store: str) -> dict[str, str]:
    """The store broker's ACL and passwd for one station and one player; the passwords."""
    arguments = ["deploy", "acl", "--prefix", LOCAL_PREFIX, "--store", store, "--no-database"]
    arguments += ["--out-dir", str(directory)]
    arguments += ["--station", station_of(store), "--player", player_of(store)]
    run(arguments)
    return read_credentials(directory / "esl.credentials")


def bridge_text(directory: Path, store: str, hq_port: int, password: str) -> str:
    password_file = directory / "hq-password"
    password_file.write_text(password + "\n")
    out = directory / "bridge.conf"
    arguments = ["deploy", "bridge", "--store", store, "--prefix", LOCAL_PREFIX]
    arguments += ["--head-office", f"127.0.0.1:{hq_port}", "--plaintext"]
    arguments += ["--password-file", str(password_file), "--out", str(out)]
    run(arguments)
    return out.read_text()


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed: apt-get install mosquitto")
    hq_dir = tmp_path_factory.mktemp("head-office")
    arguments = ["deploy", "head-office", "--no-database", "--out-dir", str(hq_dir)]
    for store in STORES:
        arguments += ["--store", store]
    run(arguments)
    hq_passwords = read_credentials(hq_dir / "head-office.credentials")
    add_test_user(hq_dir, "head-office.acl", "head-office.passwd", OBSERVER, "read #")
    with ExitStack() as stack:
        hq_port = stack.enter_context(
            private_mosquitto(
                hq_dir, acl=hq_dir / "head-office.acl", passwd=hq_dir / "head-office.passwd"
            )
        )
        stores = {}
        for store in STORES:
            directory = tmp_path_factory.mktemp(store)
            passwords = store_files(directory, store)
            add_test_user(directory, "mosquitto.acl", "esl.passwd", TAMPERER, "readwrite #")
            passwords[TAMPERER[0]] = TAMPERER[1]
            bridge = bridge_text(directory, store, hq_port, hq_passwords[store])
            port = stack.enter_context(
                private_mosquitto(
                    directory,
                    acl=directory / "mosquitto.acl",
                    passwd=directory / "esl.passwd",
                    bridge=bridge,
                )
            )
            stores[store] = Broker(port, passwords)
        head_office = Broker(hq_port, {**hq_passwords, OBSERVER[0]: OBSERVER[1]})
        yield Chain(head_office, stores, hq_dir, hq_passwords)


@pytest.fixture
def at_head_office(chain: Chain) -> Iterator[Inbox]:
    """Everything the head-office broker routes, once every store's bridge is up."""
    inbox = Inbox()
    client = chain.head_office.connect(*OBSERVER, inbox=inbox)
    subscribe(client, "#")
    for store in STORES:
        # The bridge's retained link state: 1 while the store is connected.
        assert inbox.wait_for_topic(bridge_state_topic(HQ_PREFIX, store)) == b"1"
    yield inbox
    client.loop_stop()
    client.disconnect()


def sentinel() -> bytes:
    return b'{"state": "online", "sentinel": "%s"}' % uuid.uuid4().hex.encode()


def crossed(inbox: Inbox, payload: bytes) -> list[str]:
    """Topics that reached head office up to `payload`, bridge link states left out."""
    states = {bridge_state_topic(HQ_PREFIX, store) for store in STORES}
    return [topic for topic in inbox.wait_for(payload) if topic not in states]


def test_each_stores_station_status_arrives_under_that_store(chain: Chain, at_head_office):
    for store in STORES:
        station = station_of(store)
        client = chain.stores[store].connect(station)
        try:
            status = sentinel()
            publish(client, esl.status_topic(LOCAL_PREFIX, store, station), status)
            remote = esl.status_topic(HQ_PREFIX, store, station)
            assert crossed(at_head_office, status)[-1] == remote
        finally:
            client.loop_stop()
            client.disconnect()


def test_label_images_acks_and_player_traffic_stay_in_the_store(chain: Chain, at_head_office):
    store = "store-b"
    station, player = station_of(store), player_of(store)
    broker = chain.stores[store]
    controller = broker.connect("controller")
    station_client = broker.connect(station)
    player_client = broker.connect(player)
    try:
        label = "L-0001"
        publish(controller, esl.image_topic(LOCAL_PREFIX, store, station, label), b"ESLF...")
        publish(controller, esl.led_topic(LOCAL_PREFIX, store, station, label), b"{}")
        publish(controller, signage.playlist_topic(LOCAL_PREFIX, store, player), b"{}")
        publish(controller, signage.override_topic(LOCAL_PREFIX, store, player), b"{}")
        publish(station_client, esl.ack_topic(LOCAL_PREFIX, store, station), b"[]")
        publish(player_client, signage.pop_topic(LOCAL_PREFIX, store, player), b"[]")
        publish(player_client, signage.player_status_topic(LOCAL_PREFIX, store, player), b"{}")
        status = sentinel()
        publish(station_client, esl.status_topic(LOCAL_PREFIX, store, station), status)
        assert crossed(at_head_office, status) == [esl.status_topic(HQ_PREFIX, store, station)]
    finally:
        for client in (controller, station_client, player_client):
            client.loop_stop()
            client.disconnect()


def test_a_stores_credential_cannot_publish_another_stores_topics(chain: Chain, at_head_office):
    client = chain.head_office.connect("store-a", chain.hq_passwords["store-a"])
    try:
        forbidden = [
            esl.status_topic(HQ_PREFIX, "store-b", station_of("store-b")),
            bridge_state_topic(HQ_PREFIX, "store-c"),
            esl.ack_topic(HQ_PREFIX, "store-a", station_of("store-a")),  # only status goes up
            "elsewhere/x",
        ]
        for topic in forbidden:
            publish(client, topic, b"forbidden")
        own = esl.status_topic(HQ_PREFIX, "store-a", "bs-a9")
        status = sentinel()
        publish(client, own, status)
        assert crossed(at_head_office, status) == [own]
    finally:
        client.loop_stop()
        client.disconnect()


def test_a_tampered_bridge_cannot_pose_as_another_store(
    chain: Chain, at_head_office, tmp_path: Path
):
    """Store A's bridge, edited by hand to also carry a tree under store B's name, with A's
    own credential: the head-office ACL drops B's topics and still takes A's."""
    password = chain.hq_passwords["store-a"]
    text = bridge_text(tmp_path, "store-a", chain.head_office.port, password)
    text = text.replace("esl-bridge-store-a", "esl-bridge-tampered")
    text += f"topic +/status out 1 {LOCAL_PREFIX}/store-b/ {HQ_PREFIX}/store-b/\n"
    store_files(tmp_path, "store-a")
    add_test_user(tmp_path, "mosquitto.acl", "esl.passwd", TAMPERER, "readwrite #")
    with private_mosquitto(
        tmp_path, acl=tmp_path / "mosquitto.acl", passwd=tmp_path / "esl.passwd", bridge=text
    ) as port:
        client = Broker(port, {TAMPERER[0]: TAMPERER[1]}).connect(*TAMPERER)
        try:
            own = esl.status_topic(HQ_PREFIX, "store-a", "bs-a7")
            arrived = None
            # Until the new broker's bridge is up it may drop what it has no session for:
            # send again until a sentinel crosses, each time after the forbidden status.
            for _attempt in range(30):
                publish(client, esl.status_topic(LOCAL_PREFIX, "store-b", "bs-b1"), b"forbidden")
                status = sentinel()
                publish(client, esl.status_topic(LOCAL_PREFIX, "store-a", "bs-a7"), status)
                if at_head_office.arrived(status, timeout=1):
                    arrived = status
                    break
            assert arrived is not None, "the tampered bridge never delivered its own status"
            assert set(crossed(at_head_office, arrived)) == {own}
        finally:
            client.loop_stop()
            client.disconnect()
