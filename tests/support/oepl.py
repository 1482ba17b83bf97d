"""Builders for OpenEPaperLink driver tests: emulated APs and a recorder of link events.

`OeplApFactory` starts emulators with N tags on free ports and hands back each one with
the `StationConfig` that points the `oepl` driver at it; `stop()` ends them all.
`RecordingEvents` is the seam's other side (what the dispatcher implements), recording
every call so a test can wait for one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from esl_controller.esl.link import HeardLabel, StationConfig, StationInfo, Telemetry
from esl_controller.sims.oepl_ap import DEFAULT_HW_TYPES, OeplApEmulator

WAIT_S = 15.0


class OeplApFactory:
    """Emulated APs on free ports; each comes with a StationConfig for the `oepl` driver."""

    def __init__(self) -> None:
        self.started: list[OeplApEmulator] = []

    def __call__(
        self,
        tags: int = 4,
        checkin_s: float = 0.3,
        hw_types: Iterable[int] = DEFAULT_HW_TYPES,
        station_id: str | None = None,
        store_id: str = "store-1",
        mac_prefix: int = 0x0000021F,
        **options: Any,
    ) -> tuple[OeplApEmulator, StationConfig]:
        ap = OeplApEmulator(
            tags=tags,
            checkin_s=checkin_s,
            hw_types=hw_types,
            mac_prefix=mac_prefix,
            sysinfo_every_s=0.5,
        ).start()
        self.started.append(ap)
        config = StationConfig(
            station_id=station_id or f"oepl-{len(self.started)}",
            store_id=store_id,
            driver="oepl",
            options={"url": ap.url, "reconnect_s": 0.2, "timeout_s": 3.0, **options},
            name="emulated OEPL AP",
        )
        return ap, config

    def stop(self) -> None:
        for ap in self.started:
            ap.stop()


@dataclass
class RecordingEvents:
    """LinkEvents that record every call (thread-safe), for driver-level tests."""

    calls: list[tuple[str, tuple]] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def _record(self, name: str, *args: Any) -> None:
        with self._changed:
            self.calls.append((name, args))
            self._changed.notify_all()

    def delivered(
        self, station_id: str, label_id: str, seq: int, telemetry: Telemetry | None = None
    ) -> None:
        self._record("delivered", station_id, label_id, seq, telemetry)

    def refused(self, station_id: str, label_id: str, seq: int, reason: str) -> None:
        self._record("refused", station_id, label_id, seq, reason)

    def busy(self, station_id: str, label_id: str, seq: int, retry_after_s: float) -> None:
        self._record("busy", station_id, label_id, seq, retry_after_s)

    def station_online(self, station_id: str, info: StationInfo) -> None:
        self._record("station_online", station_id, info)

    def station_offline(self, station_id: str, reason: str) -> None:
        self._record("station_offline", station_id, reason)

    def station_status(self, station_id: str, info: StationInfo) -> None:
        self._record("station_status", station_id, info)

    def labels_heard(self, station_id: str, labels: list[HeardLabel]) -> None:
        self._record("labels_heard", station_id, list(labels))

    def malformed(self, station_id: str, kind: str, detail: str) -> None:
        self._record("malformed", station_id, kind, detail)

    # -- reading ----------------------------------------------------------------------------

    def of(self, name: str) -> list[tuple]:
        with self._changed:
            return [args for call, args in self.calls if call == name]

    def heard(self) -> dict[str, HeardLabel]:
        """The latest HeardLabel per label id."""
        return {label.label_id: label for _, labels in self.of("labels_heard") for label in labels}

    def wait_for(
        self, condition: Callable[[RecordingEvents], bool], timeout: float = WAIT_S
    ) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.1))
        return True

    def wait_count(self, name: str, count: int, timeout: float = WAIT_S) -> list[tuple]:
        self.wait_for(lambda e: len(e.of(name)) >= count, timeout)
        return self.of(name)
