"""The editor's draft: a playlist loaded, turned into a draft and saved as YAML parses back
equal, for any playlist the file format can hold; form values that cannot be a playlist are
refused with a sentence."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esl_controller.signage.playlist_draft import (
    DraftError,
    DraftItem,
    PlaylistDraft,
    change_summary,
    draft_from_playlist,
    draft_yaml,
    header_comments,
    moved,
    new_item_id,
)
from esl_controller.signage.playlists import (
    Daypart,
    Playlist,
    PlaylistItem,
    Schedule,
    parse_playlist,
)

SHA = "b" * 64
GTINS = ("5941768000015", "5901234123457", "4006381333931", "96385074")


def everything_exists(item: PlaylistItem) -> bool:
    return True


def parse(text: str) -> Playlist:
    return parse_playlist("dairy", text, "signage_playlists/dairy.yaml", everything_exists)


# Text the YAML layer must carry unchanged: quotes, colons, '#', Unicode, leading spaces.
texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40
).filter(lambda text: text.strip() == text and text != "")
ids = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.:# ", min_size=1, max_size=20
).filter(lambda text: text.strip() == text)
durations = st.floats(min_value=0.001, max_value=1e6, allow_nan=False, allow_infinity=False)
hours = st.times().map(lambda moment: time(moment.hour, moment.minute))


@st.composite
def items(draw: st.DrawFn, item_id: str) -> PlaylistItem:
    kind = draw(st.sampled_from(("image", "video", "promo_slide", "web")))
    duration = draw(durations)
    if kind in ("image", "video"):
        if draw(st.booleans()):
            return PlaylistItem(
                item_id, kind, duration, media_sha256=draw(st.sampled_from((SHA, "0" * 64)))
            )
        name = draw(st.from_regex(r"[a-z][a-z0-9_-]{0,20}\.(png|mp4)", fullmatch=True))
        return PlaylistItem(item_id, kind, duration, file=name)
    if kind == "promo_slide":
        return PlaylistItem(item_id, kind, duration, gtin=draw(st.sampled_from(GTINS)))
    path = draw(st.from_regex(r"[a-z0-9/_-]{0,20}", fullmatch=True))
    return PlaylistItem(item_id, kind, duration, url=f"https://example.org/{path}")


@st.composite
def playlists(draw: st.DrawFn) -> Playlist:
    zones = draw(st.frozensets(ids, max_size=4))
    players = draw(st.frozensets(ids, min_size=0 if zones else 1, max_size=3))
    item_ids = draw(st.lists(ids, min_size=1, max_size=6, unique=True))
    first = draw(st.none() | st.dates(date(2020, 1, 1), date(2035, 12, 31)))
    last = draw(st.none() | st.dates(first or date(2020, 1, 1), date(2036, 12, 31)))
    schedule = Schedule(
        weekdays=draw(st.frozensets(st.integers(0, 6))),
        dayparts=tuple(draw(st.lists(st.builds(Daypart, hours, hours), max_size=3))),
        date_from=first,
        date_to=last,
    )
    return Playlist(
        name="dairy",
        title=draw(texts),
        priority=draw(st.integers(-1000, 1000)),
        zones=zones,
        players=players,
        schedule=schedule,
        items=tuple(draw(items(item_id)) for item_id in item_ids),
    )


@settings(max_examples=300, deadline=None)
@given(playlists())
def test_a_playlist_saved_from_its_draft_parses_back_equal(playlist: Playlist):
    assert parse(draft_yaml(draft_from_playlist(playlist))) == playlist


@settings(max_examples=100, deadline=None)
@given(playlists())
def test_saving_an_unedited_file_again_changes_nothing(playlist: Playlist):
    text = draft_yaml(draft_from_playlist(playlist))
    assert draft_yaml(draft_from_playlist(parse(text))) == text


def test_the_bundled_hand_written_playlists_round_trip():
    folder = Path(__file__).resolve().parents[2] / "signage_playlists"
    for path in sorted(folder.glob("*.yaml")):
        original = parse(path.read_text(encoding="utf-8"))
        saved = draft_yaml(draft_from_playlist(original), header_comments(path.read_text()))
        assert parse(saved) == original, path.name
        assert saved.startswith("#"), "the file's opening comment is kept"


def test_written_like_a_hand_written_file():
    text = draft_yaml(
        PlaylistDraft(
            title="Dairy mornings",
            priority="10",
            zones=("dairy",),
            weekdays=(4, 0),
            dayparts=("07:00-11:00",),
            items=(DraftItem("yoghurt", "promo_slide", "8", gtin="5941768000015"),),
        )
    )
    assert text == (
        "title: Dairy mornings\n"
        "priority: 10\n"
        "targets:\n  zones: [dairy]\n"
        "schedule:\n  weekdays: [mon, fri]\n  dayparts: ['07:00-11:00']\n"
        "items:\n- {id: yoghurt, type: promo_slide, gtin: '5941768000015', duration: 8}\n"
    )


@pytest.mark.parametrize(
    ("duration", "message"),
    [
        ("", "Item 1 (milk): the duration must be a number of seconds."),
        ("ten", "Item 1 (milk): the duration must be a number of seconds."),
        ("0", "Item 1 (milk): the duration must be more than 0 seconds."),
        ("-3", "Item 1 (milk): the duration must be more than 0 seconds."),
        ("inf", "Item 1 (milk): the duration must be more than 0 seconds."),
        ("nan", "Item 1 (milk): the duration must be more than 0 seconds."),
    ],
)
def test_a_duration_that_is_no_positive_number_is_refused_in_words(duration: str, message: str):
    draft = PlaylistDraft(title="t", zones=("z",), items=(DraftItem("milk", "web", duration),))
    with pytest.raises(DraftError) as caught:
        draft_yaml(draft)
    assert str(caught.value) == message


def test_a_priority_that_is_no_whole_number_is_refused_in_words():
    draft = PlaylistDraft(title="t", priority="high", items=(DraftItem("a", "web", "5"),))
    with pytest.raises(DraftError, match="The priority must be a whole number, not 'high'"):
        draft_yaml(draft)


def test_only_the_content_field_of_the_item_type_is_written():
    item = DraftItem("a", "web", "5", media=SHA, gtin="5941768000015", url="https://x.org/")
    text = draft_yaml(PlaylistDraft(title="t", zones=("z",), items=(item,)))
    assert parse(text).items == (PlaylistItem("a", "web", 5.0, url="https://x.org/"),)


def test_moving_an_item_clamps_to_the_ends_of_the_list():
    draft = PlaylistDraft(items=tuple(DraftItem(name, "web", "1") for name in "abc"))
    assert [item.id for item in moved(draft, 2, -1).items] == ["a", "c", "b"]
    assert [item.id for item in moved(draft, 0, -1).items] == ["a", "b", "c"]
    assert [item.id for item in moved(draft, 0, 5).items] == ["b", "c", "a"]
    assert moved(draft, 7, 1) == draft


def test_new_item_ids_are_readable_and_unused():
    assert new_item_id("Fresh Dairy.PNG", set()) == "fresh-dairy"
    assert new_item_id("welcome.png", {"welcome", "welcome-2"}) == "welcome-3"
    assert new_item_id("...", set()) == "item"


def test_header_comments_are_the_opening_comment_lines_only():
    assert header_comments("# a\n# b\ntitle: x\n# c\n") == "# a\n# b\n"
    assert header_comments("title: x\n") == ""


def test_the_change_summary_names_what_moved_was_added_and_removed():
    before = parse(
        "title: t\ntargets: {zones: [z]}\nitems:\n"
        "  - {id: a, type: web, url: 'https://x.org/a', duration: 5}\n"
        "  - {id: b, type: web, url: 'https://x.org/b', duration: 5}\n"
        "  - {id: c, type: web, url: 'https://x.org/c', duration: 5}\n"
    )
    draft = draft_from_playlist(before)
    reordered = moved(draft, 2, -2)
    edited = PlaylistDraft(**{**reordered.__dict__, "title": "new", "items": reordered.items[:2]})
    after = parse(draft_yaml(edited))
    assert change_summary(before, after) == {
        "removed": ["b"],
        "order": ["c", "a"],
        "settings": ["title"],
    }
    assert change_summary(before, before) == {"unchanged": True}
    assert change_summary(None, before) == {"created": True, "items": ["a", "b", "c"]}
