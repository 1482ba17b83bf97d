"""When a command sent to an OpenEPaperLink AP counts as delivered. Pure state, no I/O.

The AP answers an upload with 200 as soon as it has stored the file; the tag takes the
image only at its next check-in. The firmware then (newproto.cpp processXferComplete)
lowers the tag's pending count, sets its hash to the new data version and increments its
update count, and pushes the record. So a command is delivered when the AP accepted it
AND a later record of the tag shows nothing pending and an update count above the one it
had when we sent (or, from firmware without an update count, a different hash). A record
showing that before the 200 arrives is remembered, not lost. A `clear` (drop what is
queued) is done when a record shows nothing pending.

The AP does not queue an image identical to what the tag shows (it logs "new image is
the same as current image"), so that upload never raises the update count. When, after
the 200, the tag checks in (its last-seen moves) with nothing pending and the same update
count, the AP had nothing to send it: the tag already shows the image, which counts as
delivered. That is what a controller restarted mid-push meets when it re-sends.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from esl_controller.esl.drivers.oepl.records import TagRecord


@dataclass
class _Expected:
    seq: int
    base_update_count: int | None
    base_hash: str
    clear: bool
    accepted: bool = False
    confirmed: bool = False
    lastseen_at_accept: int | None = None  # the tag's last check-in when the AP said 200


class DeliveryTracker:
    """One expected confirmation per tag; a newer command for a tag replaces the older one
    (the AP, too, replaces an image still queued for a tag)."""

    def __init__(self) -> None:
        self._expected: dict[str, _Expected] = {}
        self._lock = threading.Lock()

    def expect(self, mac: str, seq: int, last: TagRecord | None, clear: bool = False) -> None:
        with self._lock:
            self._expected[mac] = _Expected(
                seq,
                last.update_count if last else None,
                last.hash if last else "",
                clear,
            )

    def accepted(self, mac: str, seq: int, current: TagRecord | None = None) -> bool:
        """The AP took the command (HTTP 200); `current` is the tag's newest record. True
        when it is already confirmed."""
        with self._lock:
            expected = self._expected.get(mac)
            if expected is None or expected.seq != seq:
                return False
            expected.accepted = True
            expected.lastseen_at_accept = current.lastseen if current else None
            if expected.confirmed:
                del self._expected[mac]
                return True
            return False

    def forget(self, mac: str, seq: int) -> None:
        with self._lock:
            expected = self._expected.get(mac)
            if expected is not None and expected.seq == seq:
                del self._expected[mac]

    def on_record(self, record: TagRecord) -> int | None:
        """The seq this record confirms (reported once), or None."""
        with self._lock:
            expected = self._expected.get(record.mac)
            if expected is None or record.pending != 0:
                return None
            if not (_confirms(expected, record) or _already_shown(expected, record)):
                return None
            if not expected.accepted:
                expected.confirmed = True
                return None
            del self._expected[record.mac]
            return expected.seq

    def is_waiting(self, mac: str) -> bool:
        return mac in self._expected

    def waiting(self) -> dict[str, int]:
        with self._lock:
            return {mac: e.seq for mac, e in self._expected.items()}


def _already_shown(expected: _Expected, record: TagRecord) -> bool:
    """A check-in after the AP accepted an image, with nothing to take: it was identical."""
    return (
        expected.accepted
        and not expected.clear
        and expected.lastseen_at_accept is not None
        and record.lastseen > expected.lastseen_at_accept
        and record.update_count == expected.base_update_count
    )


def _confirms(expected: _Expected, record: TagRecord) -> bool:
    if expected.clear:
        return True
    if record.update_count is not None and expected.base_update_count is not None:
        return record.update_count > expected.base_update_count
    return bool(record.hash) and record.hash != expected.base_hash
