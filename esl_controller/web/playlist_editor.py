"""The playlist editor without YAML: the form's fields as a draft, the buttons that change
the draft (move, remove, add from the media picker), the rows the page shows (with
thumbnails and captions) and refusals in words a store manager reads.

Every button posts the whole form, so nothing typed is lost and the editor works without
JavaScript; `static/playlist_editor.js` adds drag-and-drop and moves rows in place.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session
from werkzeug.datastructures import MultiDict

from esl_controller.config import Settings
from esl_controller.models import MediaAsset, Product
from esl_controller.signage.announcement import render_announcement
from esl_controller.signage.media import store_media
from esl_controller.signage.playlist_draft import (
    DraftItem,
    PlaylistDraft,
    moved,
    new_item_id,
)
from esl_controller.signage.playlists import WEEKDAY_NAMES
from esl_controller.web.signage_actions import MEDIA_SUBDIR

DEFAULT_DURATION = "10"
# An announcement is an image slide; its media's display name carries the text, so the list
# can show what it says. Overrides store theirs as a bare "announcement.png".
ANNOUNCEMENT_PREFIX = "Announcement: "
OVERRIDE_ANNOUNCEMENT = "announcement.png"
VIDEO_SUFFIXES = frozenset({".mp4", ".webm"})
PICKER_FILE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", *VIDEO_SUFFIXES})
ITEM_FIELDS = ("id", "type", "duration", "media", "file", "gtin", "url")
_LOCATED = re.compile(r"^[^:\n]+\.ya?ml:\d+: (?P<path>[^:]+): (?P<message>.*)$")
_ITEM_PATH = re.compile(r"^items\[(?P<index>\d+)\]\.?(?P<field>.*)$")
_FIELD_NAMES = {
    "title": "Title",
    "priority": "Priority",
    "targets": "Zones and players",
    "targets.zones": "Zones and players",
    "targets.players": "Players",
    "schedule.weekdays": "Weekdays",
    "schedule.dayparts": "Dayparts",
    "schedule.dates.from": "First day",
    "schedule.dates.to": "Last day",
    "items": "Items",
}
_ITEM_FIELD_NAMES = {"media": "media", "file": "file", "gtin": "GTIN", "url": "web address"}


SAVED_MEANWHILE = (
    "Someone else saved this playlist while you were editing it. Your changes are still "
    "here and not saved: press Save again to replace their version with yours, or open the "
    "playlist again to see theirs."
)


def text_digest(text: str | None) -> str:
    """Which version of the file the editor started from ("" when there was no file)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text is not None else ""


class EditorInputError(ValueError):
    """A button's request cannot be carried out; the message is for the person."""


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def draft_from_form(form: MultiDict) -> PlaylistDraft:
    """The editor's fields, in the order the page listed the items (drag moves the rows)."""
    columns = [form.getlist(f"item_{name}") for name in ITEM_FIELDS]
    rows = zip(*columns, strict=False)
    items = tuple(DraftItem(*(value.strip() for value in row)) for row in rows)
    weekdays = tuple(
        sorted({int(day) for day in form.getlist("weekdays") if day.isdigit() and int(day) < 7})
    )
    return PlaylistDraft(
        title=form.get("title", "").strip(),
        priority=form.get("priority", "").strip() or "0",
        zones=_split(form.get("zones", "")),
        players=_split(form.get("players", "")),
        weekdays=weekdays,
        dayparts=_split(form.get("dayparts", "")),
        date_from=form.get("date_from", "").strip(),
        date_to=form.get("date_to", "").strip(),
        items=items,
    )


def apply_button(
    session: Session, settings: Settings, draft: PlaylistDraft, action: str, form: MultiDict
) -> PlaylistDraft:
    """The draft after the button `action` ("up:2", "remove:0", "add-media:<sha256>", ...)."""
    verb, _, argument = action.partition(":")
    if verb in ("up", "down", "remove"):
        if not argument.isdigit():
            raise EditorInputError("That button no longer matches an item; reload the page.")
        index = int(argument)
        if verb == "remove":
            items = draft.items[:index] + draft.items[index + 1 :]
            return replace(draft, items=items)
        return moved(draft, index, -1 if verb == "up" else 1)
    if verb == "add-media":
        asset = session.get(MediaAsset, argument)
        if asset is None:
            raise EditorInputError("That media file is no longer uploaded.")
        return with_media(draft, asset)
    if verb == "add-file":
        if argument not in media_folder_files(settings):
            raise EditorInputError(f"There is no file {argument!r} in the media folder.")
        kind = "video" if Path(argument).suffix.lower() in VIDEO_SUFFIXES else "image"
        return _appended(
            draft, DraftItem(_id_for(draft, argument), kind, DEFAULT_DURATION, file=argument)
        )
    if verb == "add-announcement":
        return _with_announcement(session, settings, draft, form.get("new_announcement", ""))
    if verb == "add-promo":
        gtin = form.get("new_gtin", "").strip()
        if not gtin:
            raise EditorInputError(
                "Type the product's GTIN (the barcode number) to add a promo slide."
            )
        return _appended(
            draft, DraftItem(_id_for(draft, f"promo-{gtin}"), "promo_slide", "8", gtin=gtin)
        )
    if verb == "add-web":
        url = form.get("new_url", "").strip()
        if not url:
            raise EditorInputError("Type the web page's address to add it.")
        return _appended(draft, DraftItem(_id_for(draft, "web"), "web", "20", url=url))
    raise EditorInputError("Unknown button; reload the page.")


def _with_announcement(
    session: Session, settings: Settings, draft: PlaylistDraft, text: str
) -> PlaylistDraft:
    """The text rendered as a slide (as a manual override renders it), stored and added."""
    text = " ".join(text.split())
    try:
        png = render_announcement(text)
    except ValueError as exc:
        message = str(exc)
        raise EditorInputError(f"{message[0].upper()}{message[1:]}.") from None
    name = f"{ANNOUNCEMENT_PREFIX}{text[:200].replace('/', '-').replace(chr(92), '-')}.png"
    asset = store_media(settings, png, name, "image/png", session)
    if asset.filename == OVERRIDE_ANNOUNCEMENT:  # the same slide pushed earlier as an override
        asset.filename = name
        session.add(asset)
    item = DraftItem(_id_for(draft, f"announcement-{text[:40]}"), "image", DEFAULT_DURATION)
    return _appended(draft, replace(item, media=asset.sha256))


def announcement_text(filename: str) -> str | None:
    if not filename.startswith(ANNOUNCEMENT_PREFIX):
        return None
    return filename[len(ANNOUNCEMENT_PREFIX) :].removesuffix(".png")


def with_media(draft: PlaylistDraft, asset: MediaAsset) -> PlaylistDraft:
    kind = "video" if asset.content_type.startswith("video/") else "image"
    item = DraftItem(_id_for(draft, asset.filename), kind, DEFAULT_DURATION, media=asset.sha256)
    return _appended(draft, item)


def _id_for(draft: PlaylistDraft, base: str) -> str:
    return new_item_id(base, {item.id for item in draft.items})


def _appended(draft: PlaylistDraft, item: DraftItem) -> PlaylistDraft:
    return replace(draft, items=(*draft.items, item))


def media_folder_files(settings: Settings) -> list[str]:
    folder = settings.playlists_dir / MEDIA_SUBDIR
    if not folder.is_dir():
        return []
    return sorted(
        path.name
        for path in folder.iterdir()
        if path.is_file()
        and not path.name.startswith(".")
        and path.suffix.lower() in PICKER_FILE_SUFFIXES
    )


@dataclass(frozen=True)
class ItemRow:
    """One item as the list shows it: its fields plus what a person recognises it by."""

    item: DraftItem
    kind_label: str
    caption: str
    thumbnail: str | None  # URL of a scaled image, or None for an icon


def item_rows(
    session: Session, settings: Settings, draft: PlaylistDraft, thumbnail_url: Any
) -> list[ItemRow]:
    """`thumbnail_url(kind, key)` builds the URL of a thumbnail ("media" or "file")."""
    gtins = [item.gtin for item in draft.items if item.type == "promo_slide" and item.gtin]
    names = _product_names(session, settings, gtins)
    shas = [item.media for item in draft.items if item.media and not item.file]
    assets = {
        asset.sha256: asset
        for asset in session.scalars(select(MediaAsset).where(MediaAsset.sha256.in_(shas)))
    }
    rows = []
    for item in draft.items:
        if item.type in ("image", "video"):
            asset = assets.get(item.media)
            caption = item.file or (asset.filename if asset else f"media {item.media[:12]}…")
            thumbnail = None
            if item.type == "image":
                thumbnail = (
                    thumbnail_url("file", item.file)
                    if item.file
                    else thumbnail_url("media", item.media)
                    if asset
                    else None
                )
            label = "Video" if item.type == "video" else "Image"
            announced = announcement_text(asset.filename) if asset and not item.file else None
            if announced is not None:
                label, caption = "Announcement", announced
            rows.append(ItemRow(item, label, caption, thumbnail))
        elif item.type == "promo_slide":
            name = names.get(item.gtin, "product not in the catalogue")
            rows.append(ItemRow(item, "Promo slide", f"{name} (GTIN {item.gtin})", None))
        else:
            rows.append(ItemRow(item, "Web page", item.url, None))
    return rows


def _product_names(session: Session, settings: Settings, gtins: list[str]) -> dict[str, str]:
    if not gtins:
        return {}
    rows = session.execute(
        select(Product.gtin, Product.name).where(
            Product.store_id == settings.store_id, Product.gtin.in_(gtins)
        )
    )
    return {gtin: name for gtin, name in rows}


def picker_media(session: Session) -> list[MediaAsset]:
    """Uploaded images and videos, newest first (the picker's cards)."""
    return list(
        session.scalars(
            select(MediaAsset)
            .where(MediaAsset.filename != OVERRIDE_ANNOUNCEMENT)
            .order_by(MediaAsset.created_at.desc(), MediaAsset.sha256)
            .limit(100)
        )
    )


def plain_errors(message: str, draft: PlaylistDraft) -> list[str]:
    """A PlaylistError (file, line, field) as sentences about the form: the YAML line
    numbers mean nothing to someone who never saw the YAML."""
    sentences = []
    for line in message.splitlines():
        match = _LOCATED.match(line)
        if not match:
            sentences.append(line)
            continue
        path, text = match["path"], match["message"]
        sentences.append(f"{_field_name(path, draft)}: {_plain_message(text)}.")
    return sentences


def _field_name(path: str, draft: PlaylistDraft) -> str:
    item = _ITEM_PATH.match(path)
    if item:
        index = int(item["index"])
        name = f"Item {index + 1}"
        if index < len(draft.items):
            name += f" ({draft.items[index].id})"
        field = item["field"]
        if field and field not in ("duration", "id", "type"):
            name += f", {_ITEM_FIELD_NAMES.get(field, field)}"
        elif field:
            name += f", {field}"
        return name
    base = re.sub(r"\[\d+\]$", "", path)
    label = _FIELD_NAMES.get(base, base.replace(".", " ").replace("_", " ").capitalize())
    daypart = re.search(r"dayparts\[(\d+)\]$", path)
    return f"Daypart {int(daypart[1]) + 1}" if daypart else label


def _plain_message(text: str) -> str:
    text = text.rstrip(".")
    replacements = {
        "required field is missing": "this is required",
        "Length must be between 1 and 200": "type 1 to 200 characters",
        "must not be empty": "add at least one",
        "must be > 0": "must be more than 0",
    }
    return replacements.get(text, text)


def weekday_choices() -> list[tuple[int, str]]:
    return [(index, name.capitalize()) for index, name in enumerate(WEEKDAY_NAMES)]
