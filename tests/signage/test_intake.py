from __future__ import annotations

import threading
from datetime import UTC, datetime

from esl_controller.signage import intake as intake_module
from esl_controller.signage.channel import (
    MalformedReported,
    PlaysReported,
    PresenceReported,
    TriggerReported,
)
from esl_controller.signage.intake import Intake

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_reports_are_sorted_by_kind_and_keep_their_order() -> None:
    intake = Intake(clock=lambda: T0)
    intake.report(PresenceReported("mqtt", "scr-1", online=True))
    intake.report(TriggerReported("mqtt", "cam-1", b"{}"))
    intake.report(PlaysReported("mqtt", "scr-1", []))
    intake.report(PresenceReported("mqtt", "scr-1", online=False))
    intake.report(MalformedReported("mqtt", "malformed_pop", "scr-1", "not JSON"))
    arrivals = intake.drain()
    assert len(arrivals) == 5
    assert [p.online for p in arrivals.presence] == [True, False]
    [trigger] = arrivals.triggers
    assert (trigger.sensor, trigger.payload, trigger.received_at) == ("cam-1", b"{}", T0)
    assert [m.error for m in arrivals.malformed] == ["not JSON"]
    assert len(intake.drain()) == 0  # drained


def test_a_turn_takes_at_most_its_share_and_leaves_the_rest() -> None:
    intake = Intake(clock=lambda: T0)
    for n in range(intake_module.MAX_PER_TURN + 5):
        intake.report(TriggerReported("mqtt", f"cam-{n}", b"{}"))
    assert len(intake.drain()) == intake_module.MAX_PER_TURN
    assert len(intake.drain()) == 5


def test_drain_waits_for_a_report_from_another_thread() -> None:
    intake = Intake(clock=lambda: T0)
    threading.Timer(0.05, intake.report, [TriggerReported("mqtt", "cam-1", b"{}")]).start()
    assert len(intake.drain(wait=10.0).triggers) == 1
