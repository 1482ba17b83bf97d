"""Zones, players, playlists, media, overrides and trigger events."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from esl_controller.clock import utcnow


class Zone(SQLModel, table=True):
    """An area of the store (entrance, dairy, electronics); triggers and players live in one.

    Zone ids are unique across a chain, so a chain campaign names zones by `kind`, which
    every store's zone of that sort shares ("dairy"). A zone added without one takes the
    slug of its name (or of its id)."""

    id: str = Field(primary_key=True)
    store_id: str = Field(foreign_key="store.id", index=True)
    name: str = ""
    kind: str = Field(default="", index=True)


def zone_kind_from_name(name: str) -> str:
    """The kind a zone gets from its name: lower case without accents, runs of other
    characters as one "-" ("Băuturi reci" -> "bauturi-reci")."""
    letters = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in letters if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]+", "-", plain).strip("-")


@event.listens_for(Zone, "before_insert")
def _zone_kind_default(_mapper: Any, _connection: Any, zone: Zone) -> None:
    if not zone.kind:
        zone.kind = zone_kind_from_name(zone.name or zone.id)


class Player(SQLModel, table=True):
    """A signage screen. Its id is also its MQTT identity."""

    id: str = Field(primary_key=True)
    store_id: str = Field(foreign_key="store.id", index=True)
    zone_id: str = Field(foreign_key="zone.id", index=True)
    name: str = ""
    width: int = 1920
    height: int = 1080
    online: bool = False
    last_seen: datetime | None = None
    now_playing: str | None = None  # item id the player last reported on screen
    playlist_digest: str | None = None  # hash of the playlist message last published
    last_pop_at: datetime | None = None
    has_audience_sensor: bool = False
    # Declared audience per play by daypart, JSON {"07:00-10:00": 3.5, "*": 2.0} (issue 5).
    declared_audience: str = "{}"
    archived: bool = False  # players are archived, never deleted (impressions keep them)


class PlaylistFile(SQLModel, table=True):
    """The last good version of each file in signage_playlists/ (and its last error)."""

    __tablename__ = "playlist_file"
    name: str = Field(primary_key=True)  # file stem
    source: str  # YAML text of the last version that validated
    digest: str
    loaded_at: datetime = Field(default_factory=utcnow)
    error: str | None = None  # why the newest edit was refused (the good one stays)
    error_at: datetime | None = None


class MediaAsset(SQLModel, table=True):
    """An uploaded image/video, stored on disk by content hash and served with that ETag."""

    __tablename__ = "media_asset"
    sha256: str = Field(primary_key=True)
    filename: str
    content_type: str
    size: int
    created_at: datetime = Field(default_factory=utcnow)


class Override(SQLModel, table=True):
    """Content replacing a player's schedule until it expires (or is reverted)."""

    id: int | None = Field(default=None, primary_key=True)
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    zone_id: str = Field(foreign_key="zone.id", index=True)
    player_id: str | None = Field(default=None, foreign_key="player.id")  # None: whole zone
    kind: str = "campaign"  # campaign | promo_slide | manual
    content: str  # JSON: the item the players show (same shape as a playlist item)
    priority: int = 50
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    state: str = Field(default="active", index=True)  # active | expired | reverted
    trigger_event_id: int | None = None
    campaign_id: int | None = None
    creative_id: int | None = None
    created_by: str = ""  # a manager's user name for manual overrides


class TriggerEvent(SQLModel, table=True):
    """A trigger as accepted (sanitised) or refused; raw events expire after the retention."""

    __tablename__ = "trigger_event"
    __table_args__ = (Index("ix_trigger_event_time", "received_at"),)
    id: int | None = Field(default=None, primary_key=True)
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    sensor_id: str = Field(index=True)
    kind: str  # audience | zone | loyalty
    zone_id: str | None = None
    received_at: datetime = Field(default_factory=utcnow)
    occurred_at: datetime | None = None
    payload: str = "{}"  # the validated trigger, never anything the privacy guard refused
    # matched | no_match | rejected | rate_limited | expired_before_delivery
    outcome: str = "no_match"
    reason: str | None = None
    override_id: int | None = None


class TriggerAggregate(SQLModel, table=True):
    """What is kept of raw trigger events after the retention: counts per hour."""

    __tablename__ = "trigger_aggregate"
    # Zone-less counts (refusals) of two stores share hour, kind and outcome: the store too.
    __table_args__ = (UniqueConstraint("store_id", "hour", "zone_id", "kind", "outcome"),)
    id: int | None = Field(default=None, primary_key=True)
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    hour: datetime
    zone_id: str = ""
    kind: str
    outcome: str
    count: int = 0
    audience_sum: int = 0  # sum of audience counts, for averages without the raw events


class TriggerRateWindow(SQLModel, table=True):
    """Triggers one sensor posted over HTTP in one rate-limit window. Every web process
    counts here with one atomic upsert, so the limit holds however many processes serve."""

    __tablename__ = "trigger_rate_window"
    __table_args__ = (UniqueConstraint("sensor_id", "window_index"),)
    id: int | None = Field(default=None, primary_key=True)
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    sensor_id: str
    window_index: int  # whole windows since the epoch
    count: int = 0  # posts in the window, refused ones included
    event_id: int | None = None  # the trigger_event row booking the window's refusals
