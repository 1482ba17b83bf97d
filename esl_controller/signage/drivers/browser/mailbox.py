"""The browser player's two mailboxes in the database, for both of its halves.

The worker's channel posts commands and collects reports; the web's screen endpoints fetch
commands for the page they serve and post what it sent. Only the newest playlist of a
player is kept (it stands for MQTT's retained message); overrides and reverts are kept
briefly, long enough for every open stream to pass them on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlmodel import Session

from esl_controller.models import ScreenCommand, ScreenReport

PLAYLIST = "playlist"
OVERRIDE = "override"
REVERT = "revert"
POP = "pop"
STATUS = "status"
COMMAND_KEEP = timedelta(seconds=120)  # streams read every fraction of a second


def post_command(
    session: Session, store: str, player: str, kind: str, payload: bytes, now: datetime
) -> None:
    command = ScreenCommand(
        store_id=store, player_id=player, kind=kind, payload=payload.decode(), created_at=now
    )
    session.add(command)
    # Written before the older playlist goes: SQLite gives a new row the highest id plus
    # one, so deleting the newest row first would hand its id out again, and an open
    # stream already past that id would never send the new playlist.
    session.flush()
    if kind == PLAYLIST:
        session.execute(
            delete(ScreenCommand).where(
                ScreenCommand.store_id == store,
                ScreenCommand.player_id == player,
                ScreenCommand.kind == PLAYLIST,
                ScreenCommand.id != command.id,  # type: ignore[arg-type]
            )
        )


def prune_commands(session: Session, now: datetime) -> int:
    """Forget overrides and reverts every stream has long passed on.

    The newest command stays, whatever its age, so no id is ever handed out twice (see
    `post_command`): a stream's cursor then always points below every later command."""
    newest = select(func.max(ScreenCommand.id)).scalar_subquery()
    result = session.execute(
        delete(ScreenCommand).where(
            ScreenCommand.kind != PLAYLIST,
            ScreenCommand.created_at < now - COMMAND_KEEP,
            ScreenCommand.id < newest,  # type: ignore[operator]
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def latest_playlist(session: Session, store: str, player: str) -> ScreenCommand | None:
    return session.scalars(
        select(ScreenCommand)
        .where(
            ScreenCommand.store_id == store,
            ScreenCommand.player_id == player,
            ScreenCommand.kind == PLAYLIST,
        )
        .order_by(ScreenCommand.id.desc())  # type: ignore[union-attr]
        .limit(1)
    ).first()


def newest_command_id(session: Session) -> int:
    return int(session.scalar(select(func.max(ScreenCommand.id))) or 0)


def commands_after(
    session: Session, store: str, player: str, after_id: int
) -> Sequence[ScreenCommand]:
    return session.scalars(
        select(ScreenCommand)
        .where(
            ScreenCommand.store_id == store,
            ScreenCommand.player_id == player,
            ScreenCommand.id > after_id,  # type: ignore[operator]
        )
        .order_by(ScreenCommand.id)  # type: ignore[arg-type]
    ).all()


def post_report(session: Session, store: str, player: str, kind: str, payload: bytes) -> None:
    session.add(ScreenReport(store_id=store, player_id=player, kind=kind, payload=payload.decode()))


def reports_after(
    session: Session, store: str, after_id: int, limit: int = 200
) -> Sequence[ScreenReport]:
    return session.scalars(
        select(ScreenReport)
        .where(ScreenReport.store_id == store, ScreenReport.id > after_id)  # type: ignore[operator]
        .order_by(ScreenReport.id)  # type: ignore[arg-type]
        .limit(limit)
    ).all()


def forget_reports(session: Session, ids: Sequence[int]) -> None:
    if ids:
        session.execute(delete(ScreenReport).where(ScreenReport.id.in_(ids)))  # type: ignore[union-attr]
