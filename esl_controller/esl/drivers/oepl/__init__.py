"""OpenEPaperLink access points as base stations: the `oepl` driver.

An OEPL AP (ESP32 firmware, github.com/OpenEPaperLink/OpenEPaperLink) drives reflashed
SoluM and Hanshow tags. This driver talks to its web server (HTTP + the `/ws` websocket)
the way the firmware's own web UI and the Home Assistant integration do. See
docs/drivers/oepl.md for the options, the behaviour and the firmware files it follows.

Options of a station (`StationConfig.options`):
- `url` (required): the AP's address, `http://host[:port]`.
- `checkin_s`: the tags' check-in period in seconds (default: learned from the tags).
- `reconnect_s` (5), `timeout_s` (10), `ping_s` (20), `clock_tolerance_s` (120),
  `heard_every_s` (300): see docs/drivers/oepl.md.
The OEPL web server has no login, so there is no secret to name.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from esl_controller.esl.drivers.oepl.link import LinkOptions, MacClaims, OeplStationLink
from esl_controller.esl.link import LinkEvents, StationConfig, StationDriver
from esl_controller.labels.hardware import load_hardware_models

_NUMBERS = {
    "checkin_s": (0.05, 86400.0),
    "reconnect_s": (0.05, 3600.0),
    "timeout_s": (0.1, 120.0),
    "ping_s": (0.5, 600.0),
    "clock_tolerance_s": (1.0, 86400.0),
    "heard_every_s": (0.0, 86400.0),
}


class OeplStationDriver(StationDriver):
    name = "oepl"

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._claims = MacClaims()

    def validate_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(options) - {"url", *_NUMBERS})
        if unknown:
            raise ValueError(f"unknown option(s) for an OpenEPaperLink AP: {', '.join(unknown)}")
        url = options.get("url")
        if not isinstance(url, str) or not url:
            raise ValueError("an OpenEPaperLink AP needs `url`, e.g. http://192.168.1.50")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"`url` must be http://host[:port] of the AP, got {url!r}")
        if parts.path not in ("", "/") or parts.query or parts.username or parts.password:
            raise ValueError(
                f"`url` must be only the AP's address (no path, query or login): {url!r}"
            )
        try:
            parts.port  # noqa: B018 (raises on a bad port)
        except ValueError as exc:
            raise ValueError(f"`url` has a bad port: {url!r}") from exc
        clean: dict[str, Any] = {"url": f"{parts.scheme}://{parts.netloc}"}
        for name, (low, high) in _NUMBERS.items():
            if name not in options or options[name] is None:
                continue
            value = options[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"`{name}` must be a number of seconds, got {value!r}")
            if not low <= value <= high:
                raise ValueError(f"`{name}` must be between {low} and {high} seconds, got {value}")
            clean[name] = float(value)
        return clean

    def open(self, config: StationConfig, events: LinkEvents) -> OeplStationLink:
        options = LinkOptions(**self.validate_options(config.options))
        settings = getattr(self.context, "settings", None)
        templates = getattr(settings, "templates_dir", None)
        models = partial(load_hardware_models, templates / "hardware.yaml" if templates else None)
        return OeplStationLink(config, events, options, models, self._claims)


__all__ = ["OeplStationDriver", "OeplStationLink"]
