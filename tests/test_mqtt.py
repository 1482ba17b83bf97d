from __future__ import annotations

import threading
import time
import uuid

import pytest

from esl_controller.mqtt import InOrderAcks, MqttClient, parse_mqtt_url


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


def test_acks_go_out_in_the_order_the_messages_came():
    sent: list[int] = []
    acks = InOrderAcks(lambda mid, qos: sent.append(mid))
    first, second, third = (acks.received(mid, 1) for mid in (1, 2, 3))
    second()
    third()
    assert sent == []  # held back by the uncommitted first message
    first()
    assert sent == [1, 2, 3]
    first()  # a second release changes nothing
    assert sent == [1, 2, 3]


def test_acks_of_a_lost_connection_are_never_sent():
    sent: list[int] = []
    now = [100.0]
    acks = InOrderAcks(lambda mid, qos: sent.append(mid), clock=lambda: now[0])
    stale = acks.received(7, 1)
    now[0] += 5
    assert acks.held_for() == 5
    acks.connection_lost()
    assert acks.held_for() == 0
    stale()
    fresh = acks.received(7, 1)  # the broker delivers it again, maybe with the same id
    fresh()
    assert sent == [7]


def _sender(url: str, client_id: str):
    import paho.mqtt.client as paho

    target = parse_mqtt_url(url)
    sender = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id)
    sender.connect(target.host, target.port)
    sender.loop_start()
    return sender


@pytest.mark.mqtt
def _probe_subscription(client: MqttClient, topic: str) -> threading.Event:
    """Subscribed last: once a probe arrives, the broker holds every earlier subscription
    of the client too (it takes one client's SUBSCRIBEs in order), so nothing the test
    sends next can reach the broker before the client listens."""
    heard = threading.Event()
    client.subscribe(topic, lambda _topic, _payload: heard.set())
    return heard


def _until_subscribed(sender, topic: str, heard: threading.Event) -> None:
    for _ in range(100):
        sender.publish(topic, b"probe", qos=1).wait_for_publish(5)
        if heard.wait(0.2):
            return
    raise AssertionError("the client never subscribed")


def test_a_message_done_before_an_uncommitted_one_keeps_the_connection(each_local_broker):
    """rumqttd drops a client that acks out of order; the wrapper must never do that."""
    url = each_local_broker.url
    prefix = f"t{uuid.uuid4().hex[:8]}"
    held: list = []
    seen: list[bytes] = []
    status_seen = threading.Event()

    def durable(topic: str, payload: bytes, ack) -> None:
        seen.append(payload)
        held.append(ack)  # committed later

    def ordinary(topic: str, payload: bytes) -> None:
        seen.append(payload)
        status_seen.set()

    client = MqttClient(url, client_id=f"order-{prefix}")
    client.subscribe_durable(f"{prefix}/pop", durable)
    client.subscribe(f"{prefix}/status", ordinary)
    subscribed = _probe_subscription(client, f"{prefix}/probe")
    client.start()
    sender = _sender(url, f"send-{prefix}")
    try:
        _until_subscribed(sender, f"{prefix}/probe", subscribed)
        sender.publish(f"{prefix}/pop", b"play-1", qos=1).wait_for_publish(5)
        sender.publish(f"{prefix}/status", b"online", qos=1).wait_for_publish(5)
        assert status_seen.wait(10)
        held[0]()  # the play is committed now
        sender.publish(f"{prefix}/status", b"still here", qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 10
        while b"still here" not in seen and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # a dropped connection would bring play-1 back by now
        assert client.connected
        assert seen == [b"play-1", b"online", b"still here"]
    finally:
        client.stop()
        sender.loop_stop()
        sender.disconnect()


@pytest.mark.mqtt
def test_a_message_never_committed_is_handed_back_to_the_broker(each_local_broker):
    url = each_local_broker.url
    prefix = f"t{uuid.uuid4().hex[:8]}"
    deliveries: list[bytes] = []
    again = threading.Event()

    def forgetful(topic: str, payload: bytes, ack) -> None:
        deliveries.append(payload)
        if len(deliveries) == 2:
            ack()
            again.set()

    client = MqttClient(url, client_id=f"patience-{prefix}", ack_patience_s=0.5)
    client.subscribe_durable(f"{prefix}/pop", forgetful)
    subscribed = _probe_subscription(client, f"{prefix}/probe")
    client.start()
    sender = _sender(url, f"send-{prefix}")
    try:
        _until_subscribed(sender, f"{prefix}/probe", subscribed)
        sender.publish(f"{prefix}/pop", b"play-1", qos=1).wait_for_publish(5)
        # A safety net, not a speed claim: the client reconnects with backoff, which a
        # loaded machine stretches (15 s was once not enough in CI).
        assert again.wait(60)
    finally:
        client.stop()
        sender.loop_stop()
        sender.disconnect()
    assert deliveries == [b"play-1", b"play-1"]
