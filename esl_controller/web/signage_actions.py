"""What the signage pages and API write: players, playlists, campaigns, creatives and
manual overrides. The web process only writes rows (and playlist files); the worker's
signage service notices them and talks to the players.

Every function takes already-typed values (the schemas parsed them), checks what needs the
database (does the zone, advertiser or media exist?), and raises `SignageInputError`
naming the field, so the page and the API report the same message.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from esl_controller import audit
from esl_controller.ads import billed_terms
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.labels.content import build_label_content
from esl_controller.models import (
    Advertiser,
    Campaign,
    Creative,
    MediaAsset,
    Override,
    Player,
    PlaylistFile,
    PriceHistory,
    Product,
    Promotion,
    Store,
    Zone,
)
from esl_controller.signage.announcement import render_announcement
from esl_controller.signage.media import media_path, store_media
from esl_controller.signage.override_ids import reserve_override_ids_in
from esl_controller.signage.playlist_draft import change_summary
from esl_controller.signage.playlists import (
    PLAYLIST_NAME,
    Playlist,
    PlaylistError,
    PlaylistItem,
    parse_playlist,
)
from esl_controller.signage.protocol import ScreenItem, item_json
from esl_controller.signage.slides import render_promo_slide
from esl_controller.signage.targeting import parse_targeting
from esl_controller.web.chain_targeting import targeting_problem

CAMPAIGN_STATUSES = ("active", "paused", "archived")
CREATIVE_KINDS = ("image", "video", "web", "promo_slide")
MEDIA_SUBDIR = "media"  # file items live in signage_playlists/media/


class SignageInputError(ValueError):
    """A request names something that does not exist or does not fit; `field` says where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DuplicateError(SignageInputError):
    """The id or name is taken."""


class ConflictError(SignageInputError):
    """The change contradicts what is already recorded (a campaign that has billed)."""


def store_timezone(session: Session, settings: Settings) -> str:
    store = session.get(Store, settings.store_id)
    return store.timezone if store else "UTC"


# --- players ---------------------------------------------------------------------------


def ensure_zone(session: Session, settings: Settings, zone_id: str) -> Zone:
    """The zone, created on the fly the first time a player or override names it."""
    zone = session.get(Zone, zone_id)
    if zone is not None and zone.store_id != settings.store_id:
        raise SignageInputError(
            "zone", f"zone {zone_id!r} belongs to store {zone.store_id}; pick one of this store"
        )
    if zone is not None:
        return zone
    if session.get(Store, settings.store_id) is None:
        raise SignageInputError("zone", f"store {settings.store_id!r} is not set up yet")
    zone = Zone(id=zone_id, store_id=settings.store_id, name=zone_id)
    session.add(zone)
    session.flush()
    return zone


def register_player(
    session: Session, settings: Settings, player_id: str, name: str, zone_id: str
) -> Player:
    existing = session.get(Player, player_id)
    if existing is not None:
        where = "" if existing.store_id == settings.store_id else f" in store {existing.store_id}"
        raise DuplicateError("id", f"player {player_id!r} is already registered{where}")
    ensure_zone(session, settings, zone_id)
    player = Player(id=player_id, store_id=settings.store_id, zone_id=zone_id, name=name)
    session.add(player)
    session.flush()
    return player


def archive_player(session: Session, player_id: str) -> Player:
    """Players are archived, never deleted: their proof of play must keep its screen."""
    player = session.get(Player, player_id)
    if player is None:
        raise LookupError(f"there is no player {player_id!r}")
    player.archived = True
    session.add(player)
    session.flush()
    return player


# --- playlists -------------------------------------------------------------------------


def playlist_source(name: str) -> str:
    """How errors name the file, e.g. `signage_playlists/dairy.yaml`."""
    return f"signage_playlists/{name}.yaml"


def playlist_path(settings: Settings, name: str) -> Path:
    if not PLAYLIST_NAME.match(name):
        raise SignageInputError("name", "1-100 letters, digits, '.', '_' or '-'")
    return settings.playlists_dir / f"{name}.yaml"


def media_checker(session: Session, settings: Settings):
    """The `media_exists` callback for `parse_playlist`: files in the media folder, hashes
    of uploaded MediaAssets whose file is on disk."""

    def media_exists(item: PlaylistItem) -> bool:
        if item.file:
            return (settings.playlists_dir / MEDIA_SUBDIR / item.file).is_file()
        if item.media_sha256:
            return media_asset_present(session, settings, item.media_sha256)
        return True

    return media_exists


def media_asset_present(session: Session, settings: Settings, sha256: str) -> bool:
    try:
        path = media_path(settings, sha256)
    except ValueError:
        return False
    return session.get(MediaAsset, sha256) is not None and path.is_file()


def read_playlist_text(settings: Settings, name: str) -> str | None:
    path = playlist_path(settings, name)
    return path.read_text(encoding="utf-8") if path.is_file() else None


def save_playlist(
    session: Session, settings: Settings, name: str, text: str, actor: str
) -> PlaylistFile:
    """Validate `text`; when good write the file atomically, record it as the last good
    version and audit the save (by `actor`) with a summary of what changed. When bad, raise
    PlaylistError (file, line, field) and leave the file alone, recording the error on the
    playlist's row so the list shows it."""
    path = playlist_path(settings, name)
    row = session.get(PlaylistFile, name)
    checker = media_checker(session, settings)
    try:
        playlist = parse_playlist(name, text, playlist_source(name), checker)
    except PlaylistError as exc:
        if row is not None:
            row.error, row.error_at = str(exc), utcnow()
            session.add(row)
            session.flush()
        raise
    before = _saved_playlist(path, name, checker)
    _write_atomically(path, text)
    audit.record(
        session,
        actor=actor,
        action="playlist.save",
        target=f"playlist:{name}",
        detail=change_summary(before, playlist),
    )
    if row is None:
        row = PlaylistFile(name=name, source=text, digest="")
    row.source, row.digest = text, hashlib.sha256(text.encode("utf-8")).hexdigest()
    row.loaded_at, row.error, row.error_at = utcnow(), None, None
    session.add(row)
    session.flush()
    return row


def _saved_playlist(path: Path, name: str, checker: Any) -> Playlist | None:
    """The playlist the file held before this save, when it was a valid one."""
    if not path.is_file():
        return None
    try:
        return parse_playlist(name, path.read_text(encoding="utf-8"), path.name, checker)
    except (PlaylistError, OSError, UnicodeDecodeError):
        return None


def _write_atomically(path: Path, text: str) -> None:
    """Temp file + rename: the worker, which re-reads changed files, never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def playlist_names(settings: Settings) -> list[str]:
    directory = settings.playlists_dir
    if not directory.is_dir():
        return []
    return sorted(path.stem for path in directory.glob("*.yaml") if PLAYLIST_NAME.match(path.stem))


# --- advertisers, campaigns, creatives ---------------------------------------------------


def create_advertiser(session: Session, name: str, contact_email: str = "") -> Advertiser:
    if session.scalars(select(Advertiser).where(Advertiser.name == name)).first() is not None:
        raise DuplicateError("name", f"advertiser {name!r} already exists")
    advertiser = Advertiser(name=name, contact_email=contact_email)
    session.add(advertiser)
    session.flush()
    return advertiser


def save_campaign(
    session: Session, values: dict[str, Any], campaign_id: int | None = None, *, actor: str
) -> Campaign:
    """Create a campaign, or update one (`campaign_id`); `values` as CampaignInputSchema
    loads them (targeting already validated JSON text). Audited as `campaign.save` by
    `actor`, with the fields that changed."""
    if session.get(Advertiser, values["advertiser_id"]) is None:
        raise SignageInputError("advertiser_id", f"no advertiser #{values['advertiser_id']}")
    if values["ends_at"] <= values["starts_at"]:
        raise SignageInputError("ends_at", "the flight must end after it starts")
    if "targeting" in values:
        problem = targeting_problem(session, parse_targeting(values["targeting"]))
        if problem is not None:
            raise SignageInputError(*problem)
    if campaign_id is None:
        campaign = Campaign(**values)
        changed = sorted(values)
    else:
        campaign = get_campaign(session, campaign_id)
        frozen = billed_terms.frozen_change(session, campaign, values)
        if frozen:
            raise ConflictError("currency" if "currency" in frozen else "advertiser_id", frozen)
        changed = sorted(key for key, value in values.items() if getattr(campaign, key) != value)
        for key, value in values.items():
            setattr(campaign, key, value)
    session.add(campaign)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="campaign.save",
        target=f"campaign:{campaign.id}",
        detail={"created": campaign_id is None, "name": campaign.name, "changed": changed},
    )
    return campaign


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(f"there is no campaign #{campaign_id}")
    return campaign


def set_campaign_status(session: Session, campaign_id: int, status: str) -> Campaign:
    """Pause, resume or archive; campaigns are never deleted (impressions refer to them)."""
    if status not in CAMPAIGN_STATUSES:
        raise SignageInputError("status", f"must be one of {', '.join(CAMPAIGN_STATUSES)}")
    campaign = get_campaign(session, campaign_id)
    if campaign.status == "archived" and status != "archived":
        raise SignageInputError("status", "an archived campaign stays archived")
    campaign.status = status
    session.add(campaign)
    session.flush()
    return campaign


def add_creative(
    session: Session, settings: Settings, campaign_id: int, values: dict[str, Any]
) -> Creative:
    """`values`: name, kind, duration_s and the one content field the kind needs
    (media_sha256 for image/video, url for web, gtin for promo_slide)."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status == "archived":
        raise SignageInputError("campaign", "the campaign is archived")
    kind = values["kind"]
    if kind in ("image", "video"):
        _check_media(session, settings, values.get("media_sha256"), kind)
    creative = Creative(
        campaign_id=campaign_id,
        name=values["name"],
        kind=kind,
        duration_s=values["duration_s"],
        media_sha256=values.get("media_sha256") if kind in ("image", "video") else None,
        url=values.get("url") if kind == "web" else None,
        gtin=values.get("gtin") if kind == "promo_slide" else None,
    )
    session.add(creative)
    session.flush()
    return creative


def _check_media(session: Session, settings: Settings, sha256: str | None, kind: str) -> None:
    if not sha256:
        raise SignageInputError("media_sha256", f"an {kind} creative needs uploaded media")
    asset = session.get(MediaAsset, sha256)
    if asset is None or not media_asset_present(session, settings, sha256):
        raise SignageInputError("media_sha256", f"no uploaded media {sha256}")
    if not asset.content_type.startswith(f"{kind}/"):
        raise SignageInputError(
            "media_sha256", f"{sha256[:12]}… is {asset.content_type}; a {kind} needs {kind}/*"
        )


def campaign_creatives(session: Session, campaign_id: int) -> list[Creative]:
    return list(
        session.scalars(
            select(Creative).where(Creative.campaign_id == campaign_id).order_by(Creative.id)
        )
    )


# --- manual overrides ------------------------------------------------------------------


def create_manual_override(
    session: Session,
    settings: Settings,
    values: dict[str, Any],
    created_by: str,
    now: datetime | None = None,
) -> Override:
    """`values`: zone, seconds, priority and exactly one of text, media_sha256, gtin.

    An announcement is rendered to a slide and stored as media, because players show
    images, videos and web pages, not bare text.
    """
    zone = session.get(Zone, values["zone"])
    if zone is None or zone.store_id != settings.store_id:
        raise SignageInputError("zone", f"there is no zone {values['zone']!r}")
    now = now or utcnow()
    item = _override_item(session, settings, values, now)
    override = Override(
        id=reserve_override_ids_in(session.connection(), 1)[0],
        store_id=zone.store_id,  # the worker of that store shows it
        zone_id=values["zone"],
        kind="manual",
        content=item_json(item),
        priority=values["priority"],
        created_at=now,
        expires_at=now + timedelta(seconds=values["seconds"]),
        created_by=created_by,
    )
    session.add(override)
    session.flush()
    return override


def _override_item(
    session: Session, settings: Settings, values: dict[str, Any], now: datetime
) -> ScreenItem:
    item_id = f"manual-{now:%Y%m%dT%H%M%S}"
    duration = float(values["seconds"])
    if values.get("text"):
        try:
            png = render_announcement(values["text"])
        except ValueError as exc:
            raise SignageInputError("text", str(exc)) from exc
        asset = store_media(settings, png, "announcement.png", "image/png", session)
        return ScreenItem(id=item_id, type="image", duration_s=duration, media=asset.sha256)
    if values.get("media_sha256"):
        sha256 = values["media_sha256"]
        asset = session.get(MediaAsset, sha256)
        if asset is None or not media_asset_present(session, settings, sha256):
            raise SignageInputError("media_sha256", f"no uploaded media {sha256}")
        kind = "video" if asset.content_type.startswith("video/") else "image"
        return ScreenItem(id=item_id, type=kind, duration_s=duration, media=sha256)
    return _promo_slide_item(session, settings, values["gtin"], item_id, duration, now)


def _promo_slide_item(
    session: Session, settings: Settings, gtin: str, item_id: str, duration: float, now: datetime
) -> ScreenItem:
    """The product's promo slide, rendered now from live catalogue data (the same content
    as its shelf label), stored as media and sent as an image carrying the GTIN."""
    product = session.scalars(
        select(Product).where(Product.store_id == settings.store_id, Product.gtin == gtin)
    ).first()
    if product is None:
        raise SignageInputError("gtin", f"no product with GTIN {gtin} in this store")
    store = session.get(Store, settings.store_id) or Store(id=settings.store_id, name="")
    history = session.scalars(
        select(PriceHistory)
        .where(PriceHistory.product_id == product.id)
        .order_by(PriceHistory.effective_at)
    ).all()
    promotions = session.scalars(
        select(Promotion).where(Promotion.product_id == product.id, Promotion.starts_at <= now)
    ).all()
    content = build_label_content(product, store, history, promotions, now)
    png = render_promo_slide(content)
    asset = store_media(settings, png, f"promo-{gtin}.png", "image/png", session)
    return ScreenItem(id=item_id, type="image", duration_s=duration, media=asset.sha256, gtin=gtin)


def override_content(override: Override) -> dict[str, Any]:
    try:
        return json.loads(override.content)
    except ValueError:
        return {}
