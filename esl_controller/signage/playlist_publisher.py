"""Keeps every player's playlist equal to what its schedule says now.

Runs inside the signage service's thread (the one that writes). Each `tick` is cheap unless
something changed: the playlist files (checked by mtime/size every `check_every_s`), the
players, the live catalogue behind promo slides, or the earliest `valid_until` passed. Then
it resolves all players and publishes only the messages whose digest changed.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.incidents import record_incident
from esl_controller.models import MediaAsset, Player, PlaylistFile, Store
from esl_controller.row_poll import Cadence
from esl_controller.signage import protocol
from esl_controller.signage.channel import PlaylistDelivery
from esl_controller.signage.media import MediaError, store_media
from esl_controller.signage.playlists import (
    Playlist,
    PlaylistError,
    PlaylistItem,
    load_playlists,
    parse_playlist,
)
from esl_controller.signage.schedule import PlayerSpot, resolve
from esl_controller.signage.slide_store import SlideStore

log = logging.getLogger(__name__)

SendPlaylist = Callable[[PlaylistDelivery], None]
MEDIA_FOLDER = "media"  # signage_playlists/media/: files that playlist items name


@dataclass
class _FileMedia:
    """A media file's hash, remembered by (mtime, size) so it is hashed once."""

    stamp: tuple[int, int]
    sha256: str


@dataclass
class PlaylistPublisher:
    settings: Settings
    send: SendPlaylist  # a channel's send_playlist: it keeps the playlist for a returning player
    slides: SlideStore
    check_every_s: float = 2.0
    playlists: dict[str, Playlist] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    published: int = 0
    _files_signature: tuple = ()
    _players_signature: tuple = ()
    _slide_fingerprints: dict[str, str] = field(default_factory=dict)
    _checks: Cadence = field(init=False)  # files and rows the web writes, polled
    _resolve_at: datetime | None = None  # earliest valid_until of the last resolution
    _dirty: bool = True
    _file_media: dict[str, _FileMedia] = field(default_factory=dict)
    _reported: set[tuple[str, str]] = field(default_factory=set)
    _started: bool = False

    def __post_init__(self) -> None:
        self._checks = Cadence(self.check_every_s)

    @property
    def media_base(self) -> str:
        return self.settings.resolved_media_base_url.rstrip("/") + "/media/"

    @property
    def media_dir(self) -> Path:
        return self.settings.playlists_dir / MEDIA_FOLDER

    def invalidate(self) -> None:
        """Resolve and compare every player at the next tick (e.g. a player came back)."""
        self._dirty = True

    def tick(self, session: Session, now: datetime) -> int:
        """Reload, resolve and publish what changed; returns messages published."""
        if not self._started:
            self.playlists = self._last_good_from_db(session)
            self._started = True
        if self._checks.due(now):
            self._check_changes(session, now)
        due = self._resolve_at is not None and now >= self._resolve_at
        if not (self._dirty or due):
            return 0
        self._dirty = False
        return self._resolve_and_publish(session, now)

    # -- change detection -----------------------------------------------------------------

    def _check_changes(self, session: Session, now: datetime) -> None:
        signature = self._scan_files()
        if signature != self._files_signature:
            self._files_signature = signature
            self._reload(session, now)
            self._dirty = True
        players = tuple(
            session.execute(
                select(Player.id, Player.zone_id, Player.archived)
                .where(Player.store_id == self.settings.store_id)
                .order_by(Player.id)
            ).all()
        )
        if players != self._players_signature:
            self._players_signature = players
            self._dirty = True
        fingerprints = self.slides.fingerprints(session, self._slide_gtins(), now)
        if fingerprints != self._slide_fingerprints:
            self._slide_fingerprints = fingerprints
            self._dirty = True

    def _scan_files(self) -> tuple:
        stamps = []
        for folder in (self.settings.playlists_dir, self.media_dir):
            if folder.is_dir():
                for path in sorted(folder.iterdir()):
                    if path.is_file():
                        stat = path.stat()
                        stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)

    def _slide_gtins(self) -> set[str]:
        return {
            item.gtin
            for playlist in self.playlists.values()
            for item in playlist.items
            if item.type == "promo_slide" and item.gtin
        }

    # -- loading --------------------------------------------------------------------------

    def _media_exists(self, session: Session) -> Callable[[PlaylistItem], bool]:
        def exists(item: PlaylistItem) -> bool:
            if item.file:
                return (self.media_dir / item.file).is_file()
            if item.media_sha256:
                return session.get(MediaAsset, item.media_sha256) is not None
            return True

        return exists

    def _last_good_from_db(self, session: Session) -> dict[str, Playlist]:
        """The versions in force before a restart, so a file broken meanwhile changes nothing."""
        last_good = {}
        for row in session.scalars(select(PlaylistFile)).all():
            if not row.source:
                continue
            source = f"{self.settings.playlists_dir.name}/{row.name}.yaml (last good)"
            try:
                last_good[row.name] = parse_playlist(
                    row.name, row.source, source, self._media_exists(session)
                )
            except PlaylistError as exc:
                log.warning("stored playlist %s no longer loads: %s", row.name, exc)
        return last_good

    def _reload(self, session: Session, now: datetime) -> None:
        result = load_playlists(
            self.settings.playlists_dir, self._media_exists(session), self.playlists
        )
        self.playlists, self.errors = result.playlists, result.errors
        rows = {row.name: row for row in session.scalars(select(PlaylistFile)).all()}
        for name in self.playlists:
            if name in self.errors:
                continue
            text = self._file_text(name)
            if text is None:
                continue
            digest = hashlib.sha256(text.encode()).hexdigest()
            row = rows.get(name) or PlaylistFile(name=name, source=text, digest=digest)
            if row.digest != digest or row.error or row.name not in rows:
                row.source, row.digest, row.loaded_at = text, digest, now
                row.error, row.error_at = None, None
                session.add(row)
        for name, error in self.errors.items():
            row = rows.get(name) or PlaylistFile(name=name, source="", digest="")
            if row.error != error:
                row.error, row.error_at = error, now
                session.add(row)
                log.warning("playlist %s refused, last good kept: %s", name, error)

    def _file_text(self, name: str) -> str | None:
        for suffix in (".yaml", ".yml"):
            path = self.settings.playlists_dir / f"{name}{suffix}"
            if path.is_file():
                return path.read_text(encoding="utf-8")
        return None

    # -- resolving and publishing ---------------------------------------------------------

    def _resolve_and_publish(self, session: Session, now: datetime) -> int:
        store = session.get(Store, self.settings.store_id)
        timezone = store.timezone if store else "UTC"
        players = session.scalars(
            select(Player)
            .where(Player.archived.is_(False), Player.store_id == self.settings.store_id)
            .order_by(Player.id)
        ).all()
        spots = [PlayerSpot(p.id, p.zone_id) for p in players]
        resolved = resolve(self.playlists.values(), spots, now, timezone)
        slides = self.slides.slides(session, self._slide_gtins(), now)
        published = 0
        for player in players:
            schedule = resolved[player.id]
            items = tuple(self._screen_items(session, schedule.items, slides))
            digest = protocol.playlist_digest(
                schedule.playlist, items, schedule.valid_until, self.media_base
            )
            if digest == player.playlist_digest:
                continue
            self.send(
                PlaylistDelivery(
                    player.id,
                    schedule.playlist,
                    items,
                    schedule.valid_until,
                    self.media_base,
                    digest,
                )
            )
            player.playlist_digest = digest
            session.add(player)
            published += 1
        untils = [r.valid_until for r in resolved.values() if r.valid_until is not None]
        self._resolve_at = min(untils, default=None)
        self.published += published
        return published

    def _screen_items(
        self, session: Session, items: tuple[PlaylistItem, ...], slides: dict[str, str]
    ) -> Iterator[protocol.ScreenItem]:
        for item in items:
            screen = self._screen_item(session, item, slides)
            if screen is not None:
                yield screen

    def _screen_item(
        self, session: Session, item: PlaylistItem, slides: dict[str, str]
    ) -> protocol.ScreenItem | None:
        if item.type == "promo_slide":
            sha = slides.get(item.gtin or "")
            if sha is None:
                self._report_once(
                    session,
                    "unknown_product",
                    item.gtin or "",
                    f"promo slide {item.id!r}: no active product with GTIN {item.gtin}; "
                    "the item is left out until the product exists",
                )
                return None
            return protocol.ScreenItem(item.id, "image", item.duration_s, media=sha, gtin=item.gtin)
        if item.type == "web":
            return protocol.ScreenItem(item.id, "web", item.duration_s, url=item.url)
        sha = item.media_sha256 or self._file_sha(session, item)
        if sha is None:
            return None
        return protocol.ScreenItem(item.id, item.type, item.duration_s, media=sha)

    def _file_sha(self, session: Session, item: PlaylistItem) -> str | None:
        """Store a playlist's media file by content hash (once per file version)."""
        path = self.media_dir / (item.file or "")
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            known = self._file_media.get(str(path))
            if known and known.stamp == stamp:
                return known.sha256
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            asset = store_media(self.settings, path.read_bytes(), path.name, content_type, session)
        except (OSError, MediaError) as exc:
            self._report_once(session, "media_error", str(path.name), f"item {item.id!r}: {exc}")
            return None
        self._file_media[str(path)] = _FileMedia(stamp, asset.sha256)
        return asset.sha256

    def _report_once(self, session: Session, kind: str, subject: str, message: str) -> None:
        if (kind, subject) not in self._reported:
            self._reported.add((kind, subject))
            record_incident(session, kind, subject, message, store_id=self.settings.store_id)
