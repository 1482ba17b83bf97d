"""Simulated in-store sensors: an audience camera and shelf pick-up sensors, over MQTT.

They publish only what the privacy guard accepts: anonymous audience aggregates (a count,
age-band and gender shares, dwell and attention) and shelf events with a product's GTIN.
The demo uses them so targeted content visibly replaces the schedule now and then.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import paho.mqtt.client as paho

from esl_controller.clock import utcnow
from esl_controller.mqtt import parse_mqtt_url
from esl_controller.signage.drivers.mqtt import topics


@dataclass(frozen=True)
class SensorPlan:
    audience_zone: str  # where the camera counts shoppers
    pickup_zone: str  # where the shelf sensors are
    pickup_gtins: Sequence[str]
    every_s: float = 20.0


def audience_trigger(sensor: str, zone: str, rng: random.Random) -> dict:
    count = rng.randint(1, 8)
    return {
        "type": "audience",
        "sensor": sensor,
        "zone": zone,
        "at": utcnow().isoformat(),
        "count": count,
        "age_bands": {"25-34": 0.4, "35-44": 0.35, "45-54": 0.25},
        "gender": {"female": 0.55, "male": 0.45},
        "dwell_s": round(rng.uniform(2, 15), 1),
        "attention_s": round(rng.uniform(0.5, 6), 1),
    }


def pickup_trigger(sensor: str, zone: str, gtin: str) -> dict:
    return {"type": "zone", "sensor": sensor, "zone": zone, "at": utcnow().isoformat(),
            "event": "pickup", "gtin": gtin}  # fmt: skip


class SensorSim:
    """Alternates an audience count and a shelf pick-up every `plan.every_s` seconds."""

    def __init__(self, mqtt_url: str, prefix: str, store: str, plan: SensorPlan, seed: int = 3):
        self.prefix, self.store, self.plan = prefix, store, plan
        self.rng = random.Random(seed)
        self.sent = 0
        self._stop = threading.Event()
        target = parse_mqtt_url(mqtt_url)
        self._client = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=f"sensors-{uuid.uuid4().hex[:8]}"
        )
        if target.username:
            self._client.username_pw_set(target.username, target.password)
        self._target = target
        self._thread = threading.Thread(target=self._run, name="demo-sensors", daemon=True)

    def start(self) -> SensorSim:
        self._client.connect(self._target.host, self._target.port)
        self._client.loop_start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._client.loop_stop()
        self._client.disconnect()

    def _run(self) -> None:
        turn = 0
        while not self._stop.wait(self.plan.every_s / 2):
            if turn % 2 == 0:
                self._send("camera-1", audience_trigger("camera-1", self.plan.audience_zone,
                                                        self.rng))  # fmt: skip
            elif self.plan.pickup_gtins:
                gtin = self.rng.choice(list(self.plan.pickup_gtins))
                self._send("shelf-1", pickup_trigger("shelf-1", self.plan.pickup_zone, gtin))
            turn += 1

    def _send(self, sensor: str, trigger: dict) -> None:
        topic = topics.trigger_topic(self.prefix, self.store, sensor)
        self._client.publish(topic, json.dumps(trigger).encode(), qos=1)
        self.sent += 1
