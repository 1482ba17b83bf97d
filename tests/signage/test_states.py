from __future__ import annotations

import pytest

from esl_controller.signage.states import (
    OVERRIDE_MOVES,
    TRIGGER_MOVES,
    InvalidTransition,
    OverrideState,
    TriggerOutcome,
    first_trigger_outcome,
    override_move,
    trigger_move,
)


def test_stored_values_are_the_strings_the_web_and_database_use() -> None:
    assert [o.value for o in TriggerOutcome] == [
        "pending",
        "matched",
        "no_match",
        "rejected",
        "rate_limited",
        "expired_before_delivery",
    ]
    assert {s.value for s in OverrideState} == {"active", "expired", "reverted"}
    assert OverrideState.ACTIVE == "active"  # compares equal to the column's text


def test_every_state_has_its_moves_listed() -> None:
    assert set(TRIGGER_MOVES) == set(TriggerOutcome)
    assert set(OVERRIDE_MOVES) == set(OverrideState)


@pytest.mark.parametrize("target", [OverrideState.EXPIRED, OverrideState.REVERTED])
def test_an_active_override_may_expire_or_be_withdrawn(target: OverrideState) -> None:
    assert override_move(OverrideState.ACTIVE, target).target is target


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (OverrideState.EXPIRED, OverrideState.ACTIVE),
        (OverrideState.REVERTED, OverrideState.EXPIRED),
        (OverrideState.ACTIVE, OverrideState.ACTIVE),
    ],
)
def test_an_ended_override_stays_ended(source: OverrideState, target: OverrideState) -> None:
    with pytest.raises(InvalidTransition, match=f"{source.value} -> {target.value}"):
        override_move(source, target)


def test_a_web_trigger_is_decided_once() -> None:
    decided = trigger_move(TriggerOutcome.PENDING, TriggerOutcome.MATCHED)
    assert decided.target is TriggerOutcome.MATCHED
    with pytest.raises(InvalidTransition):
        trigger_move(TriggerOutcome.MATCHED, TriggerOutcome.NO_MATCH)
    with pytest.raises(InvalidTransition):
        trigger_move(TriggerOutcome.REJECTED, TriggerOutcome.PENDING)
    assert trigger_move(TriggerOutcome.MATCHED, TriggerOutcome.EXPIRED_BEFORE_DELIVERY)


def test_a_trigger_the_worker_received_never_starts_pending() -> None:
    assert first_trigger_outcome(TriggerOutcome.REJECTED) is TriggerOutcome.REJECTED
    for outcome in (TriggerOutcome.PENDING, TriggerOutcome.EXPIRED_BEFORE_DELIVERY):
        with pytest.raises(InvalidTransition, match="cannot start"):
            first_trigger_outcome(outcome)
