# ruff: noqa: F811 -- pytest fixtures imported from signage_support are requested by name
"""The signage dashboard pages through the Flask client: forms, validation messages, and
that staff only (never a sensor account) see them."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.models import AuditEntry, Campaign, Override, Player, Zone
from tests.support.head_office_stores import NORTH, add_chain_stores
from tests.web.conftest import MANAGER, log_in
from tests.web.signage_support import (  # noqa: F401 (fixtures)
    BAD_PLAYLIST,
    GOOD_PLAYLIST,
    SENSOR,
    Signage,
    post_form,
    settings,
    signage,
)


def test_every_signage_page_renders(manager_client: FlaskClient, signage: Signage):
    for path, marker in (
        ("/signage/players", "screen-01"),
        ("/signage/playlists", "Upload media"),
        ("/signage/playlists/new-one", "New playlist"),
        ("/signage/campaigns", "New advertiser"),
        ("/signage/triggers", "Trigger log"),
        ("/signage/override", "Push to the zone"),
    ):
        response = manager_client.get(path)
        assert response.status_code == 200, path
        assert marker in response.get_data(as_text=True), path


def test_a_sensor_account_cannot_use_the_dashboard(client: FlaskClient, signage: Signage):
    log_in(client, *SENSOR)
    assert client.get("/signage/players").status_code == 403
    assert client.get("/").status_code == 403


def test_register_and_archive_a_player(
    manager_client: FlaskClient, signage: Signage, engine: Engine
):
    response = post_form(
        manager_client, "/signage/players", {"id": "screen-77", "name": "Till", "zone": "tills"}
    )
    assert response.status_code == 302
    page = manager_client.get("/signage/players").get_data(as_text=True)
    assert "Player screen-77 registered in zone tills" in page
    assert 'id="zone-tills"' in page
    bad = post_form(manager_client, "/signage/players", {"id": "a b", "zone": "tills"})
    assert "Player not registered: id:" in manager_client.get(bad.headers["Location"]).get_data(
        as_text=True
    )
    post_form(manager_client, "/signage/players/screen-77/archive", {})
    with Session(engine) as session:
        assert session.get(Player, "screen-77").archived is True


def test_a_manager_gives_a_zone_the_kind_chain_campaigns_aim_at(
    manager_client: FlaskClient, signage: Signage, engine: Engine
):
    page = manager_client.get("/signage/players").get_data(as_text=True)
    assert 'id="zone-row-dairy"' in page and 'id="zone-row-entrance"' in page

    saved = post_form(manager_client, "/signage/zones/entrance/kind", {"kind": "entrance-hall"})
    assert saved.status_code == 302
    assert "Zone entrance is of kind entrance-hall." in manager_client.get(
        saved.headers["Location"]
    ).get_data(as_text=True)
    refused = post_form(manager_client, "/signage/zones/dairy/kind", {"kind": "Dairy Aisle"})
    assert "Zone dairy keeps its kind" in manager_client.get(refused.headers["Location"]).get_data(
        as_text=True
    )
    with Session(engine) as session:
        kinds = dict(session.execute(select(Zone.id, Zone.kind)).all())
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "zone.kind"))
    assert kinds == {"dairy": "dairy", "entrance": "entrance-hall"}
    assert (entry.actor, entry.target) == (MANAGER[0], "zone:entrance")


def test_a_store_manager_cannot_set_another_stores_zone_kind(
    manager_client: FlaskClient, signage: Signage, engine: Engine
):
    add_chain_stores(engine)
    zone_id = f"{NORTH.id}-entrance"
    response = post_form(manager_client, f"/signage/zones/{zone_id}/kind", {"kind": "dairy"})
    assert response.status_code == 404
    with Session(engine) as session:
        assert session.get(Zone, zone_id).kind != "dairy"


def test_playlist_editor_refuses_a_bad_edit_and_keeps_the_file(
    manager_client: FlaskClient, signage: Signage, settings: Settings
):
    path = "/signage/playlists/dairy"
    saved = post_form(manager_client, path, {"text": GOOD_PLAYLIST}, page=path)
    assert saved.status_code == 302
    refused = post_form(manager_client, path, {"text": BAD_PLAYLIST}, page=path)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "signage_playlists/dairy.yaml:8:" in html
    assert "duration: 0" in html  # the refused text stays in the editor to fix
    assert (settings.playlists_dir / "dairy.yaml").read_text() == GOOD_PLAYLIST
    listing = manager_client.get("/signage/playlists").get_data(as_text=True)
    assert "signage_playlists/dairy.yaml:8:" in listing


def test_create_a_campaign_from_the_form_in_store_local_time(
    manager_client: FlaskClient, signage: Signage, engine: Engine
):
    post_form(
        manager_client, "/signage/advertisers", {"name": "Lavazza"}, page="/signage/campaigns"
    )
    with Session(engine) as session:
        from esl_controller.models import Advertiser

        advertiser_id = session.scalars(select(Advertiser.id)).one()
    form = {
        "advertiser_id": str(advertiser_id),
        "name": "Coffee week",
        "starts_at": "2026-07-01T08:00",  # Bucharest summer time, UTC+3
        "ends_at": "2026-07-08T22:00",
        "cpm": "3.20",
        "currency": "ron",
        "priority": "70",
        "share_of_voice": "0.4",
        "zones": "dairy",
        "dayparts": "07:00-10:00, 17:00-20:00",
        "weekdays": ["0", "4"],
        "triggers": ["audience", "loyalty"],
        "min_count": "3",
        "age_25-34": "0.3",
        "gender_female": "0.5",
        "loyalty_segments": "coffee-lovers, bakers",
    }
    response = post_form(manager_client, "/signage/campaigns", form, page="/signage/campaigns")
    assert response.status_code == 302
    with Session(engine) as session:
        campaign = session.scalars(select(Campaign)).one()
    assert campaign.starts_at.hour == 5 and campaign.currency == "RON"
    assert (campaign.cpm_minor, campaign.priority, campaign.share_of_voice) == (320, 70, 0.4)
    page = manager_client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="2026-07-01T08:00"' in page  # shown back in store-local time
    assert "coffee-lovers, bakers" in page
    bad = dict(form, dayparts="25:00-26:00")
    refused = post_form(manager_client, "/signage/campaigns", bad, page="/signage/campaigns")
    assert refused.status_code == 422
    message = refused.get_data(as_text=True)
    assert 'id="error-dayparts"' in message and "such as 07:00-10:00" in message
    assert 'value="25:00-26:00"' in message  # kept as typed, to be fixed


def test_manual_override_form(manager_client: FlaskClient, signage: Signage, engine: Engine):
    page = "/signage/override"
    post_form(manager_client, page, {"zone": "dairy", "text": "Till 3 open", "seconds": "45"}, page)
    with Session(engine) as session:
        override = session.scalars(select(Override)).one()
    assert (override.kind, override.created_by, override.zone_id) == ("manual", "bob", "dairy")
    bad = post_form(manager_client, page, {"zone": "dairy", "seconds": "45"}, page)
    html = manager_client.get(bad.headers["Location"]).get_data(as_text=True)
    assert "Override not sent: content: give exactly one" in html
