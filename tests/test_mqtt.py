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


@pytest.mark.mqtt
def test_a_durable_message_not_acked_is_delivered_again_after_a_restart(mqtt_url: str) -> None:
    """Proof of play is acked only after commit: a worker dying before that loses nothing."""
    import paho.mqtt.client as paho

    prefix = f"t{uuid.uuid4().hex[:8]}"
    client_id = f"durable-{prefix}"
    topic = f"{prefix}/pop"
    got: list[tuple[str, object]] = []
    first_seen = threading.Event()

    def never_ack(topic: str, payload: bytes, ack) -> None:
        got.append(("first", payload))
        first_seen.set()

    first = MqttClient(mqtt_url, client_id=client_id)
    first.subscribe_durable(topic, never_ack)
    first.start()
    sender = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"send-{prefix}")
    target = first.target
    sender.connect(target.host, target.port)
    sender.loop_start()
    sender.publish(topic, b"play-1", qos=1).wait_for_publish(5)
    assert first_seen.wait(10)
    first.stop()  # "crash" before the commit: the message was never acked

    again = threading.Event()

    def ack_it(topic: str, payload: bytes, ack) -> None:
        got.append(("second", payload))
        ack()
        again.set()

    second = MqttClient(mqtt_url, client_id=client_id)
    second.subscribe_durable(topic, ack_it)
    second.start()
    try:
        assert again.wait(10)
    finally:
        second.stop()
        sender.loop_stop()
        sender.disconnect()
    assert got == [("first", b"play-1"), ("second", b"play-1")]
