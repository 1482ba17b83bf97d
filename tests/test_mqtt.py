from __future__ import annotations

import threading
import uuid

import pytest

from esl_controller.mqtt import MqttClient, parse_mqtt_url


def test_parse_mqtt_url_with_credentials() -> None:
    target = parse_mqtt_url("mqtt://bs%2D01:s3cret@broker.local:1884")
    assert (target.host, target.port, target.username, target.password, target.tls) == (
        "broker.local",
        1884,
        "bs-01",
        "s3cret",
        False,
    )
    assert parse_mqtt_url("mqtts://broker").port == 8883


@pytest.mark.parametrize("url", ["http://x:1883", "mqtt://", "broker:1883"])
def test_parse_mqtt_url_rejects_nonsense(url: str) -> None:
    with pytest.raises(ValueError, match="MQTT URL"):
        parse_mqtt_url(url)


@pytest.mark.mqtt
def test_a_failing_handler_is_counted_and_the_loop_keeps_running(mqtt_url: str) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    good: list[bytes] = []
    done = threading.Event()

    def handler(topic: str, payload: bytes) -> None:
        if payload == b"bad":
            raise ValueError("malformed")
        good.append(payload)
        if len(good) == 2:
            done.set()

    client = MqttClient(mqtt_url, client_id=f"test-{prefix}")
    client.subscribe(f"{prefix}/#", handler)
    client.start()
    try:
        for payload in (b"one", b"bad", b"two"):
            client.publish(f"{prefix}/x", payload)
        assert done.wait(10)
    finally:
        client.stop()
    assert good == [b"one", b"two"]
    assert client.errors[f"{prefix}/#"] == 1
