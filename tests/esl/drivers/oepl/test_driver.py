"""The `oepl` driver as the registry finds it, and its options."""

from __future__ import annotations

import pytest

from esl_controller.esl.drivers.oepl import OeplStationDriver
from esl_controller.esl.registry import DriverContext, load_driver


def test_the_registry_finds_the_oepl_driver(settings) -> None:
    assert isinstance(load_driver("oepl", DriverContext(settings=settings)), OeplStationDriver)


def test_options_are_cleaned(oepl_driver: OeplStationDriver) -> None:
    clean = oepl_driver.validate_options({"url": "http://10.0.0.5:8080/", "checkin_s": 30})
    assert clean == {"url": "http://10.0.0.5:8080", "checkin_s": 30.0}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs `url`"),
        ({"url": "ftp://ap"}, "http://host"),
        ({"url": "http://ap/admin"}, "no path"),
        ({"url": "http://user:pw@ap"}, "login"),
        ({"url": "http://ap:99999"}, "bad port"),
        ({"url": "http://ap", "checkin_s": "soon"}, "`checkin_s` must be a number"),
        ({"url": "http://ap", "timeout_s": 0}, "`timeout_s` must be between"),
        ({"url": "http://ap", "password": "x"}, "unknown option"),
    ],
)
def test_bad_options_say_what_is_wrong(
    oepl_driver: OeplStationDriver, options: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        oepl_driver.validate_options(options)
