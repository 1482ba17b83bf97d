"""The browser player's mailboxes and pairings: rows the worker and the web hand each other.

The worker's browser channel writes what goes down to a page (`ScreenCommand`); the web
streams it to the page over Server-Sent Events. The web writes what a page posts
(`ScreenReport`); the channel reads it and reports it to the signage core. `ScreenPairing`
holds a code shown on an unpaired screen until a manager claims it for a player, and
`ScreenHealth` what each page last said about itself.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from esl_controller.clock import utcnow


class ScreenCommand(SQLModel, table=True):
    """A message for one page: the playlist (only the newest is kept), an override, a revert."""

    __tablename__ = "screen_command"
    id: int | None = Field(default=None, primary_key=True)
    store_id: str = Field(index=True)
    player_id: str = Field(index=True)
    kind: str  # playlist | override | revert
    payload: str  # the JSON of signage.protocol, as the MQTT channel publishes it
    created_at: datetime = Field(default_factory=utcnow)


class ScreenReport(SQLModel, table=True):
    """What a page posted, for the worker: proof of play or presence."""

    __tablename__ = "screen_report"
    id: int | None = Field(default=None, primary_key=True)
    store_id: str = Field(index=True)
    player_id: str  # the player its credential names, never one the body claims
    kind: str  # pop | status
    payload: str
    received_at: datetime = Field(default_factory=utcnow)


class ScreenPairing(SQLModel, table=True):
    """A pairing in progress: a code on a screen waiting for a manager, or a one-time link."""

    __tablename__ = "screen_pairing"
    code: str = Field(primary_key=True)
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    claim_hash: str | None = None  # sha256 of the secret only the page that asked holds
    player_id: str | None = None  # set once a manager pairs it
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class ScreenHealth(SQLModel, table=True):
    """What a browser player last said about itself (heartbeat, plays, errors)."""

    __tablename__ = "screen_health"
    player_id: str = Field(primary_key=True)
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    heartbeat_at: datetime | None = None
    now_playing: str | None = None
    width: int | None = None
    height: int | None = None
    browser: str | None = None
    version: str | None = None
    last_play_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    errors: int = 0
