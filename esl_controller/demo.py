"""`esl-controller demo`: the whole system moving in one process, on embedded defaults.

A SQLite file, a local MQTT broker (unless ESL_MQTT_URL names one), a seeded demo
store, a simulated ERP over HTTP whose prices change every minute, simulated base stations
with radio airtime, the worker (which syncs the ERP) and the dashboard.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from tqdm import tqdm

from esl_controller import db
from esl_controller.broker import LocalBroker, free_port, start_local_broker
from esl_controller.config import Settings
from esl_controller.demo_seed import (
    DEMO_AP_MAC_PREFIX,
    DEMO_AP_STATION,
    DEMO_AP_TAG_TYPES,
    DEMO_PASSWORD,
    DEMO_PLAYERS,
    DEMO_USER,
    seed_access_point,
    seed_demo_store,
)
from esl_controller.models import Label, Product
from esl_controller.sims.base_station import BaseStationSim
from esl_controller.sims.erp import ErpSimulator
from esl_controller.sims.oepl_ap import OeplApEmulator
from esl_controller.sims.player import PlayerSim
from esl_controller.sims.sensors import SensorPlan, SensorSim
from esl_controller.worker import Worker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    products: int = 300
    stations: int = 4
    airtime_s: float = 0.05
    web_port: int = 8080
    exit_when_delivered: bool = False
    price_change_every_s: float = 60.0
    sync_every_s: float = 30.0
    trigger_every_s: float = 20.0
    delivery_timeout_s: float = 300.0
    access_point_tags: int = 6  # tags on the emulated OpenEPaperLink AP (0: no AP)
    access_point_checkin_s: float = 2.0


def run_demo(settings: Settings, options: DemoOptions, wait: Callable[[], None]) -> int:
    """Start everything, show delivery progress, then `wait()` (Ctrl-C) unless told to exit."""
    stack = _DemoStack(settings, options)
    try:
        stack.start()
        delivered = stack.show_delivery_progress()
        if options.exit_when_delivered:
            return 0 if delivered else 1
        wait()
        return 0
    finally:
        stack.stop()


class _DemoStack:
    def __init__(self, settings: Settings, options: DemoOptions) -> None:
        self.settings = settings
        self.options = options
        self.broker: LocalBroker | None = None
        self.engine: Engine | None = None
        self.sims: BaseStationSim | None = None
        self.worker: Worker | None = None
        self.web_server = None
        self.erp: ErpSimulator | None = None
        self.players: PlayerSim | None = None
        self.sensors: SensorSim | None = None
        self.access_point: OeplApEmulator | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        logging.getLogger("esl_controller.incidents").setLevel(logging.ERROR)
        if not self.settings.mqtt_url:
            self.broker = start_local_broker(self.settings.data_dir, self.settings.local_broker)
            self.settings = self.settings.with_overrides(mqtt_url=self.broker.url)
        self._start_erp()
        if "browser" not in self.settings.player_channels:
            # So a browser opened at /screen can be paired and play in the demo too.
            channels = (*self.settings.player_channels, "browser")
            self.settings = self.settings.with_overrides(player_channels=channels)
        self.engine = db.make_engine(self.settings.resolved_database_url)
        db.init_db(self.engine)
        self._choose_web_port()  # before the worker: players fetch media from the web
        stations = seed_demo_store(
            self.engine,
            self.settings.store_id,
            self.options.products,
            self.options.stations,
            self.settings,
        )
        self.sims = BaseStationSim(
            self.settings.mqtt_url,
            self.settings.topic_prefix,
            self.settings.store_id,
            stations,
            image_dir=self.settings.label_images_dir,
            airtime_s=self.options.airtime_s,
        )
        self.sims.start()
        ap_line = self._start_access_point()
        self.worker = Worker(self.settings, self.engine).start()
        url = self._start_web()
        self._start_signage_devices()
        print(
            "\n  esl-controller demo\n"
            f"  dashboard      {url}   (login: {DEMO_USER} / {DEMO_PASSWORD})\n"
            f"  MQTT broker    {self._broker_line()}\n"
            f"  database       {self.settings.resolved_database_url}\n"
            f"  ERP feed       {self.settings.erp_url} (synced every "
            f"{self.settings.sync_interval_s:g} s)\n"
            f"  label images   {self.settings.label_images_dir}/<station>/<label>.png\n"
            f"  access point   {ap_line}\n"
            f"  screens        {', '.join(DEMO_PLAYERS)} (simulated players; a camera in\n"
            "                 dairy and a shelf sensor send triggers every few seconds)\n"
            f"  browser screen {url}screen   (pair it at Players -> Pair a screen)\n"
            "  Ctrl-C stops everything.\n",
            flush=True,
        )

    def _start_access_point(self) -> str:
        """An emulated OpenEPaperLink AP whose tags show demo products, through the same
        seam as the MQTT base stations (docs/drivers/oepl.md)."""
        if not self.options.access_point_tags:
            return "none"
        self.access_point = OeplApEmulator(
            tags=self.options.access_point_tags,
            checkin_s=self.options.access_point_checkin_s,
            hw_types=DEMO_AP_TAG_TYPES,
            mac_prefix=DEMO_AP_MAC_PREFIX,
        ).start()
        assert self.engine is not None
        seed_access_point(
            self.engine, self.settings.store_id, DEMO_AP_STATION, self.access_point.url,
            self.access_point.macs(),
        )  # fmt: skip
        return (
            f"{DEMO_AP_STATION} at {self.access_point.url} (emulated OpenEPaperLink, "
            f"{self.options.access_point_tags} tags, check-in every "
            f"{self.options.access_point_checkin_s:g} s)"
        )

    def _broker_line(self) -> str:
        if self.broker is None:
            return self.settings.mqtt_url
        return f"{self.broker.url} (local {self.broker.kind}; websockets {self.broker.ws_url})"

    def _start_erp(self) -> None:
        """The simulated ERP serves the demo catalogue and changes a few prices a minute;
        the worker syncs it on a short interval so the manager sees labels follow."""
        if self.settings.erp_url:
            return  # a real (or separately started) ERP was configured
        self.erp = ErpSimulator(
            products=self.options.products, store_id=self.settings.store_id, token="demo"
        ).start()
        self.erp.drift_every(self.options.price_change_every_s)
        self.settings = self.settings.with_overrides(
            erp_feed="json",
            erp_url=self.erp.url,
            erp_token="demo",
            sync_interval_s=self.options.sync_every_s,
        )

    def _choose_web_port(self) -> None:
        port = self.options.web_port
        if port == 0 or not _port_free(self.settings.web_host, port):  # 0: any free port
            port = free_port(self.settings.web_host)
        self.settings = self.settings.with_overrides(web_port=port)

    def _start_web(self) -> str:
        from waitress import create_server

        from esl_controller.web import create_app

        app = create_app(self.settings, self.engine)
        host, port = self.settings.web_host, self.settings.web_port
        # Each browser screen at /screen holds a thread for its event stream.
        self.web_server = create_server(app, host=host, port=port, threads=24, connection_limit=240)
        threading.Thread(target=self.web_server.run, name="demo-web", daemon=True).start()
        return f"http://{host}:{port}/"

    def _start_signage_devices(self) -> None:
        """Screens that follow their playlists and report proof of play, and sensors."""
        self.players = PlayerSim(
            self.settings.mqtt_url,
            self.settings.topic_prefix,
            self.settings.store_id,
            list(DEMO_PLAYERS),
        ).start()
        with Session(self.engine) as session:
            gtins = [p.gtin for p in session.scalars(select(Product).limit(12))]
        plan = SensorPlan(audience_zone="dairy", pickup_zone="electronics", pickup_gtins=gtins,
                          every_s=self.options.trigger_every_s)  # fmt: skip
        self.sensors = SensorSim(
            self.settings.mqtt_url, self.settings.topic_prefix, self.settings.store_id, plan
        ).start()

    def show_delivery_progress(self) -> bool:
        """A progress bar until every bound label is acknowledged by its base station."""
        assert self.engine is not None
        deadline = time.monotonic() + self.options.delivery_timeout_s
        with tqdm(total=_bound_labels(self.engine), unit="label", desc="labels acked") as bar:
            while time.monotonic() < deadline and not self._stop.is_set():
                acked = _acked_labels(self.engine)
                bar.n = acked
                bar.refresh()
                if acked >= bar.total:
                    return True
                time.sleep(0.5)
        return False

    def stop(self) -> None:
        self._stop.set()
        for part in (self.sensors, self.players, self.worker, self.sims, self.access_point):
            if part is not None:
                part.stop()
        if self.web_server is not None:
            self.web_server.close()
        if self.broker is not None:
            self.broker.stop()
        if self.erp is not None:
            self.erp.stop()


def _bound_labels(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(
            select(func.count()).select_from(Label).where(Label.product_id.is_not(None))
        )


def _acked_labels(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Label).where(Label.state == "acked"))


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
