# ruff: noqa: F811 -- pytest fixtures imported from signage_support are requested by name
"""The signage JSON API: players, playlists, media, campaigns, overrides and triggers,
including validation errors, privacy refusals and the sensor role's single permission."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.models import MediaAsset, Override, PlaylistFile, TriggerEvent, Zone
from tests.web.conftest import bearer
from tests.web.signage_support import (  # noqa: F401 (fixtures)
    BAD_PLAYLIST,
    GOOD_PLAYLIST,
    PNG,
    Signage,
    png_upload,
    settings,
    signage,
)


def manager(signage: Signage) -> dict[str, str]:
    return bearer(signage.seed.manager_token)


def upload(client: FlaskClient, signage: Signage, data: bytes = PNG, kind: str = "image/png"):
    return client.post(
        "/api/v1/media",
        data={"file": (__import__("io").BytesIO(data), "welcome.png", kind)},
        headers=manager(signage),
        content_type="multipart/form-data",
    )


# --- players -----------------------------------------------------------------------------


def test_players_list_by_zone_with_state_and_proof_of_play(client: FlaskClient, signage: Signage):
    body = client.get("/api/v1/players", headers=manager(signage)).get_json()
    by_id = {row["id"]: row for row in body["items"]}
    assert list(by_id) == ["screen-01", "screen-02"]
    assert by_id["screen-01"]["online"] is True
    assert by_id["screen-01"]["now_playing"] == "news"
    assert by_id["screen-01"]["last_pop_at"].endswith("+00:00")
    assert by_id["screen-02"]["online"] is False
    assert by_id["screen-02"]["active_override"] is None


def test_register_a_player_creates_its_zone(client: FlaskClient, signage: Signage, engine: Engine):
    response = client.post(
        "/api/v1/players",
        json={"id": "screen-09", "name": "Till 3", "zone": "checkout"},
        headers=manager(signage),
    )
    assert response.status_code == 201
    assert response.get_json()["zone_id"] == "checkout"
    with Session(engine) as session:
        assert session.get(Zone, "checkout") is not None
    again = client.post(
        "/api/v1/players", json={"id": "screen-09", "zone": "checkout"}, headers=manager(signage)
    )
    assert again.status_code == 409


def test_player_ids_must_be_safe_topic_levels(client: FlaskClient, signage: Signage):
    response = client.post(
        "/api/v1/players", json={"id": "screen/#", "zone": "dairy"}, headers=manager(signage)
    )
    assert response.status_code == 400
    assert "id" in response.get_json()["errors"]


def test_archive_keeps_the_player(client: FlaskClient, signage: Signage):
    response = client.post("/api/v1/players/screen-02/archive", headers=manager(signage))
    assert response.status_code == 200
    assert response.get_json()["archived"] is True
    listed = client.get("/api/v1/players", headers=manager(signage)).get_json()["items"]
    assert [row["id"] for row in listed] == ["screen-01"]
    everyone = client.get("/api/v1/players?archived=1", headers=manager(signage)).get_json()
    assert len(everyone["items"]) == 2
    assert client.post("/api/v1/players/nope/archive", headers=manager(signage)).status_code == 404


# --- playlists ---------------------------------------------------------------------------


def test_put_a_valid_playlist_writes_the_file_and_records_it(
    client: FlaskClient, signage: Signage, settings: Settings, engine: Engine
):
    response = client.put(
        "/api/v1/playlists/dairy", json={"text": GOOD_PLAYLIST}, headers=manager(signage)
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "ok"
    assert (settings.playlists_dir / "dairy.yaml").read_text() == GOOD_PLAYLIST
    with Session(engine) as session:
        row = session.get(PlaylistFile, "dairy")
        assert row.digest == hashlib.sha256(GOOD_PLAYLIST.encode()).hexdigest()
    listed = client.get("/api/v1/playlists", headers=manager(signage)).get_json()["items"]
    assert [(row["name"], row["status"]) for row in listed] == [("dairy", "ok")]


def test_an_invalid_playlist_is_refused_naming_file_line_and_field(
    client: FlaskClient, signage: Signage, settings: Settings
):
    client.put("/api/v1/playlists/dairy", json={"text": GOOD_PLAYLIST}, headers=manager(signage))
    response = client.put(
        "/api/v1/playlists/dairy", json={"text": BAD_PLAYLIST}, headers=manager(signage)
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error.startswith("signage_playlists/dairy.yaml:8:")
    assert "duration" in error
    assert (settings.playlists_dir / "dairy.yaml").read_text() == GOOD_PLAYLIST
    detail = client.get("/api/v1/playlists/dairy", headers=manager(signage)).get_json()
    assert detail["status"] == "error"
    assert detail["text"] == GOOD_PLAYLIST
    assert "duration" in detail["error"]


def test_a_playlist_naming_missing_media_is_refused(client: FlaskClient, signage: Signage):
    text = GOOD_PLAYLIST.replace(
        'type: web, url: "https://example.org/board"', f'type: image, media: "{"a" * 64}"'
    )
    response = client.put("/api/v1/playlists/dairy", json={"text": text}, headers=manager(signage))
    assert response.status_code == 422
    assert "media" in response.get_json()["error"]


def test_a_playlist_with_an_item_of_an_unknown_type_is_refused(
    client: FlaskClient, signage: Signage, settings: Settings
):
    text = GOOD_PLAYLIST.replace('type: web, url: "https://example.org/board"', "type: hologram")
    assert text != GOOD_PLAYLIST
    response = client.put("/api/v1/playlists/dairy", json={"text": text}, headers=manager(signage))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error.startswith("signage_playlists/dairy.yaml:")
    assert "type: unknown type 'hologram'; one of image, video" in error
    assert not (settings.playlists_dir / "dairy.yaml").exists()


def test_playlist_names_and_unknown_playlists(client: FlaskClient, signage: Signage):
    bad_name = client.put(
        "/api/v1/playlists/..secret", json={"text": GOOD_PLAYLIST}, headers=manager(signage)
    )
    assert bad_name.status_code == 422
    assert client.get("/api/v1/playlists/absent", headers=manager(signage)).status_code == 404


# --- media -------------------------------------------------------------------------------


def test_upload_then_serve_media_with_etag_and_304(client: FlaskClient, signage: Signage):
    response = upload(client, signage)
    assert response.status_code == 201
    body = response.get_json()
    sha = hashlib.sha256(PNG).hexdigest()
    assert body["sha256"] == sha
    assert body["url"].endswith(f"/media/{sha}")
    served = client.get(f"/media/{sha}")  # no login: players are not users
    assert served.status_code == 200
    assert served.data == PNG
    assert served.mimetype == "image/png"
    assert served.headers["ETag"] == f'"{sha}"'
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    again = client.get(f"/media/{sha}", headers={"If-None-Match": f'"{sha}"'})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == f'"{sha}"'


def test_unknown_or_malformed_media_is_404(client: FlaskClient, signage: Signage):
    assert client.get(f"/media/{'b' * 64}").status_code == 404
    assert client.get("/media/not-a-hash").status_code == 404
    assert client.get("/media/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_upload_refuses_other_types_and_missing_file(client: FlaskClient, signage: Signage):
    refused = upload(client, signage, b"<html>", "text/html")
    assert refused.status_code == 400
    assert "not allowed" in refused.get_json()["error"]
    missing = client.post("/api/v1/media", data={}, headers=manager(signage))
    assert missing.status_code == 400


# --- campaigns -----------------------------------------------------------------------------


def campaign_body(advertiser_id: int, **changes: Any) -> dict[str, Any]:
    body = {
        "advertiser_id": advertiser_id,
        "name": "Coffee week",
        "starts_at": "2026-11-01T08:00:00+02:00",
        "ends_at": "2026-11-08T22:00:00+02:00",
        "cpm": "4.50",
        "currency": "RON",
        "priority": 60,
        "targeting": {
            "zones": ["dairy"],
            "dayparts": ["07:00-10:00"],
            "weekdays": [0, 1, 2],
            "triggers": ["audience"],
            "audience": {"min_count": 3, "age_bands": {"25-34": 0.3}},
            "loyalty_segments": ["coffee-lovers"],
        },
        "frequency_cap_per_hour": 4,
        "share_of_voice": 0.5,
    }
    return {**body, **changes}


def make_advertiser(client: FlaskClient, signage: Signage) -> int:
    response = client.post(
        "/api/v1/advertisers", json={"name": "Lavazza"}, headers=manager(signage)
    )
    assert response.status_code == 201
    return response.get_json()["id"]


def test_campaign_lifecycle_with_creatives(client: FlaskClient, signage: Signage):
    advertiser = make_advertiser(client, signage)
    created = client.post(
        "/api/v1/campaigns", json=campaign_body(advertiser), headers=manager(signage)
    )
    assert created.status_code == 201, created.get_json()
    campaign = created.get_json()
    assert (campaign["cpm_minor"], campaign["cpm"]) == (450, "4.50")
    assert campaign["starts_at"] == "2026-11-01T06:00:00+00:00"
    assert campaign["targeting"]["audience"]["min_count"] == 3
    cid = campaign["id"]

    sha = upload(client, signage).get_json()["sha256"]
    for body in (
        {"name": "Still", "kind": "image", "media_sha256": sha, "duration_s": 8},
        {"name": "Board", "kind": "web", "url": "https://example.org/coffee"},
        {"name": "Slide", "kind": "promo_slide", "gtin": "5901234123457"},
    ):
        response = client.post(
            f"/api/v1/campaigns/{cid}/creatives", json=body, headers=manager(signage)
        )
        assert response.status_code == 201, response.get_json()
    detail = client.get(f"/api/v1/campaigns/{cid}", headers=manager(signage)).get_json()
    assert [c["kind"] for c in detail["creatives"]] == ["image", "web", "promo_slide"]

    edited = client.put(
        f"/api/v1/campaigns/{cid}", json=campaign_body(advertiser, priority=90),
        headers=manager(signage),
    )  # fmt: skip
    assert edited.get_json()["priority"] == 90
    paused = client.post(
        f"/api/v1/campaigns/{cid}/status", json={"status": "paused"}, headers=manager(signage)
    )
    assert paused.get_json()["status"] == "paused"
    client.post(
        f"/api/v1/campaigns/{cid}/status", json={"status": "archived"}, headers=manager(signage)
    )
    revived = client.post(
        f"/api/v1/campaigns/{cid}/status", json={"status": "active"}, headers=manager(signage)
    )
    assert revived.status_code == 422
    listed = client.get("/api/v1/campaigns", headers=manager(signage)).get_json()["items"]
    assert [(c["id"], c["status"]) for c in listed] == [(cid, "archived")]  # never deleted


def test_campaign_validation_errors_name_the_field(client: FlaskClient, signage: Signage):
    advertiser = make_advertiser(client, signage)
    cases = {
        "ends_at": campaign_body(advertiser, ends_at="2026-10-01T00:00:00+00:00"),
        "cpm": campaign_body(advertiser, cpm="4.505"),
        "targeting": campaign_body(advertiser, targeting={"dayparts": ["25:00-26:00"]}),
        "starts_at": campaign_body(advertiser, starts_at="2026-11-01T08:00:00"),  # no offset
        "share_of_voice": campaign_body(advertiser, share_of_voice=1.5),
    }
    for field, body in cases.items():
        response = client.post("/api/v1/campaigns", json=body, headers=manager(signage))
        assert response.status_code == 400, field
        assert field in response.get_json()["errors"], (field, response.get_json())
    unknown = client.post(
        "/api/v1/campaigns", json=campaign_body(advertiser + 99), headers=manager(signage)
    )
    assert unknown.status_code == 422
    assert "advertiser_id" in unknown.get_json()["errors"]


def test_creative_validation(client: FlaskClient, signage: Signage):
    advertiser = make_advertiser(client, signage)
    cid = client.post(
        "/api/v1/campaigns", json=campaign_body(advertiser), headers=manager(signage)
    ).get_json()["id"]
    bad_gtin = client.post(
        f"/api/v1/campaigns/{cid}/creatives",
        json={"name": "x", "kind": "promo_slide", "gtin": "5901234123458"},
        headers=manager(signage),
    )
    assert bad_gtin.status_code == 400
    assert "check digit" in json.dumps(bad_gtin.get_json()["errors"])
    unknown_media = client.post(
        f"/api/v1/campaigns/{cid}/creatives",
        json={"name": "x", "kind": "video", "media_sha256": "c" * 64},
        headers=manager(signage),
    )
    assert unknown_media.status_code == 422
    sha = upload(client, signage).get_json()["sha256"]
    wrong_kind = client.post(
        f"/api/v1/campaigns/{cid}/creatives",
        json={"name": "x", "kind": "video", "media_sha256": sha},
        headers=manager(signage),
    )
    assert wrong_kind.status_code == 422
    assert "is image/png; a video needs video/*" in wrong_kind.get_json()["error"]


# --- overrides ---------------------------------------------------------------------------


def test_manual_override_with_an_announcement(
    client: FlaskClient, signage: Signage, engine: Engine
):
    response = client.post(
        "/api/v1/overrides",
        json={"zone": "dairy", "text": "Fresh bread at 17:00", "seconds": 60, "priority": 90},
        headers=manager(signage),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["kind"], body["priority"], body["created_by"]) == ("manual", 90, "bob")
    assert body["content"]["type"] == "image"
    with Session(engine) as session:
        override = session.get(Override, body["id"])
        assert (override.expires_at - override.created_at).total_seconds() == 60
        assert session.get(MediaAsset, body["content"]["media"]) is not None
    players = client.get("/api/v1/players", headers=manager(signage)).get_json()["items"]
    assert all(p["active_override"]["id"] == body["id"] for p in players)


def test_manual_override_with_a_promo_slide(client: FlaskClient, signage: Signage):
    response = client.post(
        "/api/v1/overrides",
        json={"zone": "dairy", "gtin": "5901234123457", "seconds": 30},
        headers=manager(signage),
    )
    assert response.status_code == 201, response.get_json()
    content = response.get_json()["content"]
    assert (content["type"], content["gtin"]) == ("image", "5901234123457")
    assert client.get(f"/media/{content['media']}").mimetype == "image/png"


def test_manual_override_validation(client: FlaskClient, signage: Signage):
    cases = [
        ({"zone": "dairy", "text": "hi", "seconds": 4}, 400, "seconds"),
        ({"zone": "dairy", "text": "hi", "gtin": "5901234123457", "seconds": 60}, 400, "content"),
        ({"zone": "dairy", "seconds": 60}, 400, "content"),
        ({"zone": "nowhere", "text": "hi", "seconds": 60}, 422, "zone"),
        ({"zone": "dairy", "gtin": "4006381333931", "seconds": 3601}, 400, "seconds"),
        ({"zone": "dairy", "gtin": "0012345678905", "seconds": 60}, 422, "gtin"),
    ]
    for body, status, field in cases:
        response = client.post("/api/v1/overrides", json=body, headers=manager(signage))
        assert response.status_code == status, (body, response.get_json())
        assert field in response.get_json()["errors"], (body, response.get_json())


# --- triggers ----------------------------------------------------------------------------


def audience_trigger(**changes: Any) -> dict[str, Any]:
    body = {
        "type": "audience",
        "sensor": "cam-entrance",
        "zone": "dairy",
        "at": datetime.now(UTC).isoformat(),
        "count": 4,
        "age_bands": {"25-34": 0.5},
        "gender": {"female": 0.5},
        "dwell_s": 6.5,
    }
    return {**body, **changes}


def test_a_sensor_posts_a_trigger_for_the_worker(
    client: FlaskClient, signage: Signage, engine: Engine
):
    response = client.post(
        "/api/v1/triggers", json=audience_trigger(), headers=bearer(signage.sensor_token)
    )
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["outcome"] == "pending"
    with Session(engine) as session:
        event = session.get(TriggerEvent, response.get_json()["id"])
        assert (event.kind, event.zone_id, event.outcome) == ("audience", "dairy", "pending")
        stored = json.loads(event.payload)
        assert (stored["type"], stored["count"], stored["dwell_s"]) == ("audience", 4, 6.5)


def test_privacy_refusals_over_http_store_nothing_of_the_payload(
    client: FlaskClient, signage: Signage, engine: Engine
):
    cases = {
        "face_image": audience_trigger(face_image="iVBORw0KGgo" + "A" * 300),
        "mac": audience_trigger(sensor="aa:bb:cc:dd:ee:ff"),
        "phone": audience_trigger(zone="+40 721 234 567"),
        "email": audience_trigger(**{"jane.doe@example.com": 1}),
        "unknown": audience_trigger(shirt_colour="red"),
        "consent": {
            "type": "loyalty", "sensor": "app", "zone": "dairy",
            "at": datetime.now(UTC).isoformat(), "member": "ab" * 8, "segment": "coffee",
        },
    }  # fmt: skip
    ids = []
    for name, body in cases.items():
        response = client.post("/api/v1/triggers", json=body, headers=bearer(signage.sensor_token))
        assert response.status_code == 422, name
        refusal = response.get_json()
        assert refusal["privacy"] is True, (name, refusal)
        ids.append(refusal["trigger_id"])
    with Session(engine) as session:
        events = session.scalars(select(TriggerEvent).where(TriggerEvent.id.in_(ids))).all()
    assert len(events) == len(cases)
    for event in events:
        assert (event.outcome, event.payload, event.zone_id) == ("rejected", "{}", None)
        assert event.sensor_id == "cam-entrance"  # the account, not the payload's claim
        for secret in ("aa:bb:cc", "721 234", "jane.doe", "iVBOR", "red"):
            assert secret not in (event.reason or "")
        assert event.reason.startswith("privacy: ")


def test_other_refusals_say_why(client: FlaskClient, signage: Signage):
    old = (utcnow() - timedelta(hours=1)).isoformat()
    cases = [
        (b"{not json", "malformed JSON"),
        (json.dumps(audience_trigger(zone="garden")).encode(), "unknown zone"),
        (json.dumps(audience_trigger(at=old)).encode(), "too old"),
    ]
    for payload, reason in cases:
        response = client.post(
            "/api/v1/triggers", data=payload, content_type="application/json",
            headers=bearer(signage.sensor_token),
        )  # fmt: skip
        assert response.status_code == 422
        assert reason in response.get_json()["error"]
        assert response.get_json()["privacy"] is False


def test_the_sensor_role_may_only_post_triggers(client: FlaskClient, signage: Signage):
    sensor = bearer(signage.sensor_token)
    for path in ("/api/v1/players", "/api/v1/triggers", "/api/v1/labels", "/api/v1/campaigns"):
        assert client.get(path, headers=sensor).status_code == 403, path
    assert (
        client.post(
            "/api/v1/overrides", json={"zone": "dairy", "text": "x", "seconds": 60}, headers=sensor
        ).status_code
        == 403
    )
    managers = client.post("/api/v1/triggers", json=audience_trigger(), headers=manager(signage))
    assert managers.status_code == 403


def test_trigger_log_filters_and_counts(client: FlaskClient, signage: Signage):
    sensor = bearer(signage.sensor_token)
    client.post("/api/v1/triggers", json=audience_trigger(), headers=sensor)
    client.post("/api/v1/triggers", json=audience_trigger(zone="garden"), headers=sensor)
    client.post("/api/v1/triggers", json=audience_trigger(mac="aa:bb:cc:dd:ee:ff"), headers=sensor)
    body = client.get("/api/v1/triggers", headers=manager(signage)).get_json()
    assert body["total"] == 3
    assert body["counts"]["last_hour"] == {"pending": 1, "rejected": 2}
    assert body["counts"]["last_24h"] == {"pending": 1, "rejected": 2}
    rejected = client.get("/api/v1/triggers?outcome=rejected", headers=manager(signage))
    assert {row["outcome"] for row in rejected.get_json()["items"]} == {"rejected"}
    assert client.get("/api/v1/triggers?outcome=bogus", headers=manager(signage)).status_code == 400


def test_openapi_documents_the_signage_api(client: FlaskClient, signage: Signage):
    document = client.get("/api/v1/openapi.json", headers=manager(signage)).get_json()
    paths = document["paths"]
    assert set(paths["/api/v1/triggers"]) == {"get", "post"}
    assert set(paths["/api/v1/playlists/{name}"]) == {"get", "put"}
    assert "multipart/form-data" in paths["/api/v1/media"]["post"]["requestBody"]["content"]
    schemas = document["components"]["schemas"]
    assert "cpm" in schemas["CampaignInput"]["properties"]


def test_api_saves_of_playlists_and_campaigns_are_audited(
    client: FlaskClient, signage: Signage, engine: Engine
):
    from esl_controller import audit

    client.put("/api/v1/playlists/dairy", json={"text": GOOD_PLAYLIST}, headers=manager(signage))
    longer = GOOD_PLAYLIST.replace("duration: 20", "duration: 30")
    client.put("/api/v1/playlists/dairy", json={"text": longer}, headers=manager(signage))
    refused = client.put(
        "/api/v1/playlists/dairy", json={"text": BAD_PLAYLIST}, headers=manager(signage)
    )
    assert refused.status_code == 422
    body = campaign_body(make_advertiser(client, signage))
    cid = client.post("/api/v1/campaigns", json=body, headers=manager(signage)).get_json()["id"]
    edited = client.put(
        f"/api/v1/campaigns/{cid}", json={**body, "priority": 90}, headers=manager(signage)
    )
    assert edited.status_code == 200
    with Session(engine) as session:
        playlists = audit.recent(session, action_prefix="playlist.")
        campaigns = audit.recent(session, action_prefix="campaign.")
    assert [audit.detail_of(entry) for entry in playlists] == [
        {"edited": ["news"]},
        {"created": True, "items": ["news"]},
    ]  # the refused save left no entry
    assert {entry.actor for entry in playlists + campaigns} == {"bob"}
    assert audit.detail_of(campaigns[0])["changed"] == ["priority"]
    assert audit.detail_of(campaigns[1])["created"] is True
