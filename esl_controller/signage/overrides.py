"""Overrides in force: sent to the online players of their zone, held for the offline ones,
reverted where shown when their TTL ends, and marked so in the database.

Trigger overrides arrive from the trigger pipeline already decided (and are written by it);
manual ones are rows the web wrote, picked up on a `RowPoll`. Channels deliver; this module
only decides who still needs what.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy import ColumnElement, select, update
from sqlmodel import Session

from esl_controller.incidents import record_incident
from esl_controller.models import Override, TriggerEvent, Zone
from esl_controller.row_poll import RowPoll
from esl_controller.signage import protocol
from esl_controller.signage.channel_router import ChannelRouter
from esl_controller.signage.presence import Roster
from esl_controller.signage.states import (
    OVERRIDE_EXPIRES,
    OVERRIDE_WITHDRAWN,
    TRIGGER_UNDELIVERED,
    OverrideState,
)

MANUAL_POLL_S = 0.5


@dataclass
class ActiveOverride:
    """An override in force: who has it (`delivered`); the other players of its zone wait."""

    id: int
    zone: str
    expires_at: datetime
    command: protocol.OverrideCommand
    trigger_event_id: int | None
    delivered: set[str] = field(default_factory=set)


def command_of(row: Override, item: protocol.ScreenItem | None = None) -> protocol.OverrideCommand:
    """The command a stored override stands for (`item`: when already parsed)."""
    return protocol.OverrideCommand(
        override_id=row.id,
        item=item or protocol.parse_item(json.loads(row.content)),
        priority=row.priority,
        expires_at=row.expires_at,
        trigger_id=row.trigger_event_id,
        campaign_id=row.campaign_id,
        creative_id=row.creative_id,
    )


class OverrideBook:
    def __init__(self, router: ChannelRouter, roster: Roster) -> None:
        self.router = router
        self.roster = roster
        self._active: dict[int, ActiveOverride] = {}
        self._expiry: list[tuple[datetime, int]] = []  # heap of (expires_at, override id)
        self.manual = RowPoll(
            "manual_overrides", MANUAL_POLL_S, partial(_manual_rows, roster.store_id)
        )

    def start(self, session: Session, now: datetime) -> None:
        """Take back the overrides still in force after a restart."""
        for row in session.scalars(
            select(Override).where(
                Override.state == OverrideState.ACTIVE,
                Override.expires_at > now,
                _in_store(self.roster.store_id),
            )
        ).all():
            self.track(row, command_of(row))

    def track(self, row: Override, command: protocol.OverrideCommand) -> ActiveOverride:
        active = ActiveOverride(row.id, row.zone_id, row.expires_at, command, row.trigger_event_id)
        if row.player_id:  # an override for one player: the others of its zone never get it
            active.delivered = set(self.roster.in_zone(row.zone_id))
            active.delivered.discard(row.player_id)
        return self.hold(active)

    def hold(self, active: ActiveOverride) -> ActiveOverride:
        self._active[active.id] = active
        heapq.heappush(self._expiry, (active.expires_at, active.id))
        return active

    def deliver(self, active: ActiveOverride, players: list[str]) -> int:
        """Send to those of `players` that do not have it yet; returns how many."""
        due = [player for player in players if player not in active.delivered]
        if due:
            self.router.send_override(due, active.command)
            active.delivered.update(due)
        return len(due)

    def deliver_to_zone(self, active: ActiveOverride) -> int:
        return self.deliver(active, self.roster.online_in_zone(active.zone))

    def came_online(self, player: str, zone: str, now: datetime) -> int:
        """Held overrides of its zone reach a player that just came online."""
        sent = 0
        for active in list(self._active.values()):
            if active.zone == zone and active.expires_at > now:
                sent += self.deliver(active, [player])
        return sent

    def publish_manual(self, session: Session, now: datetime) -> int:
        """Manual overrides the web wrote since the last poll."""
        sent = 0
        for row in self.manual.poll(session, now):
            if row.id in self._active:
                continue
            try:
                active = self.track(row, command_of(row))
            except (protocol.SignageProtocolError, ValueError) as exc:
                row.state = OVERRIDE_WITHDRAWN.target
                session.add(row)
                record_incident(
                    session,
                    "malformed_override",
                    str(row.id),
                    str(exc),
                    store_id=self.roster.store_id,
                )
                continue
            sent += self.deliver_to_zone(active)
        return sent

    def expire(self, session: Session, now: datetime) -> int:
        """At `expires_at` the zone's players go back to their schedule: revert, mark expired."""
        expired: list[ActiveOverride] = []
        while self._expiry and self._expiry[0][0] <= now:
            _, override_id = heapq.heappop(self._expiry)
            active = self._active.pop(override_id, None)
            if active is not None:
                expired.append(active)
        if not expired:
            return 0
        sent = 0
        for active in expired:
            shown = [p for p in self.roster.online_in_zone(active.zone) if p in active.delivered]
            if shown:
                self.router.send_revert(shown, active.id)
                sent += len(shown)
        session.execute(
            update(Override)
            .where(
                Override.id.in_([a.id for a in expired]),
                Override.state == OVERRIDE_EXPIRES.source,
            )
            .values(state=OVERRIDE_EXPIRES.target)
        )
        undelivered = [
            a.trigger_event_id for a in expired if a.trigger_event_id and not a.delivered
        ]
        if undelivered:
            session.execute(
                update(TriggerEvent)
                .where(
                    TriggerEvent.id.in_(undelivered),
                    TriggerEvent.outcome == TRIGGER_UNDELIVERED.source,
                )
                .values(outcome=TRIGGER_UNDELIVERED.target)
            )
        return sent


def _in_store(store_id: str) -> ColumnElement[bool]:
    """Overrides of the store's zones: through the zone, which every override has, so a row
    written without its store (by an older web process) still reaches its screens."""
    return Override.zone_id.in_(select(Zone.id).where(Zone.store_id == store_id))


def _manual_rows(store_id: str, session: Session, now: datetime) -> list[Override]:
    return list(
        session.scalars(
            select(Override).where(
                _in_store(store_id),
                Override.kind == "manual",
                Override.state == OverrideState.ACTIVE,
                Override.expires_at > now,
            )
        ).all()
    )
