"""When a command to an AP counts as delivered (the pure tracker)."""

from __future__ import annotations

from dataclasses import replace

from esl_controller.esl.drivers.oepl.records import TagRecord
from esl_controller.esl.drivers.oepl.tracking import DeliveryTracker

MAC = "0000021F00000001"
BASE = TagRecord(MAC, "0" * 32, 100, 160, 0, 1, 2900, -60, 100, 21, 4, 90)


def _record(**changes) -> TagRecord:
    return replace(BASE, **changes)


def test_a_200_alone_delivers_nothing_the_check_in_does() -> None:
    tracker = DeliveryTracker()
    tracker.expect(MAC, 7, BASE)
    assert tracker.accepted(MAC, 7) is False
    assert tracker.on_record(_record(pending=1)) is None  # queued on the AP
    assert tracker.on_record(_record(pending=1, lastseen=160)) is None  # checked in, taking it
    assert tracker.on_record(_record(pending=0, update_count=5, hash="ab" * 8 + "0" * 16)) == 7
    assert tracker.on_record(_record(pending=0, update_count=5)) is None  # once only


def test_a_record_confirming_before_the_200_is_kept_until_it() -> None:
    tracker = DeliveryTracker()
    tracker.expect(MAC, 7, BASE)
    assert tracker.on_record(_record(update_count=5)) is None
    assert tracker.accepted(MAC, 7) is True


def test_an_idle_check_in_confirms_nothing() -> None:
    tracker = DeliveryTracker()
    tracker.expect(MAC, 7, BASE)
    tracker.accepted(MAC, 7)
    assert tracker.on_record(_record(lastseen=200, nextcheckin=260)) is None
    assert tracker.waiting() == {MAC: 7}


def test_a_newer_command_replaces_the_older() -> None:
    tracker = DeliveryTracker()
    tracker.expect(MAC, 7, BASE)
    tracker.expect(MAC, 8, BASE)
    assert tracker.accepted(MAC, 7) is False
    tracker.accepted(MAC, 8)
    assert tracker.on_record(_record(update_count=5)) == 8


def test_without_an_update_count_the_hash_decides() -> None:
    tracker = DeliveryTracker()
    old = _record(update_count=None, hash="11" * 16)
    tracker.expect(MAC, 3, old)
    tracker.accepted(MAC, 3)
    assert tracker.on_record(old) is None
    assert tracker.on_record(replace(old, hash="22" * 8 + "0" * 16)) == 3


def test_a_clear_is_done_when_nothing_is_pending() -> None:
    tracker = DeliveryTracker()
    tracker.expect(MAC, 9, _record(pending=1), clear=True)
    tracker.accepted(MAC, 9)
    assert tracker.on_record(_record(pending=1)) is None
    assert tracker.on_record(_record(pending=0)) == 9


def test_a_forgotten_command_is_never_confirmed() -> None:
    tracker = DeliveryTracker()
    tracker.expect(MAC, 7, BASE)
    tracker.forget(MAC, 7)
    assert tracker.accepted(MAC, 7) is False
    assert tracker.on_record(_record(update_count=9)) is None


def test_an_image_the_tag_already_shows_is_delivered_at_the_next_check_in() -> None:
    """The AP does not queue an identical image; the tag's next check-in with nothing to
    take proves it shows it (a controller restarted mid-push re-sends such images)."""
    tracker = DeliveryTracker()
    tracker.expect(MAC, 7, BASE)
    assert tracker.accepted(MAC, 7, BASE) is False
    assert tracker.on_record(_record(pending=0)) is None  # pushed at the upload, no check-in
    assert tracker.on_record(_record(pending=0, lastseen=BASE.lastseen + 60)) == 7
