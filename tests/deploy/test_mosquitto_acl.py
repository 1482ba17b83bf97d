"""The generated ACL and passwd, enforced by a real Mosquitto started on a free port.

Each device publishes what it must not (another station's ack, any ack from a player, plays
from a sensor, another store's topics), then something it may, on the same connection. The
broker keeps one publisher's messages in order, so once the allowed one reaches the observer
the forbidden ones would have arrived before it if the broker had let them through.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from esl_controller.cli import main
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

PREFIX, STORE = "chain/eu", "store-0042"
OBSERVER = ("observer", "observer-password-1")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed: apt-get install mosquitto")
    directory = tmp_path_factory.mktemp("acl")
    arguments = ["deploy", "acl", "--prefix", PREFIX, "--store", STORE, "--no-database"]
    arguments += ["--out-dir", str(directory), "--station", "bs-01", "--station", "bs-02"]
    arguments += ["--player", "screen-01", "--player", "screen-02", "--sensor", "cam-01"]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    credentials = (directory / "esl.credentials").read_text().splitlines()
    passwords = dict(line.split(" ", 1) for line in credentials)
    # A test-only account that reads everything, so the test can see what got through.
    with (directory / "mosquitto.acl").open("a") as acl:
        acl.write(f"\nuser {OBSERVER[0]}\ntopic read #\n")
    with (directory / "esl.passwd").open("a") as passwd:
        passwd.write(f"{OBSERVER[0]}:{hash_password(OBSERVER[1])}\n")
    passwords[OBSERVER[0]] = OBSERVER[1]
    with private_mosquitto(
        directory, acl=directory / "mosquitto.acl", passwd=directory / "esl.passwd"
    ) as port:
        yield Broker(port, passwords)


@pytest.fixture
def observed(broker: Broker) -> Iterator[Inbox]:
    inbox = Inbox()
    client = broker.connect(*OBSERVER, inbox=inbox)
    subscribe(client, "#")
    yield inbox
    client.loop_stop()
    client.disconnect()


def sent_only_the_allowed(
    broker: Broker, inbox: Inbox, user: str, forbidden: list[str], allowed: str
):
    client = broker.connect(user)
    try:
        for topic in forbidden:
            publish(client, topic, b"forbidden " + uuid.uuid4().hex.encode())
        sentinel = b"allowed " + uuid.uuid4().hex.encode()
        publish(client, allowed, sentinel)
        return inbox.wait_for(sentinel)
    finally:
        client.loop_stop()
        client.disconnect()


def test_a_station_cannot_publish_another_stations_ack(broker: Broker, observed: Inbox):
    forbidden = [
        esl.ack_topic(PREFIX, STORE, "bs-02"),
        esl.status_topic(PREFIX, STORE, "bs-02"),
        esl.ack_topic(PREFIX, "store-0099", "bs-01"),  # another store, same station id
        esl.image_topic(PREFIX, STORE, "bs-01", "L1"),  # commands come from the controller
        signage.pop_topic(PREFIX, STORE, "screen-01"),
    ]
    own_ack = esl.ack_topic(PREFIX, STORE, "bs-01")
    assert sent_only_the_allowed(broker, observed, "bs-01", forbidden, own_ack) == [own_ack]


def test_a_player_cannot_publish_any_ack(broker: Broker, observed: Inbox):
    forbidden = [
        esl.ack_topic(PREFIX, STORE, "bs-01"),
        esl.ack_topic(PREFIX, STORE, "bs-02"),
        signage.pop_topic(PREFIX, STORE, "screen-02"),  # another player's plays
        signage.playlist_topic(PREFIX, STORE, "screen-01"),  # its own commands are read-only
        signage.trigger_topic(PREFIX, STORE, "cam-01"),
    ]
    own_pop = signage.pop_topic(PREFIX, STORE, "screen-01")
    assert sent_only_the_allowed(broker, observed, "screen-01", forbidden, own_pop) == [own_pop]


def test_a_sensor_cannot_publish_plays(broker: Broker, observed: Inbox):
    forbidden = [
        signage.pop_topic(PREFIX, STORE, "screen-01"),
        signage.player_status_topic(PREFIX, STORE, "screen-01"),
        esl.ack_topic(PREFIX, STORE, "bs-01"),
        signage.trigger_topic(PREFIX, STORE, "cam-99"),  # another sensor's name
    ]
    own = signage.trigger_topic(PREFIX, STORE, "cam-01")
    assert sent_only_the_allowed(broker, observed, "cam-01", forbidden, own) == [own]


def test_the_controller_is_confined_to_its_store(broker: Broker, observed: Inbox):
    forbidden = [esl.image_topic(PREFIX, "store-0099", "bs-01", "L1"), "elsewhere/x"]
    own = esl.image_topic(PREFIX, STORE, "bs-01", "L1")
    assert sent_only_the_allowed(broker, observed, "controller", forbidden, own) == [own]


def test_a_station_receives_only_its_own_commands(broker: Broker):
    inbox = Inbox()
    station = broker.connect("bs-01", inbox=inbox)
    controller = broker.connect("controller")
    try:
        subscribe(station, esl.station_subscription(PREFIX, STORE, "bs-02"))
        subscribe(station, esl.station_subscription(PREFIX, STORE, "bs-01"))
        publish(controller, esl.image_topic(PREFIX, STORE, "bs-02", "L2"), b"not yours")
        publish(controller, esl.image_topic(PREFIX, STORE, "bs-01", "L1"), b"yours")
        assert inbox.wait_for(b"yours") == [esl.image_topic(PREFIX, STORE, "bs-01", "L1")]
    finally:
        for client in (station, controller):
            client.loop_stop()
            client.disconnect()


def test_a_wrong_password_or_unknown_user_is_refused(broker: Broker):
    with pytest.raises(PermissionError):
        broker.connect("bs-01", password="not-the-password")
    with pytest.raises(PermissionError):
        broker.connect("bs-99", password="anything")
