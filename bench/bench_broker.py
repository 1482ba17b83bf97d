"""QoS 1 throughput through each local broker this machine has, side by side in one run.

For every broker (Mosquitto from PATH with the generated config, the embedded rumqttd, and
amqtt if it happens to be installed, for comparison), one publisher process sends QoS 1
messages to one subscriber process over loopback, with 100 messages in flight. Prints, per
payload size, the end-to-end rate (first publish -> last message received) and the rate
at which the publisher got its PUBACKs. Client and broker share the machine's cores, so the
figures are what the controller would see here, not the broker's ceiling.

    python bench/bench_broker.py                          # 5,000 messages of 200 B and 2 KB
    python bench/bench_broker.py --messages 20000 --payloads 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing as mp
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho

from esl_controller.broker import available_kinds, free_port, start_local_broker
from esl_controller.mqtt import parse_mqtt_url

INFLIGHT = 100
WAIT_S = 120.0


def _client(url: str, name: str) -> paho.Client:
    target = parse_mqtt_url(url)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex}")
    client.max_inflight_messages_set(INFLIGHT)
    client.max_queued_messages_set(0)
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    client.connect(target.host, target.port, keepalive=30)
    client.loop_start()
    if not connected.wait(10):
        raise ConnectionError(f"{name}: no connection to {url}")
    return client


def _subscribe(url: str, topic: str, count: int, ready, results) -> None:
    client = _client(url, "bench-sub")
    received = 0
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(_client, _userdata, _message) -> None:
        nonlocal received
        received += 1
        if received == count:
            results.put(("last_received", time.monotonic()))
            done.set()

    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.subscribe(topic, qos=1)
    subscribed.wait(10)
    ready.set()
    if not done.wait(WAIT_S):
        results.put(("last_received", None))
    results.put(("received", received))
    client.disconnect()
    client.loop_stop()


def _publish(url: str, topic: str, count: int, payload_size: int, go, results) -> None:
    client = _client(url, "bench-pub")
    payload = bytes(payload_size)
    acked = 0
    all_acked = threading.Event()

    def on_publish(*_args) -> None:
        nonlocal acked
        acked += 1
        if acked == count:
            all_acked.set()

    client.on_publish = on_publish
    go.wait()
    started = time.monotonic()
    for _ in range(count):
        client.publish(topic, payload, qos=1)
    all_acked.wait(WAIT_S)
    results.put(("first_sent", started))
    results.put(("all_acked", time.monotonic() if all_acked.is_set() else None))
    client.disconnect()
    client.loop_stop()


def measure(url: str, count: int, payload_size: int) -> dict[str, float | None]:
    topic = f"bench/{uuid.uuid4().hex[:8]}/qos1"
    ready, go, results = mp.Event(), mp.Event(), mp.Queue()
    sub = mp.Process(target=_subscribe, args=(url, topic, count, ready, results))
    pub = mp.Process(target=_publish, args=(url, topic, count, payload_size, go, results))
    sub.start()
    ready.wait(15)
    pub.start()
    go.set()
    figures: dict = {}
    while len(figures) < 4:
        key, value = results.get(timeout=WAIT_S + 30)
        figures[key] = value
    pub.join()
    sub.join()
    start, last, acked = figures["first_sent"], figures["last_received"], figures["all_acked"]
    return {
        "end_to_end": count / (last - start) if last else None,
        "acked": count / (acked - start) if acked else None,
        "received": figures["received"],
    }


@contextlib.contextmanager
def _amqtt() -> Iterator[str]:
    """amqtt in a thread of this process (the clients run in their own processes)."""
    from amqtt.broker import Broker

    logging.getLogger("amqtt").setLevel(logging.CRITICAL)
    port = free_port()
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    loop = asyncio.new_event_loop()
    broker = Broker(config, loop=loop)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(broker.start())
        started.set()
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    started.wait(15)
    try:
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(broker.shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)


@contextlib.contextmanager
def _local(kind: str, data_dir: Path) -> Iterator[str]:
    with start_local_broker(data_dir / kind, kind) as broker:
        yield broker.url


def brokers(
    data_dir: Path, wanted: list[str]
) -> Iterator[tuple[str, contextlib.AbstractContextManager]]:
    for kind in available_kinds():
        if kind in wanted:
            yield str(kind), _local(kind, data_dir)
    if "amqtt" in wanted:
        try:
            import amqtt  # noqa: F401
        except ImportError:
            print("amqtt: not installed, skipped (pip install amqtt to compare)")
        else:
            yield "amqtt", _amqtt()


def _rate(value: float | None) -> str:
    return f"{value:,.0f}" if value else "timed out"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--payloads", default="200,2000", help="payload sizes in bytes")
    parser.add_argument("--brokers", default="mosquitto,rumqttd,amqtt")
    args = parser.parse_args()
    sizes = [int(size) for size in args.payloads.split(",")]
    print(f"QoS 1, {args.messages:,} messages per run, {INFLIGHT} in flight, 1 pub -> 1 sub")
    print(f"{'broker':<10} {'payload':>8} {'end-to-end msg/s':>17} {'PUBACK msg/s':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, running in brokers(Path(tmp), args.brokers.split(",")):
            with running as url:
                for size in sizes:
                    measure(url, min(500, args.messages), size)  # warm-up: connections, caches
                    result = measure(url, args.messages, size)
                    print(
                        f"{name:<10} {size:>7}B {_rate(result['end_to_end']):>17} "
                        f"{_rate(result['acked']):>13}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
