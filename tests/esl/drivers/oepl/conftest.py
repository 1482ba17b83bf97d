"""Fixtures for the OpenEPaperLink driver: emulated APs, the driver, a link that stops."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from esl_controller.esl.drivers.oepl import OeplStationDriver, OeplStationLink
from esl_controller.esl.link import StationConfig
from esl_controller.esl.registry import DriverContext
from tests.support.oepl import OeplApFactory, RecordingEvents


@pytest.fixture
def oepl_ap() -> Iterator[OeplApFactory]:
    factory = OeplApFactory()
    yield factory
    factory.stop()


@pytest.fixture
def oepl_driver(settings) -> OeplStationDriver:
    return OeplStationDriver(DriverContext(settings=settings))


@pytest.fixture
def open_link(
    oepl_driver: OeplStationDriver,
) -> Iterator[Callable[[StationConfig, RecordingEvents], OeplStationLink]]:
    links: list[OeplStationLink] = []

    def open_(config: StationConfig, events: RecordingEvents) -> OeplStationLink:
        link = oepl_driver.open(config, events)
        link.start()
        links.append(link)
        return link

    yield open_
    for link in links:
        link.stop()
