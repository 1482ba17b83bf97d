from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from esl_controller.demo_data import demo_catalogue
from esl_controller.signage.playlists import (
    Daypart,
    PlaylistError,
    PlaylistItem,
    load_playlists,
    parse_daypart,
    parse_playlist,
)

SOURCE = "signage_playlists/dairy.yaml"
SHA = "a" * 64

GOOD = """\
title: Dairy mornings
priority: 10
targets: {zones: [dairy], players: [screen-07]}
schedule:
  weekdays: [mon, tue, wed, thu, fri]
  dayparts: ["06:00-11:00", "22:00-02:00"]
  dates: {from: 2026-11-01, to: 2026-12-31}
items:
  - {id: welcome, type: image, file: welcome.png, duration: 10}
  - {id: milk, type: image, media: "SHA", duration: 8}
  - {id: coffee, type: promo_slide, gtin: "5941768000015", duration: 8}
  - {id: clip, type: video, file: clip.mp4, duration: 15}
  - {id: news, type: web, url: "https://example.org/board", duration: 20}
""".replace("SHA", SHA)


def everything_exists(item: PlaylistItem) -> bool:
    return True


def parse(text: str, media_exists=everything_exists):
    return parse_playlist("dairy", text, SOURCE, media_exists)


def error_of(text: str, media_exists=everything_exists) -> str:
    with pytest.raises(PlaylistError) as caught:
        parse(text, media_exists)
    return str(caught.value)


def test_parses_every_field_of_the_contract_example():
    playlist = parse(GOOD)
    assert playlist.name == "dairy"
    assert playlist.title == "Dairy mornings"
    assert playlist.priority == 10
    assert playlist.zones == {"dairy"} and playlist.players == {"screen-07"}
    assert playlist.schedule.weekdays == {0, 1, 2, 3, 4}
    assert playlist.schedule.dayparts == (
        Daypart(time(6), time(11)),
        Daypart(time(22), time(2)),
    )
    assert playlist.schedule.dayparts[1].crosses_midnight
    assert playlist.schedule.date_from == date(2026, 11, 1)
    assert playlist.schedule.date_to == date(2026, 12, 31)
    assert [i.type for i in playlist.items] == ["image", "image", "promo_slide", "video", "web"]
    assert playlist.items[0] == PlaylistItem("welcome", "image", 10.0, file="welcome.png")
    assert playlist.items[1].media_sha256 == SHA
    assert playlist.items[2].gtin == "5941768000015"
    assert playlist.items[4].url == "https://example.org/board"


def test_absent_schedule_means_always_and_priority_defaults_to_zero():
    playlist = parse(
        "title: T\ntargets: {players: [p1]}\n"
        "items:\n  - {id: a, type: web, url: 'http://x.org/', duration: 5}\n"
    )
    assert playlist.schedule.is_always
    assert playlist.priority == 0
    assert playlist.zones == frozenset()


def test_bad_yaml_names_file_and_line():
    message = error_of("title: T\ntargets: {zones: [dairy]\nitems: []\n")
    assert message.startswith(f"{SOURCE}:3: invalid YAML")


def test_unknown_key_is_refused_with_its_line():
    text = GOOD.replace("priority: 10\n", "priority: 10\ncolour: red\n")
    assert error_of(text) == f"{SOURCE}:3: colour: unknown key"


def test_unknown_key_inside_an_item():
    text = GOOD.replace("duration: 15}", "duration: 15, loop: true}")
    assert error_of(text) == f"{SOURCE}:12: items[3].loop: unknown key"


def test_missing_items():
    text = GOOD.split("items:")[0]
    assert error_of(text) == f"{SOURCE}:1: items: required field is missing"


def test_empty_items():
    text = GOOD.split("items:")[0] + "items: []\n"
    assert error_of(text) == f"{SOURCE}:8: items: must not be empty"


def test_zero_duration_matches_the_contract_message():
    text = GOOD.replace(
        '  - {id: coffee, type: promo_slide, gtin: "5941768000015", duration: 8}\n',
        '  - id: coffee\n    type: promo_slide\n    gtin: "5941768000015"\n    duration: 0\n',
    )
    assert error_of(text) == f"{SOURCE}:14: items[2].duration: must be > 0"


def test_duration_as_a_string_is_refused():
    text = GOOD.replace("duration: 20}", "duration: '20'}")
    assert error_of(text) == f"{SOURCE}:13: items[4].duration: must be a number, got '20'"


@pytest.mark.parametrize("daypart", ["25:00-26:00", "06:60-07:00", "6-7", "24:00-01:00"])
def test_bad_daypart(daypart):
    text = GOOD.replace('"06:00-11:00"', f'"{daypart}"')
    message = error_of(text)
    assert message.startswith(f"{SOURCE}:6: schedule.dayparts[0]: daypart '{daypart}'")


def test_daypart_may_end_at_24_00():
    assert parse_daypart("18:00-24:00") == Daypart(time(18), time(0))


def test_bad_weekday_and_reversed_dates():
    assert error_of(GOOD.replace("fri]", "fry]")).startswith(
        f"{SOURCE}:5: schedule.weekdays[4]: weekday 'fry'"
    )
    reversed_dates = GOOD.replace("to: 2026-12-31", "to: 2026-10-31")
    assert error_of(reversed_dates) == (
        f"{SOURCE}:7: schedule.dates.to: must not be before from (2026-11-01)"
    )


def test_targets_need_a_zone_or_a_player():
    text = GOOD.replace("targets: {zones: [dairy], players: [screen-07]}", "targets: {}")
    assert error_of(text) == f"{SOURCE}:3: targets.zones: needs at least one zone or player"


def test_missing_media_file_names_item_line_and_field():
    def only_uploaded(item: PlaylistItem) -> bool:
        return item.file != "clip.mp4"

    assert error_of(GOOD, only_uploaded) == (
        f"{SOURCE}:12: items[3].file: file 'clip.mp4' not found in the media folder"
    )


def test_unknown_sha():
    def files_only(item: PlaylistItem) -> bool:
        return item.media_sha256 is None

    assert error_of(GOOD, files_only) == (
        f"{SOURCE}:10: items[1].media: no uploaded media with sha256 {SHA}"
    )


def test_malformed_sha():
    text = GOOD.replace(SHA, "abc")
    assert error_of(text) == (
        f"{SOURCE}:10: items[1].media: must be a sha256: 64 lowercase hex digits"
    )


def test_unknown_type():
    text = GOOD.replace("type: video", "type: hologram")
    assert error_of(text).startswith(f"{SOURCE}:12: items[3].type: unknown type 'hologram'")


def test_promo_slide_without_gtin():
    text = GOOD.replace(', gtin: "5941768000015"', "")
    assert error_of(text) == f"{SOURCE}:11: items[2].gtin: a promo_slide item needs a gtin"


def test_promo_slide_with_a_bad_check_digit():
    text = GOOD.replace("5941768000015", "5941768000016")
    assert error_of(text) == (
        f"{SOURCE}:11: items[2].gtin: GTIN '5941768000016': check digit is 6, expected 5"
    )


def test_image_needs_exactly_one_source_and_rejects_foreign_fields():
    both = GOOD.replace("file: welcome.png,", f"file: welcome.png, media: '{SHA}',")
    assert "items[0].file: a image item needs exactly one of file or media" in error_of(both)
    with_url = GOOD.replace("file: welcome.png,", "file: welcome.png, url: 'http://a.org/',")
    assert error_of(with_url) == f"{SOURCE}:9: items[0].url: not allowed on a image item"


def test_file_must_stay_in_the_media_folder():
    text = GOOD.replace("welcome.png", "../secrets.png")
    assert "items[0].file: '../secrets.png' must be a plain file name" in error_of(text)


def test_duplicate_item_ids_and_duplicate_keys():
    dup_id = GOOD.replace("id: clip", "id: milk")
    assert error_of(dup_id) == f"{SOURCE}:12: items[3].id: duplicate item id 'milk'"
    dup_key = GOOD.replace("priority: 10\n", "priority: 10\npriority: 20\n")
    assert error_of(dup_key) == f"{SOURCE}:3: priority: duplicate key"


def test_every_error_is_reported_in_file_order():
    text = GOOD.replace("duration: 10}", "duration: 0}").replace("type: video", "type: x")
    lines = error_of(text).splitlines()
    assert [line.split(":")[1] for line in lines] == ["9", "12"]


def test_not_a_mapping():
    assert error_of("- a\n- b\n") == (
        f"{SOURCE}:1: a playlist must be a mapping with title, targets, items"
    )
    assert error_of("") == f"{SOURCE}:1: a playlist must be a mapping with title, targets, items"


def write(directory: Path, name: str, text: str) -> None:
    (directory / f"{name}.yaml").write_text(text, encoding="utf-8")


def test_load_playlists_keeps_the_last_good_version_of_a_bad_file(tmp_path):
    folder = tmp_path / "signage_playlists"
    folder.mkdir()
    write(folder, "dairy", GOOD)
    write(folder, "entrance", GOOD.replace("Dairy mornings", "Entrance"))
    first = load_playlists(folder, everything_exists, {})
    assert sorted(first.playlists) == ["dairy", "entrance"]
    assert first.errors == {}

    write(folder, "dairy", GOOD.replace("duration: 10}", "duration: 0}"))
    write(folder, "new", "title: [oops\n")
    second = load_playlists(folder, everything_exists, first.playlists)
    assert second.playlists["dairy"] is first.playlists["dairy"]
    assert second.errors["dairy"] == (
        "signage_playlists/dairy.yaml:9: items[0].duration: must be > 0"
    )
    assert "new" not in second.playlists  # no good version ever existed
    assert second.errors["new"].startswith("signage_playlists/new.yaml:")
    assert second.playlists["entrance"].title == "Entrance"


def test_load_playlists_drops_a_deleted_file(tmp_path):
    write(tmp_path, "dairy", GOOD)
    first = load_playlists(tmp_path, everything_exists, {})
    (tmp_path / "dairy.yaml").unlink()
    assert load_playlists(tmp_path, everything_exists, first.playlists).playlists == {}


def test_bundled_example_playlists_are_valid():
    folder = Path(__file__).resolve().parents[2] / "signage_playlists"
    media = folder / "media"

    def exists(item: PlaylistItem) -> bool:
        return item.file is not None and (media / item.file).is_file()

    result = load_playlists(folder, exists, {})
    assert result.errors == {}
    assert len(result.playlists) >= 2
    zones = set().union(*(p.zones for p in result.playlists.values()))
    assert zones == {"entrance", "dairy", "electronics", "checkout"}
    for path in media.iterdir():
        assert path.stat().st_size < 30_000
    demo = demo_catalogue("store-1", now=datetime(2026, 5, 1, tzinfo=UTC))
    known = {product.gtin for product in demo.products}
    slides = {i.gtin for p in result.playlists.values() for i in p.items if i.gtin}
    assert slides and slides <= known
