# ruff: noqa: F811 -- pytest fixtures imported from signage_support are requested by name
"""The playlist editor without YAML through the Flask client: the form round-trips the saved
file, every button keeps what was typed, saves are audited and refusals are sentences."""

from __future__ import annotations

import io

from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller import audit
from esl_controller.config import Settings
from esl_controller.signage.playlists import PlaylistItem, parse_playlist
from tests.web.signage_support import (  # noqa: F401 (fixtures)
    GOOD_PLAYLIST,
    Signage,
    post_form,
    settings,
    signage,
)

EDITOR = "/signage/playlists/dairy"
ITEMS = "/signage/playlists/dairy/items"
TWO_ITEMS = """# Breakfast dairy in the morning rush.
title: Dairy mornings
priority: 10
targets: {zones: [dairy]}
schedule:
  weekdays: [mon, tue, wed, thu, fri]
  dayparts: ["06:00-11:00"]
items:
  - {id: news, type: web, url: "https://example.org/board", duration: 20}
  - {id: cheese, type: promo_slide, gtin: "5901234123457", duration: 8}  # Cașcaval
"""


def real_png(colour: str = "red", size: tuple[int, int] = (640, 360)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def form_of(draft_fields: dict, items: list[dict]) -> dict:
    """The editor form as the browser posts it: one list per item field, in row order."""
    data = dict(draft_fields)
    for field in ("id", "type", "duration", "media", "file", "gtin", "url"):
        data[f"item_{field}"] = [item.get(field, "") for item in items]
    return data


SETTINGS_FIELDS = {
    "title": "Dairy mornings",
    "priority": "10",
    "zones": "dairy",
    "players": "",
    "weekdays": ["0", "1", "2", "3", "4"],
    "dayparts": "06:00-11:00",
    "date_from": "",
    "date_to": "",
}
NEWS = {"id": "news", "type": "web", "duration": "20", "url": "https://example.org/board"}
CHEESE = {"id": "cheese", "type": "promo_slide", "duration": "8", "gtin": "5901234123457"}


def saved(settings: Settings):
    text = (settings.playlists_dir / "dairy.yaml").read_text(encoding="utf-8")
    return parse_playlist("dairy", text, "dairy.yaml", lambda item: True), text


def write(settings: Settings, text: str) -> None:
    settings.playlists_dir.mkdir(parents=True, exist_ok=True)
    (settings.playlists_dir / "dairy.yaml").write_text(text, encoding="utf-8")


def test_the_editor_lists_items_with_captions(
    manager_client: FlaskClient, signage: Signage, settings: Settings
):
    write(settings, TWO_ITEMS)
    html = manager_client.get(EDITOR).get_data(as_text=True)
    assert 'id="playlist-editor"' in html
    assert "https://example.org/board" in html
    assert "Cașcaval Dalia (GTIN 5901234123457)" in html  # the product's name, not only a code
    assert html.index('data-item-id="news"') < html.index('data-item-id="cheese"')
    assert 'id="yaml-editor"' in html


def test_saving_without_edits_gives_an_equal_playlist_and_keeps_the_opening_comment(
    manager_client: FlaskClient, signage: Signage, settings: Settings, engine: Engine
):
    write(settings, TWO_ITEMS)
    before, _ = saved(settings)
    response = post_form(manager_client, ITEMS, form_of(SETTINGS_FIELDS, [NEWS, CHEESE]), EDITOR)
    assert response.status_code == 302
    after, text = saved(settings)
    assert after == before
    assert text.startswith("# Breakfast dairy in the morning rush.\n")
    with Session(engine) as session:
        (entry,) = audit.recent(session, action_prefix="playlist.")
    assert (entry.action, entry.target, entry.actor) == ("playlist.save", "playlist:dairy", "bob")
    assert audit.detail_of(entry) == {"unchanged": True}


def test_reordering_and_removing_are_audited_with_a_summary(
    manager_client: FlaskClient, signage: Signage, settings: Settings, engine: Engine
):
    write(settings, TWO_ITEMS)
    response = post_form(
        manager_client,
        ITEMS,
        form_of({**SETTINGS_FIELDS, "dayparts": "07:00-10:00, 17:00-20:00"}, [CHEESE, NEWS]),
        EDITOR,
    )
    assert response.status_code == 302
    playlist, _ = saved(settings)
    assert [item.id for item in playlist.items] == ["cheese", "news"]
    assert [str(part) for part in playlist.schedule.dayparts] == ["07:00-10:00", "17:00-20:00"]
    with Session(engine) as session:
        (entry,) = audit.recent(session, action_prefix="playlist.")
    assert audit.detail_of(entry) == {"order": ["cheese", "news"], "settings": ["schedule"]}


def test_buttons_move_and_remove_without_saving(
    manager_client: FlaskClient, signage: Signage, settings: Settings
):
    write(settings, TWO_ITEMS)
    fields = {**SETTINGS_FIELDS, "title": "Typed but not saved"}
    moved = post_form(
        manager_client, ITEMS, {**form_of(fields, [NEWS, CHEESE]), "action": "down:0"}, EDITOR
    )
    html = moved.get_data(as_text=True)
    assert moved.status_code == 200
    assert html.index('data-item-id="cheese"') < html.index('data-item-id="news"')
    assert 'value="Typed but not saved"' in html  # what was typed stays in the form
    assert "Changes not saved yet" in html
    removed = post_form(
        manager_client, ITEMS, {**form_of(fields, [NEWS, CHEESE]), "action": "remove:0"}, EDITOR
    )
    assert 'data-item-id="news"' not in removed.get_data(as_text=True)
    assert saved(settings)[1] == TWO_ITEMS  # nothing written until Save


def test_upload_and_add_keeps_the_unsaved_edits_and_respects_the_checks(
    manager_client: FlaskClient, signage: Signage, settings: Settings
):
    write(settings, TWO_ITEMS)
    data = {
        **form_of({**SETTINGS_FIELDS, "title": "Edited"}, [NEWS]),
        "action": "upload",
        "new_file": (io.BytesIO(real_png()), "Fresh Milk.png", "image/png"),
    }
    uploaded = post_form(manager_client, ITEMS, data, EDITOR)
    html = uploaded.get_data(as_text=True)
    assert uploaded.status_code == 200
    assert 'data-item-id="fresh-milk"' in html and 'value="Edited"' in html
    thumbnail = html.split('data-item-id="fresh-milk"')[1].split('src="')[1].split('"')[0]
    preview = manager_client.get(thumbnail)
    assert preview.status_code == 200 and preview.mimetype == "image/png"
    assert Image.open(io.BytesIO(preview.data)).size == (160, 90)

    refused = post_form(
        manager_client,
        ITEMS,
        {
            **form_of(SETTINGS_FIELDS, [NEWS]),
            "action": "upload",
            "new_file": (io.BytesIO(b"<svg/>"), "logo.svg", "image/svg+xml"),
        },
        EDITOR,
    )
    assert refused.status_code == 422
    assert "is not allowed" in refused.get_data(as_text=True)


def test_a_picked_media_file_is_saved_as_an_item_by_hash(
    manager_client: FlaskClient, signage: Signage, settings: Settings
):
    write(settings, TWO_ITEMS)
    png = real_png("blue")
    upload = post_form(
        manager_client,
        ITEMS,
        {**form_of(SETTINGS_FIELDS, [NEWS]), "action": "upload",
         "new_file": (io.BytesIO(png), "blue.png", "image/png")},
        EDITOR,
    )  # fmt: skip
    assert upload.status_code == 200
    import hashlib

    sha = hashlib.sha256(png).hexdigest()
    picked = post_form(
        manager_client,
        ITEMS,
        {**form_of(SETTINGS_FIELDS, [NEWS]), "action": f"add-media:{sha}"},
        EDITOR,
    )
    html = picked.get_data(as_text=True)
    assert 'data-item-id="blue"' in html
    blue = {"id": "blue", "type": "image", "duration": "12", "media": sha}
    response = post_form(manager_client, ITEMS, form_of(SETTINGS_FIELDS, [blue, NEWS]), EDITOR)
    assert response.status_code == 302
    playlist, _ = saved(settings)
    assert playlist.items[0] == PlaylistItem("blue", "image", 12.0, media_sha256=sha)


def test_refusals_are_sentences_about_the_form_and_keep_the_file(
    manager_client: FlaskClient, signage: Signage, settings: Settings
):
    write(settings, TWO_ITEMS)
    bad = [{**NEWS, "duration": "soon"}, CHEESE]
    response = post_form(manager_client, ITEMS, form_of(SETTINGS_FIELDS, bad), EDITOR)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Item 1 (news): the duration must be a number of seconds." in html
    assert 'value="soon"' in html  # the typed value stays to be fixed

    nowhere = {**SETTINGS_FIELDS, "zones": "", "dayparts": "7 to 11"}
    response = post_form(manager_client, ITEMS, form_of(nowhere, [NEWS]), EDITOR)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Zones and players: needs at least one zone or player." in html
    assert "Daypart 1: daypart &#39;7 to 11&#39; must look like &#39;HH:MM-HH:MM&#39;." in html
    assert "yaml:" not in html.split('id="editor-errors"')[1].split("</div>")[0]
    assert saved(settings)[1] == TWO_ITEMS


def test_a_new_playlist_is_built_from_nothing(
    manager_client: FlaskClient, signage: Signage, settings: Settings, engine: Engine
):
    empty = manager_client.get("/signage/playlists/fresh")
    assert 'id="playlist-editor"' in empty.get_data(as_text=True)
    path = "/signage/playlists/fresh/items"
    refused = post_form(manager_client, path, form_of({**SETTINGS_FIELDS}, []), EDITOR)
    assert "Items: add at least one." in refused.get_data(as_text=True)
    added = post_form(
        manager_client,
        path,
        {**form_of(SETTINGS_FIELDS, []), "action": "add-promo", "new_gtin": "5901234123457"},
        EDITOR,
    )
    assert 'data-item-id="promo-5901234123457"' in added.get_data(as_text=True)
    promo = {"id": "promo-5901234123457", "type": "promo_slide", "duration": "8",
             "gtin": "5901234123457"}  # fmt: skip
    assert (
        post_form(manager_client, path, form_of(SETTINGS_FIELDS, [promo]), EDITOR).status_code
        == 302
    )
    with Session(engine) as session:
        (entry,) = audit.recent(session, target="playlist:fresh")
    assert audit.detail_of(entry) == {"created": True, "items": ["promo-5901234123457"]}


def test_a_file_that_does_not_parse_opens_in_the_yaml_editor_only(
    manager_client: FlaskClient, signage: Signage, settings: Settings
):
    write(settings, "title: [unclosed\n")
    html = manager_client.get(EDITOR).get_data(as_text=True)
    assert 'id="editor-unavailable"' in html and 'id="playlist-editor"' not in html
    assert '<details class="card" id="yaml-editor" open>' in html


def test_the_yaml_editor_save_is_audited_too(
    manager_client: FlaskClient, signage: Signage, settings: Settings, engine: Engine
):
    assert post_form(manager_client, EDITOR, {"text": GOOD_PLAYLIST}, EDITOR).status_code == 302
    with Session(engine) as session:
        (entry,) = audit.recent(session, action_prefix="playlist.")
    assert audit.detail_of(entry) == {"created": True, "items": ["news"]}


def test_thumbnails_only_for_stored_images(manager_client: FlaskClient, signage: Signage):
    assert manager_client.get(f"/signage/thumbnails/media/{'0' * 64}").status_code == 404
    assert manager_client.get("/signage/thumbnails/file/..%2Fsecret.png").status_code == 404


def test_an_announcement_is_added_as_a_slide_and_listed_by_its_text(
    manager_client: FlaskClient, signage: Signage, settings: Settings
):
    write(settings, TWO_ITEMS)
    added = post_form(
        manager_client,
        ITEMS,
        {
            **form_of(SETTINGS_FIELDS, [NEWS]),
            "action": "add-announcement",
            "new_announcement": "Fresh bread  at 17:00",
        },
        EDITOR,
    )
    html = added.get_data(as_text=True)
    assert added.status_code == 200
    row = html.split('data-item-id="announcement-fresh-bread-at-17-00"')[1].split("</li>")[0]
    assert "<strong>Announcement</strong>" in row
    assert '<span class="caption-text">Fresh bread at 17:00</span>' in row
    media = row.split('name="item_media" value="')[1].split('"')[0]
    item = {"id": "bread", "type": "image", "duration": "15", "media": media}
    assert (
        post_form(manager_client, ITEMS, form_of(SETTINGS_FIELDS, [item]), EDITOR).status_code
        == 302
    )
    assert saved(settings)[0].items == (PlaylistItem("bread", "image", 15.0, media_sha256=media),)

    empty = post_form(
        manager_client,
        ITEMS,
        {**form_of(SETTINGS_FIELDS, [NEWS]), "action": "add-announcement", "new_announcement": " "},
        EDITOR,
    )
    assert empty.status_code == 422
    assert "The announcement text is empty." in empty.get_data(as_text=True)


def test_a_save_over_someone_elses_newer_save_asks_first(
    manager_client: FlaskClient, signage: Signage, settings: Settings
):
    write(settings, TWO_ITEMS)
    html = manager_client.get(EDITOR).get_data(as_text=True)
    opened = html.split('name="base_digest" value="')[1].split('"')[0]
    theirs = TWO_ITEMS.replace("duration: 20", "duration: 25")
    write(settings, theirs)  # another manager saves meanwhile
    mine = {**form_of({**SETTINGS_FIELDS, "title": "Mine"}, [CHEESE]), "base_digest": opened}
    refused = post_form(manager_client, ITEMS, mine, EDITOR)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Someone else saved this playlist while you were editing it." in page
    assert 'value="Mine"' in page and saved(settings)[1] == theirs
    again = page.split('name="base_digest" value="')[1].split('"')[0]
    assert again != opened
    replaced = post_form(manager_client, ITEMS, {**mine, "base_digest": again}, EDITOR)
    assert replaced.status_code == 302
    assert saved(settings)[0].title == "Mine"


def test_buttons_carry_the_opened_version_along(
    manager_client: FlaskClient, signage: Signage, settings: Settings
):
    write(settings, TWO_ITEMS)
    html = manager_client.get(EDITOR).get_data(as_text=True)
    opened = html.split('name="base_digest" value="')[1].split('"')[0]
    moved = post_form(
        manager_client,
        ITEMS,
        {**form_of(SETTINGS_FIELDS, [NEWS, CHEESE]), "action": "down:0", "base_digest": opened},
        EDITOR,
    )
    assert f'name="base_digest" value="{opened}"' in moved.get_data(as_text=True)
    saved_ok = post_form(
        manager_client,
        ITEMS,
        {**form_of(SETTINGS_FIELDS, [CHEESE, NEWS]), "base_digest": opened},
        EDITOR,
    )
    assert saved_ok.status_code == 302


def test_the_media_library_shows_previews_and_an_undecodable_file_a_neutral_box(
    manager_client: FlaskClient, signage: Signage, settings: Settings, engine: Engine
):
    from esl_controller.signage.media import store_media
    from esl_controller.signage.thumbnails import NO_PREVIEW

    with Session(engine) as session:
        good = store_media(settings, real_png(), "shelf.png", "image/png", session).sha256
        broken = store_media(settings, b"\x89PNG junk", "broken.png", "image/png", session).sha256
        session.commit()
    page = manager_client.get("/signage/playlists").get_data(as_text=True)
    assert f'src="/signage/thumbnails/media/{good}"' in page
    preview = manager_client.get(f"/signage/thumbnails/media/{good}")
    assert Image.open(io.BytesIO(preview.data)).size == (160, 90) and preview.data != NO_PREVIEW
    assert manager_client.get(f"/signage/thumbnails/media/{broken}").data == NO_PREVIEW


def test_an_item_of_an_unknown_type_or_without_its_content_is_refused_with_a_sentence(
    manager_client: FlaskClient, signage: Signage, settings: Settings
):
    write(settings, TWO_ITEMS)
    cases = [
        ({"id": "holo", "type": "hologram", "duration": "5"},
         "Item 1 (holo), type: unknown type &#39;hologram&#39;; one of image, video"),
        ({"id": "blank", "type": "image", "duration": "5", "media": " "},
         "Item 1 (blank): pick a media file from the library or upload one."),
        ({"id": "page", "type": "web", "duration": "5"},
         "Item 1 (page): a web page item needs its address (https://...)."),
    ]  # fmt: skip
    for item, sentence in cases:
        response = post_form(manager_client, ITEMS, form_of(SETTINGS_FIELDS, [item]), EDITOR)
        assert response.status_code == 422
        assert sentence in response.get_data(as_text=True)
    assert saved(settings)[1] == TWO_ITEMS  # the file as it was
