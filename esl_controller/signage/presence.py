"""Which players exist, in which zone, and which are online: the service's roster.

Players are registered by the web (rows), so the roster re-reads them on a `RowPoll`;
presence reports from the channels flip them online or offline. At start every player is
offline until its channel says otherwise (MQTT: the retained status or the last will).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import select, update
from sqlmodel import Session

from esl_controller.incidents import record_incident
from esl_controller.models import Player, Zone
from esl_controller.row_poll import RowPoll
from esl_controller.signage.channel import PresenceReported

PLAYERS_POLL_S = 5.0


@dataclass
class PlayerState:
    zone: str
    online: bool = False


class Roster:
    """The players and zones of one store (a chain's other stores have their own worker)."""

    def __init__(self, store_id: str) -> None:
        self.store_id = store_id
        self.players: dict[str, PlayerState] = {}
        self.zones: frozenset[str] = frozenset()
        self._reported_unknown: set[str] = set()
        self.poll = RowPoll("players", PLAYERS_POLL_S, partial(_player_rows, store_id))

    def start(self, session: Session) -> None:
        session.execute(update(Player).where(Player.store_id == self.store_id).values(online=False))
        self.reload(session, list(_player_rows(self.store_id, session, None)))

    def refresh(self, session: Session, now: datetime) -> None:
        if self.poll.due(now):
            self.reload(session, list(self.poll.fetch(session, now)))

    def reload(self, session: Session, rows: list[tuple[str, str]]) -> None:
        players = {}
        for player_id, zone_id in rows:
            known = self.players.get(player_id)
            players[player_id] = PlayerState(zone_id, known.online if known else False)
        self.players = players
        self.zones = frozenset(
            session.scalars(select(Zone.id).where(Zone.store_id == self.store_id)).all()
        )

    def online(self) -> set[str]:
        return {pid for pid, state in self.players.items() if state.online}

    def in_zone(self, zone: str) -> list[str]:
        return [pid for pid, state in self.players.items() if state.zone == zone]

    def online_in_zone(self, zone: str) -> list[str]:
        return [pid for pid, state in self.players.items() if state.zone == zone and state.online]

    def apply(self, session: Session, report: PresenceReported, now: datetime) -> str | None:
        """Record a presence report; returns the player's zone when it just came online
        (held overrides are due to it), else None."""
        row = session.get(Player, report.player)
        if row is None or row.store_id != self.store_id:
            if report.player not in self._reported_unknown:
                self._reported_unknown.add(report.player)
                record_incident(
                    session,
                    "unknown_player",
                    report.player,
                    f"status from player {report.player!r}, which this store has not registered",
                    store_id=self.store_id,
                )
            return None
        row.online, row.last_seen = report.online, now
        row.now_playing = report.now_playing if report.online else None
        session.add(row)
        state = self.players.setdefault(row.id, PlayerState(row.zone_id))
        came_online = report.online and not state.online
        state.online, state.zone = report.online, row.zone_id
        return row.zone_id if came_online else None


def _player_rows(store_id: str, session: Session, _now: datetime | None) -> list[tuple[str, str]]:
    return [
        (player_id, zone_id)
        for player_id, zone_id in session.execute(
            select(Player.id, Player.zone_id).where(
                Player.archived.is_(False), Player.store_id == store_id
            )
        ).all()
    ]
