"""Keeps one live link per registered base station, whatever its driver.

Stations are rows: the CLI, the dashboard and the API add, change or remove them, and
the worker's `reconcile()` (run at start and on the `base_stations` row poll) opens,
re-opens or closes links to match. Drivers are loaded by the name a row carries (esl.registry), once
per worker, so the worker never learns which kinds exist.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.esl.link import StationConfig, StationDriver, StationLink
from esl_controller.esl.registry import DriverContext, UnknownDriver, load_driver
from esl_controller.incidents import record_incident
from esl_controller.models import BaseStation
from esl_controller.row_poll import RowPoll

log = logging.getLogger(__name__)

STATIONS_POLL_S = 5.0


@dataclass
class _Open:
    config: StationConfig
    link: StationLink


class StationLinks:
    def __init__(self, engine: Engine, context: DriverContext, dispatcher) -> None:
        self.engine = engine
        self.context = context
        self.dispatcher = dispatcher  # esl.dispatcher.Dispatcher: the links' LinkEvents
        self._drivers: dict[str, StationDriver] = {}
        self._open: dict[str, _Open] = {}
        self._refused: set[tuple[str, str]] = set()
        self.handover = RowPoll("base_stations", STATIONS_POLL_S, self._station_rows)

    def reconcile(self) -> None:
        """Open links for new stations, re-open changed ones, close removed ones."""
        with Session(self.engine) as session:
            rows = self.handover.fetch(session, utcnow())
            wanted = {row.id: self._config(row) for row in rows}
        for station_id in list(self._open):
            if station_id not in wanted or wanted[station_id] != self._open[station_id].config:
                self._close(station_id)
        for station_id, config in wanted.items():
            if config is not None and station_id not in self._open:
                self._start(config)

    def _station_rows(self, session: Session, _now: datetime) -> Sequence[BaseStation]:
        store = self.context.settings.store_id
        return session.scalars(select(BaseStation).where(BaseStation.store_id == store)).all()

    def stop(self) -> None:
        for station_id in list(self._open):
            self._close(station_id)
        for driver in self._drivers.values():
            try:
                driver.stop()
            except Exception:
                log.exception("driver %s failed to stop", driver.name)
        self._drivers.clear()

    def _config(self, row: BaseStation) -> StationConfig | None:
        try:
            options = json.loads(row.options or "{}")
            if not isinstance(options, dict):
                raise ValueError("options must be a JSON object")
        except ValueError as exc:
            self._refuse(row.id, row.driver, f"its options are not valid: {exc}")
            return None
        return StationConfig(row.id, row.store_id, row.driver, options, row.name)

    def _driver(self, name: str) -> StationDriver:
        driver = self._drivers.get(name)
        if driver is None:
            driver = load_driver(name, self.context)
            driver.start()
            self._drivers[name] = driver
        return driver

    def _start(self, config: StationConfig) -> None:
        try:
            driver = self._driver(config.driver)
            driver.validate_options(config.options)
            link = driver.open(config, self.dispatcher)
            link.start()
        except (UnknownDriver, ValueError) as exc:
            self._refuse(config.station_id, config.driver, str(exc))
            return
        except Exception as exc:  # one station's driver must not keep the others down
            log.exception("could not open base station %s", config.station_id)
            self._refuse(config.station_id, config.driver, f"{type(exc).__name__}: {exc}")
            return
        self.dispatcher.attach(link)
        self._open[config.station_id] = _Open(config, link)
        log.info("base station %s linked (%s driver)", config.station_id, config.driver)

    def _close(self, station_id: str) -> None:
        entry = self._open.pop(station_id)
        self.dispatcher.detach(station_id)
        try:
            entry.link.stop()
        except Exception:
            log.exception("link of base station %s failed to stop", station_id)

    def _refuse(self, station_id: str, driver: str, why: str) -> None:
        if (station_id, why) in self._refused:
            return
        self._refused.add((station_id, why))
        with session_scope(self.engine) as session:
            record_incident(
                session,
                "station_refused",
                station_id,
                f"not linked ({driver} driver): {why}",
                store_id=self.context.settings.store_id,
            )
