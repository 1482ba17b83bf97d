from __future__ import annotations

from datetime import UTC, datetime, timedelta

from esl_controller.row_poll import Cadence, RowPoll

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_cadence_is_due_at_once_then_once_per_interval() -> None:
    cadence = Cadence(0.5)
    ticks = [T0 + timedelta(seconds=s) for s in (0, 0.1, 0.49, 0.5, 0.7, 1.0, 1.01)]
    assert [cadence.due(t) for t in ticks] == [True, False, False, True, False, True, False]


def test_a_row_poll_reads_only_when_due() -> None:
    reads: list[datetime] = []

    def fetch(_session, now: datetime) -> list[str]:
        reads.append(now)
        return [f"row@{now:%S.%f}"]

    poll = RowPoll("manual_overrides", 1.0, fetch)
    assert poll.poll(None, T0) == ["row@00.000000"]
    assert poll.poll(None, T0 + timedelta(seconds=0.5)) == ()
    assert poll.poll(None, T0 + timedelta(seconds=1)) == ["row@01.000000"]
    assert reads == [T0, T0 + timedelta(seconds=1)]
