"""A private Mosquitto started by a test on a free port, with the config the test wrote,
and the clients that talk to it: each logs in, and an inbox records what arrives in order."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as paho

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def private_mosquitto(
    directory: Path, *, acl: Path, passwd: Path, bridge: str = ""
) -> Iterator[int]:
    """Run mosquitto with only authenticated clients, `acl` and `passwd`; yield its port.

    `bridge` is a bridge section (`connection ...`): it goes last, as in a store's config."""
    assert MOSQUITTO, "check MOSQUITTO before calling"
    port = free_port()
    config = directory / "mosquitto.conf"
    config.write_text(
        "\n".join(
            [
                "per_listener_settings false",
                "allow_anonymous false",
                f"password_file {passwd}",
                f"acl_file {acl}",
                "persistence false",
                f"user {getpass.getuser()}",  # started as root it would switch to `mosquitto`
                f"listener {port} 127.0.0.1",
                "log_dest stderr",
                bridge,
                "",
            ]
        )
    )
    log = (directory / "mosquitto.log").open("w")
    process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {(directory / 'mosquitto.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@dataclass
class Inbox:
    received: list[tuple[str, bytes]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, topic: str, payload: bytes) -> None:
        with self.changed:
            self.received.append((topic, payload))
            self.changed.notify_all()

    def wait_for(self, payload: bytes, timeout: float = 15) -> list[str]:
        """Topics received up to and including the message carrying `payload`."""
        with self.changed:
            found = self.changed.wait_for(
                lambda: any(body == payload for _, body in self.received), timeout
            )
            assert found, f"{payload!r} never arrived; got {self.received}"
            index = next(i for i, (_, body) in enumerate(self.received) if body == payload)
            return [topic for topic, _ in self.received[: index + 1]]

    def arrived(self, payload: bytes, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(
                lambda: any(body == payload for _, body in self.received), timeout
            )

    def wait_for_topic(self, topic: str, timeout: float = 15) -> bytes:
        """The payload of the first message on `topic`."""
        with self.changed:
            found = self.changed.wait_for(
                lambda: any(seen == topic for seen, _ in self.received), timeout
            )
            assert found, f"nothing arrived on {topic}; got {self.received}"
            return next(body for seen, body in self.received if seen == topic)


@dataclass
class Broker:
    port: int
    passwords: dict[str, str]

    def connect(self, user: str, password: str | None = None, inbox: Inbox | None = None):
        client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=f"{user}-{uuid.uuid4().hex[:6]}",
            protocol=paho.MQTTv311,
        )
        client.username_pw_set(user, password if password is not None else self.passwords[user])
        connected = threading.Event()
        outcome: list[object] = []

        def on_connect(_client, _userdata, _flags, reason_code, _props) -> None:
            outcome.append(reason_code)
            connected.set()

        client.on_connect = on_connect
        if inbox is not None:
            client.on_message = lambda _c, _u, message: inbox.add(message.topic, message.payload)
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        assert connected.wait(15), f"{user} got no CONNACK"
        if outcome[0].is_failure:
            client.loop_stop()
            raise PermissionError(str(outcome[0]))
        return client


def subscribe(client: paho.Client, topic: str) -> None:
    done = threading.Event()
    client.on_subscribe = lambda *_args: done.set()
    client.subscribe(topic, qos=1)
    assert done.wait(15)


def publish(client: paho.Client, topic: str, payload: bytes) -> None:
    client.publish(topic, payload, qos=1).wait_for_publish(15)
