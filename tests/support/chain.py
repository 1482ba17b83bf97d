"""A chain for tests: stores on one database, each with its own base station and labels,
and `esl-controller worker` processes started with a store's environment."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from esl_controller import db
from esl_controller.catalogue.gtin import gtin_check_digit
from esl_controller.models import BaseStation, Label, Product
from esl_controller.stores import StoreChange, add_store

ESL_CONTROLLER = Path(sys.executable).with_name("esl-controller")


def seed_chain_store(engine: Engine, store_id: str, labels: int, gtin_offset: int) -> list[str]:
    """A store (added as `store add` does) with one base station `bs-<store>` and `labels`
    bound labels `<store>-L<n>`; returns the label ids."""
    with db.session_scope(engine) as session:
        change = StoreChange(
            name=f"Store {store_id}", timezone="Europe/Bucharest", locale="ro_RO", currency="RON"
        )
        add_store(session, store_id, change, actor="test")
        session.add(BaseStation(id=f"bs-{store_id}", store_id=store_id))
        session.flush()
        ids = []
        for n in range(labels):
            product = Product(
                store_id=store_id,
                gtin=_gtin(gtin_offset + n),
                name=f"Cașcaval {store_id} {n}",
                price_minor=1000 + n,
                currency="RON",
            )
            session.add(product)
            session.flush()
            label_id = f"{store_id}-L{n}"
            session.add(
                Label(
                    id=label_id,
                    store_id=store_id,
                    model="2.9-bwr",
                    base_station_id=f"bs-{store_id}",
                    product_id=product.id,
                )
            )
            ids.append(label_id)
    return ids


def _gtin(n: int) -> str:
    body = f"594{n:09d}"
    return body + str(gtin_check_digit(body))


@dataclass
class WorkerProcess:
    """One `esl-controller worker` for one store; its output goes to `log`."""

    store_id: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """An unclean stop: no lease release, no goodbye to the broker."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def start_worker(
    database_url: str, store_id: str, mqtt_url: str, prefix: str, data_dir: Path
) -> WorkerProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ESL_")}
    env.update(
        ESL_DATABASE_URL=database_url,
        ESL_STORE_ID=store_id,
        ESL_MQTT_URL=mqtt_url,
        ESL_TOPIC_PREFIX=prefix,
        ESL_DATA_DIR=str(data_dir),
        ESL_SECRET_KEY=secrets.token_hex(32),
        ESL_RENDER_WORKERS="1",
        ESL_OUTBOX_POLL="0.1",
        ESL_ACK_TIMEOUT="5",
        ESL_RETRY_BASE="0.2",
        ESL_RETRY_MAX="1",
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"worker-{store_id}-{secrets.token_hex(3)}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(ESL_CONTROLLER), "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return WorkerProcess(store_id, process, log)
