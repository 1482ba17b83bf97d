"""A playlist as the editor form holds it, and the YAML file it saves.

The form edits a `PlaylistDraft`: plain strings and lists, exactly what a person typed, so a
refused save can show every value again. `draft_yaml` turns a draft into the text of a
playlist file (the same format a person writes by hand); `parse_playlist` stays the one
judge of whether that text is a valid playlist. `draft_from_playlist` goes the other way, so
load -> draft -> YAML -> parse gives an equal playlist.

Pure: no database, no files, no clock.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from esl_controller.signage.playlists import WEEKDAY_NAMES, Playlist, PlaylistItem

# Which content field each item type carries; the others are left out of the file.
CONTENT_FIELD = {"image": "media", "video": "media", "promo_slide": "gtin", "web": "url"}
_NEEDS_CONTENT = {
    "media": "pick a media file from the library or upload one",
    "gtin": "a product slide needs the product's GTIN",
    "url": "a web page item needs its address (https://...)",
}
_SLUG = re.compile(r"[^a-z0-9]+")


class DraftError(ValueError):
    """A form value cannot go into a playlist file; the message is a sentence for people."""


@dataclass(frozen=True)
class DraftItem:
    id: str
    type: str
    duration: str  # seconds, as typed
    media: str = ""  # sha256 of an uploaded file
    file: str = ""  # a file in the playlists' media folder
    gtin: str = ""
    url: str = ""


@dataclass(frozen=True)
class PlaylistDraft:
    title: str = ""
    priority: str = "0"
    zones: tuple[str, ...] = ()
    players: tuple[str, ...] = ()
    weekdays: tuple[int, ...] = ()  # 0 = Monday
    dayparts: tuple[str, ...] = ()  # "HH:MM-HH:MM"
    date_from: str = ""  # ISO date or empty
    date_to: str = ""
    items: tuple[DraftItem, ...] = field(default_factory=tuple)


def draft_from_playlist(playlist: Playlist) -> PlaylistDraft:
    return PlaylistDraft(
        title=playlist.title,
        priority=str(playlist.priority),
        zones=tuple(sorted(playlist.zones)),
        players=tuple(sorted(playlist.players)),
        weekdays=tuple(sorted(playlist.schedule.weekdays)),
        dayparts=tuple(str(part) for part in playlist.schedule.dayparts),
        date_from=playlist.schedule.date_from.isoformat() if playlist.schedule.date_from else "",
        date_to=playlist.schedule.date_to.isoformat() if playlist.schedule.date_to else "",
        items=tuple(_draft_item(item) for item in playlist.items),
    )


def _draft_item(item: PlaylistItem) -> DraftItem:
    return DraftItem(
        id=item.id,
        type=item.type,
        duration=_duration_text(item.duration_s),
        media=item.media_sha256 or "",
        file=item.file or "",
        gtin=item.gtin or "",
        url=item.url or "",
    )


def _duration_text(seconds: float) -> str:
    return str(int(seconds)) if seconds.is_integer() else repr(seconds)


def draft_yaml(draft: PlaylistDraft, header: str = "") -> str:
    """The playlist file for `draft`, after `header` (comment lines kept from the old file).

    Raises DraftError for what YAML cannot say for us (a duration that is no number); the
    rest (an empty title, a bad daypart) is for `parse_playlist` to refuse with its line."""
    document: dict[str, Any] = {"title": draft.title, "priority": _priority(draft.priority)}
    targets: dict[str, list[str]] = {}
    if draft.zones:
        targets["zones"] = list(draft.zones)
    if draft.players:
        targets["players"] = list(draft.players)
    document["targets"] = targets
    schedule: dict[str, Any] = {}
    if draft.weekdays:
        schedule["weekdays"] = [WEEKDAY_NAMES[day] for day in sorted(set(draft.weekdays))]
    if draft.dayparts:
        schedule["dayparts"] = list(draft.dayparts)
    dates = {
        key: value for key, value in (("from", draft.date_from), ("to", draft.date_to)) if value
    }
    if dates:
        schedule["dates"] = dates
    if schedule:
        document["schedule"] = schedule
    document["items"] = [_item_document(index, item) for index, item in enumerate(draft.items)]
    body = yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, default_flow_style=None, width=4096
    )
    return f"{header}{body}"


def _priority(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise DraftError(f"The priority must be a whole number, not {text.strip()!r}.") from None


def _item_document(index: int, item: DraftItem) -> dict[str, Any]:
    document: dict[str, Any] = {"id": item.id, "type": item.type}
    duration = _duration(index, item)
    if item.type in ("image", "video") and item.file:
        document["file"] = item.file
    else:
        key = CONTENT_FIELD.get(item.type)
        if key:
            if not getattr(item, key).strip():
                # Said as what to do: the schema's own word for it is a regex about sha256.
                raise DraftError(f"Item {index + 1} ({item.id}): {_NEEDS_CONTENT[key]}.")
            document[key] = getattr(item, key)
    document["duration"] = duration
    return document


def _duration(index: int, item: DraftItem) -> int | float:
    text = item.duration.strip()
    what = f"Item {index + 1} ({item.id})"
    try:
        seconds = float(text)
    except ValueError:
        raise DraftError(f"{what}: the duration must be a number of seconds.") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise DraftError(f"{what}: the duration must be more than 0 seconds.")
    return int(seconds) if seconds.is_integer() and "." not in text else seconds


def header_comments(text: str) -> str:
    """The comment lines that open a playlist file: they say what it is for, so an edit in
    the form keeps them (comments further down describe lines the form may have moved)."""
    kept = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        kept.append(line if line.endswith("\n") else f"{line}\n")
    return "".join(kept)


def new_item_id(base: str, taken: set[str]) -> str:
    """A readable, unused item id from a file name or GTIN (`welcome.png` -> `welcome`)."""
    stem = base.rsplit(".", 1)[0] if "." in base else base
    slug = _SLUG.sub("-", stem.lower()).strip("-")[:60] or "item"
    candidate, number = slug, 2
    while candidate in taken:
        candidate, number = f"{slug}-{number}", number + 1
    return candidate


def moved(draft: PlaylistDraft, index: int, offset: int) -> PlaylistDraft:
    """The draft with item `index` moved by `offset` places (clamped to the list)."""
    items = list(draft.items)
    if not 0 <= index < len(items):
        return draft
    target = min(max(index + offset, 0), len(items) - 1)
    items.insert(target, items.pop(index))
    return replace(draft, items=tuple(items))


def change_summary(before: Playlist | None, after: Playlist) -> dict[str, object]:
    """What a save changed, for the audit trail: item ids added, removed, the new order when
    it moved, and which settings changed."""
    if before is None:
        return {"created": True, "items": [item.id for item in after.items]}
    old_ids = [item.id for item in before.items]
    new_ids = [item.id for item in after.items]
    summary: dict[str, object] = {}
    added = [item_id for item_id in new_ids if item_id not in old_ids]
    removed = [item_id for item_id in old_ids if item_id not in new_ids]
    if added:
        summary["added"] = added
    if removed:
        summary["removed"] = removed
    kept_old = [item_id for item_id in old_ids if item_id in new_ids]
    kept_new = [item_id for item_id in new_ids if item_id in old_ids]
    if kept_old != kept_new:
        summary["order"] = new_ids
    old_items = {item.id: item for item in before.items}
    edited = [
        item.id for item in after.items if item.id in old_items and item != old_items[item.id]
    ]
    if edited:
        summary["edited"] = edited
    settings = [
        name
        for name in ("title", "priority", "zones", "players", "schedule")
        if getattr(before, name) != getattr(after, name)
    ]
    if settings:
        summary["settings"] = settings
    return summary or {"unchanged": True}
