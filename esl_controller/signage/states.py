"""The states of a trigger event and of an override, and the moves between them.

Stored as their string values (`TriggerEvent.outcome`, `Override.state`), so the web and
the database read them as before. Every state change the worker makes is named here; the
SQL that applies one (`UPDATE ... WHERE state = <from>`) takes both ends from `Move`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar


class TriggerOutcome(StrEnum):
    PENDING = "pending"  # accepted by the web, waiting for the worker to decide
    MATCHED = "matched"  # an override was decided for it
    NO_MATCH = "no_match"
    REJECTED = "rejected"  # outside the schema, personal data, stale
    RATE_LIMITED = "rate_limited"  # one row per sensor and window, however many refused
    EXPIRED_BEFORE_DELIVERY = "expired_before_delivery"  # its override reached no screen


class OverrideState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"  # its TTL ended; players went back to their schedule
    REVERTED = "reverted"  # withdrawn before its TTL (or unreadable, so never shown)


class InvalidTransition(ValueError):
    """A state change the rules do not allow."""


# The first outcome of a trigger the worker receives itself (no row before the decision).
FIRST_TRIGGER_OUTCOMES = frozenset(
    {
        TriggerOutcome.MATCHED,
        TriggerOutcome.NO_MATCH,
        TriggerOutcome.REJECTED,
        TriggerOutcome.RATE_LIMITED,
    }
)
TRIGGER_MOVES: dict[TriggerOutcome, frozenset[TriggerOutcome]] = {
    TriggerOutcome.PENDING: frozenset(
        {TriggerOutcome.MATCHED, TriggerOutcome.NO_MATCH, TriggerOutcome.REJECTED}
    ),
    TriggerOutcome.MATCHED: frozenset({TriggerOutcome.EXPIRED_BEFORE_DELIVERY}),
    TriggerOutcome.NO_MATCH: frozenset(),
    TriggerOutcome.REJECTED: frozenset(),
    TriggerOutcome.RATE_LIMITED: frozenset(),
    TriggerOutcome.EXPIRED_BEFORE_DELIVERY: frozenset(),
}
OVERRIDE_MOVES: dict[OverrideState, frozenset[OverrideState]] = {
    OverrideState.ACTIVE: frozenset({OverrideState.EXPIRED, OverrideState.REVERTED}),
    OverrideState.EXPIRED: frozenset(),
    OverrideState.REVERTED: frozenset(),
}


S = TypeVar("S", TriggerOutcome, OverrideState)


@dataclass(frozen=True)
class Move(Generic[S]):
    """One allowed state change; building it checks the rules."""

    source: S
    target: S

    def __post_init__(self) -> None:
        allowed = _MOVES[type(self.source)].get(self.source, frozenset())
        if self.target not in allowed:
            raise InvalidTransition(f"{self.source.value} -> {self.target.value} is not allowed")


_MOVES: dict[type, dict] = {TriggerOutcome: TRIGGER_MOVES, OverrideState: OVERRIDE_MOVES}


def trigger_move(source: TriggerOutcome, target: TriggerOutcome) -> Move[TriggerOutcome]:
    return Move(source, target)


def override_move(source: OverrideState, target: OverrideState) -> Move[OverrideState]:
    return Move(source, target)


def first_trigger_outcome(outcome: TriggerOutcome) -> TriggerOutcome:
    """A trigger's outcome when its row is first written by the worker."""
    if outcome not in FIRST_TRIGGER_OUTCOMES:
        raise InvalidTransition(f"a new trigger event cannot start as {outcome.value}")
    return outcome


# The moves the worker makes, checked once at import.
OVERRIDE_EXPIRES = override_move(OverrideState.ACTIVE, OverrideState.EXPIRED)
OVERRIDE_WITHDRAWN = override_move(OverrideState.ACTIVE, OverrideState.REVERTED)
TRIGGER_UNDELIVERED = trigger_move(TriggerOutcome.MATCHED, TriggerOutcome.EXPIRED_BEFORE_DELIVERY)
