"""Head office and stores on one database: the current store of a request, the refusals
around it, the store switcher, the chain overview and users who belong to one store.

Three stores: the seeded one (store-1, the configured ESL_STORE_ID) and north and south
(tests/support/head_office_stores.py). alice and bob are head office; nora and nick belong to
north, sam to south.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller import audit
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.incidents import record_incident
from esl_controller.models import BaseStation, OutboxMessage, Player, Store, SyncRun, User
from esl_controller.web import create_app
from esl_controller.web.chain_queries import chain_health
from tests.support.head_office_stores import CHAIN, NORTH, SOUTH, add_chain_stores, add_store_user
from tests.support.outbox_rows import outbox_row
from tests.web.conftest import (
    ADMIN,
    NORTH_ADMIN,
    NORTH_MANAGER,
    Chain,
    Seed,
    bearer,
    csrf_token_from,
    log_in,
)

HOME_LABEL = "L-ACKED"  # a label of the seeded store
HOME_GTIN = "5901234123457"  # a product of the seeded store


def _label_ids(page_html: str) -> set[str]:
    return set(re.findall(r'href="/labels/([^"?]+)"', page_html))


@pytest.fixture
def nora_client(client: FlaskClient, chain: Chain) -> FlaskClient:
    assert log_in(client, *NORTH_MANAGER).status_code == 302
    return client


@pytest.fixture
def alice_client(client: FlaskClient, chain: Chain) -> FlaskClient:
    assert log_in(client, *ADMIN).status_code == 302
    return client


# --- one store looks as it always did --------------------------------------------------------


def test_a_single_store_shows_no_switcher_and_no_chain_link(admin_client: FlaskClient):
    html = admin_client.get("/").get_data(as_text=True)
    assert 'id="store-switcher"' not in html
    assert 'href="/chain"' not in html
    assert HOME_LABEL in admin_client.get("/labels").get_data(as_text=True)


# --- head office -----------------------------------------------------------------------------


def test_head_office_starts_in_the_configured_store_and_switches(alice_client: FlaskClient):
    html = alice_client.get("/labels").get_data(as_text=True)
    assert 'id="store-switcher"' in html and 'href="/chain"' in html
    assert HOME_LABEL in _label_ids(html)
    assert not any(label.startswith("north-") for label in _label_ids(html))

    switched = alice_client.get("/labels?store=north").get_data(as_text=True)
    assert _label_ids(switched) == {NORTH.label_id(i) for i in range(3)}
    # The session keeps the choice: the next page without ?store= is still north's.
    kept = alice_client.get("/labels").get_data(as_text=True)
    assert _label_ids(kept) == {NORTH.label_id(i) for i in range(3)}
    assert '<option value="north" selected>' in kept
    assert alice_client.get(f"/labels/{NORTH.label_id(0)}").status_code == 200
    # Another store's label is not on north's pages.
    assert alice_client.get(f"/labels/{HOME_LABEL}").status_code == 404


def test_head_office_api_takes_the_store_per_call(client: FlaskClient, seed: Seed, chain: Chain):
    token = bearer(seed.admin_token)
    south = client.get("/api/v1/summary?store=south", headers=token).get_json()
    assert south["labels"]["total"] == len(SOUTH.label_states)
    assert south["base_stations"] == {"online": 1, "offline": 0}
    home = client.get("/api/v1/summary", headers=token).get_json()
    assert home["labels"]["total"] == 5  # the seeded store's five labels
    stations = client.get("/api/v1/base-stations?store=north", headers=token).get_json()
    assert [row["id"] for row in stations["items"]] == [NORTH.station_id]
    players = client.get("/api/v1/players?store=south", headers=token).get_json()
    assert sorted(row["id"] for row in players["items"]) == [
        SOUTH.player_id(0),
        SOUTH.player_id(1),
    ]


def test_an_unknown_store_is_a_404_that_names_it(client: FlaskClient, seed: Seed, chain: Chain):
    response = client.get("/api/v1/labels?store=nowhere", headers=bearer(seed.admin_token))
    assert response.status_code == 404
    assert response.get_json() == {"error": "There is no store 'nowhere'."}


# --- a store's own people --------------------------------------------------------------------


def test_a_store_manager_sees_only_their_store(nora_client: FlaskClient):
    html = nora_client.get("/labels").get_data(as_text=True)
    assert _label_ids(html) == {NORTH.label_id(i) for i in range(3)}
    assert 'id="store-switcher"' not in html and 'href="/chain"' not in html
    stations = nora_client.get("/base-stations").get_data(as_text=True)
    assert NORTH.station_id in stations and "bs-1" not in stations
    assert nora_client.get(f"/products/{NORTH.gtin}").status_code == 200
    assert nora_client.get(f"/products/{HOME_GTIN}").status_code == 404


def test_another_stores_ids_answer_as_unknown_ones(
    client: FlaskClient, engine: Engine, chain: Chain
):
    token = bearer(chain.north_manager_token)
    other = client.get(f"/api/v1/labels/{HOME_LABEL}", headers=token)
    unknown = client.get("/api/v1/labels/NO-SUCH-LABEL", headers=token)
    assert (other.status_code, unknown.status_code) == (404, 404)
    assert other.get_json()["error"] == "unknown label 'L-ACKED'"
    assert unknown.get_json()["error"] == "unknown label 'NO-SUCH-LABEL'"
    assert client.get(f"/api/v1/products/{HOME_GTIN}", headers=token).status_code == 404
    assert client.get(f"/api/v1/labels/{NORTH.label_id(0)}", headers=token).status_code == 200

    with Session(engine) as session:
        queued = session.scalar(select(func.count()).select_from(OutboxMessage))
    repush = client.post(f"/api/v1/labels/{HOME_LABEL}/repush", headers=token)
    flash = client.post(
        f"/api/v1/labels/{HOME_LABEL}/flash",
        headers=token,
        json={"colour": "red", "pattern": "blink", "seconds": 5},
    )
    archive = client.post(f"/api/v1/players/{SOUTH.player_id(0)}/archive", headers=token)
    assert (repush.status_code, flash.status_code, archive.status_code) == (404, 404, 404)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == queued
        assert session.get_one(Player, SOUTH.player_id(0)).archived is False


def test_a_store_manager_asking_for_another_store_is_refused(
    client: FlaskClient, nora_client: FlaskClient, chain: Chain
):
    api = client.get("/api/v1/labels?store=south", headers=bearer(chain.north_manager_token))
    assert api.status_code == 403
    assert api.get_json() == {"error": "This account works in store north only."}
    page = nora_client.get("/labels?store=south")
    assert page.status_code == 403
    assert "This account works in store north only." in page.get_data(as_text=True)
    # A browser that names no language gets the page in the store's locale, drawn in their
    # own store: the refusal itself never asks for the refused store again.
    nora_client.environ_base.pop("HTTP_ACCEPT_LANGUAGE")
    assert nora_client.get("/labels?store=south").status_code == 403
    assert nora_client.get("/labels?store=nowhere").status_code == 403
    # Their own store by name is fine.
    assert nora_client.get("/labels?store=north").status_code == 200
    assert nora_client.get("/chain").status_code == 403
    assert client.get("/api/v1/chain", headers=bearer(chain.north_manager_token)).status_code == 403


# --- the chain overview ----------------------------------------------------------------------


def _home_clock(engine: Engine, settings: Settings) -> None:
    """The seeded store on Bucharest time, with a sync run that finished at 10:00 UTC."""
    with session_scope(engine) as session:
        session.get_one(Store, settings.store_id).timezone = "Europe/Bucharest"
        session.add(
            SyncRun(
                store_id=settings.store_id,
                feed="json",
                status="succeeded",
                finished_at=datetime(2026, 1, 15, 10, 0, tzinfo=UTC),
                requested_at=datetime(2026, 1, 15, 9, 59, tzinfo=UTC),
            )
        )


def test_the_chain_page_has_a_row_per_store_and_their_totals(
    alice_client: FlaskClient, engine: Engine, settings: Settings
):
    _home_clock(engine, settings)
    html = alice_client.get("/chain").get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-store="([^"]+)">(.*?)</tr>', html, re.S))
    assert set(rows) == {settings.store_id, NORTH.id, SOUTH.id}
    assert 'href="/?store=north"' in rows[NORTH.id]

    def field(row_html: str, name: str) -> int:
        return int(re.search(rf'data-field="{re.escape(name)}">(\d+)<', row_html).group(1))

    totals = re.search(r'<tr id="chain-totals">(.*?)</tr>', html, re.S).group(1)
    for name in ("labels.acked", "labels.failed", "labels.pending", "screens.online"):
        assert field(totals, name) == sum(field(row, name) for row in rows.values())
    assert field(rows[NORTH.id], "labels.acked") == 2
    assert field(rows[SOUTH.id], "screens.offline") == 2
    assert field(totals, "screens.offline") == 3
    # The seeded store's sync, on its own clock with the zone named.
    assert "15 Jan 2026, 12:00:00 Europe/Bucharest" in rows[settings.store_id]
    assert "never" in rows[NORTH.id]


def test_the_chain_link_switches_into_the_store(alice_client: FlaskClient):
    assert alice_client.get("/?store=south").status_code == 200
    labels = alice_client.get("/labels").get_data(as_text=True)
    assert _label_ids(labels) == {SOUTH.label_id(0), SOUTH.label_id(1)}


def test_the_chain_api_totals_are_the_sums_of_the_stores(
    client: FlaskClient, seed: Seed, chain: Chain
):
    body = client.get("/api/v1/chain", headers=bearer(seed.admin_token)).get_json()
    assert [row["store_id"] for row in body["stores"]] == ["north", "south", "store-1"]
    for state in ("acked", "pending", "sent", "failed", "unbound"):
        assert body["totals"]["labels"]["by_state"][state] == sum(
            row["labels"]["by_state"][state] for row in body["stores"]
        )
    assert body["totals"]["labels"]["total"] == 5 + sum(len(s.label_states) for s in CHAIN)
    assert body["totals"]["screens"] == {"online": 1, "offline": 3}


def test_the_chain_shows_each_stores_delivery_and_when_it_is_through(
    client: FlaskClient, engine: Engine, seed: Seed, chain: Chain
):
    start = utcnow() - timedelta(minutes=10)
    with session_scope(engine) as session:
        session.get(BaseStation, SOUTH.station_id).eta_s = 600.0  # its radio's own estimate
        for n, state in enumerate(("acked", "acked", "pending", "pending")):
            done_at = start + timedelta(seconds=4 * n) if state == "acked" else None
            session.add(
                outbox_row(NORTH.label_id(n % 3), NORTH.station_id, state, start, done_at, seq=n)
            )
        session.add(outbox_row(SOUTH.label_id(0), SOUTH.station_id, "sent", start))
    body = client.get("/api/v1/chain", headers=bearer(seed.admin_token)).get_json()
    stores = {row["store_id"]: row["delivery"] for row in body["stores"]}
    north, south = stores[NORTH.id], stores[SOUTH.id]
    assert (north["waiting"], north["done"], north["total"], north["percent"]) == (2, 2, 4, 50)
    assert (north["eta_s"], north["eta_source"]) == (8.0, "measured")
    assert (south["waiting"], south["eta_s"], south["eta_source"]) == (1, 600.0, "station")
    assert body["totals"]["delivery"]["waiting"] == sum(row["waiting"] for row in stores.values())
    slowest = max(row["eta_s"] for row in stores.values())
    assert body["totals"]["delivery"]["eta_s"] == slowest >= 600.0  # the chain waits for it

    assert log_in(client, *ADMIN).status_code == 302
    html = client.get("/chain").get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-store="([^"]+)">(.*?)</tr>', html, re.S))
    assert "2 of 4 (50 %)" in rows[NORTH.id] and "8 s" in rows[NORTH.id]
    assert "10 min 00 s" in rows[SOUTH.id] and "station" in rows[SOUTH.id]


def test_incidents_sync_runs_and_the_audit_log_stay_in_their_store(
    client: FlaskClient, engine: Engine, seed: Seed, chain: Chain
):
    with session_scope(engine) as session:
        record_incident(session, "delivery_failed", "north-L9", "north's label", NORTH.id)
        record_incident(session, "delivery_failed", "south-L9", "south's label", SOUTH.id)
        record_incident(session, "broker_down", "mqtt", "the chain's own", None)
        for store in (NORTH.id, SOUTH.id):
            session.add(SyncRun(store_id=store, feed="json", status="failed"))
        audit.record(
            session, actor="nick", action="label.link", target="label:n", store_id=NORTH.id
        )
        audit.record(session, actor="sam", action="label.link", target="label:s", store_id=SOUTH.id)
    north = bearer(chain.north_manager_token)

    incidents = client.get("/api/v1/incidents", headers=north).get_json()
    subjects = {row["subject"] for row in incidents["items"]}
    assert "north-L9" in subjects and "mqtt" in subjects  # its own, and the chain's
    assert "south-L9" not in subjects
    runs = client.get("/api/v1/sync-runs", headers=north).get_json()["items"]
    by_store = {run.id: run.store_id for run in runs_of(engine)}
    assert {by_store[run["id"]] for run in runs} == {NORTH.id}
    south_run = next(r for r in runs_of(engine) if r.store_id == SOUTH.id)
    assert client.get(f"/api/v1/sync-runs/{south_run.id}", headers=north).status_code == 404

    assert log_in(client, *NORTH_ADMIN).status_code == 302
    audit_page = client.get("/audit").get_data(as_text=True)
    assert "label:n" in audit_page and "label:s" not in audit_page

    head_office = client.get("/api/v1/chain", headers=bearer(seed.admin_token)).get_json()
    stores = {row["store_id"]: row for row in head_office["stores"]}
    assert stores[NORTH.id]["incidents_recent"] == stores[SOUTH.id]["incidents_recent"] == 1
    assert stores[NORTH.id]["last_sync"]["status"] == "failed"


def runs_of(engine: Engine) -> list[SyncRun]:
    with Session(engine) as session:
        return list(session.scalars(select(SyncRun)))


# --- users of one store ----------------------------------------------------------------------


def test_head_office_creates_a_user_of_one_store(client: FlaskClient, seed: Seed, chain: Chain):
    created = client.post(
        "/api/v1/users",
        headers=bearer(seed.admin_token),
        json={
            "username": "sue",
            "password": "sue-password-1",
            "role": "manager",
            "store_id": "south",
        },
    )
    assert created.status_code == 201 and created.get_json()["store_id"] == "south"
    unknown = client.post(
        "/api/v1/users",
        headers=bearer(seed.admin_token),
        json={"username": "zed", "password": "zed-password-1", "role": "manager", "store_id": "x"},
    )
    assert unknown.status_code == 400
    assert unknown.get_json()["error"] == "there is no store 'x'"


def test_a_stores_admin_manages_only_their_stores_users(
    client: FlaskClient, engine: Engine, chain: Chain
):
    log_in(client, *NORTH_ADMIN)
    listed = client.get("/api/v1/users").get_json()["items"]
    assert sorted(user["username"] for user in listed) == ["nick", "nora"]
    csrf = {"X-CSRFToken": csrf_token_from(client, "/")}
    refused = client.post(
        "/api/v1/users",
        headers=csrf,
        json={
            "username": "sue",
            "password": "sue-password-1",
            "role": "manager",
            "store_id": "south",
        },
    )
    assert refused.status_code == 403
    made = client.post(
        "/api/v1/users",
        headers=csrf,
        json={"username": "ned", "password": "ned-password-1", "role": "manager"},
    )
    assert made.status_code == 201 and made.get_json()["store_id"] == "north"
    assert client.post("/api/v1/users/sam/disable", headers=csrf).status_code == 404
    assert client.post("/api/v1/users/alice/disable", headers=csrf).status_code == 404
    with Session(engine) as session:
        disabled = session.scalars(select(User.username).where(User.disabled.is_(True))).all()
    assert disabled == []
    page = client.get("/users").get_data(as_text=True)
    assert 'data-user="nora"' in page and 'data-user="sam"' not in page
    assert 'name="store_id"' not in page  # their users are north's; nothing to choose


def test_the_users_page_gives_a_new_user_a_store(alice_client: FlaskClient, engine: Engine):
    page = alice_client.get("/users").get_data(as_text=True)
    assert '<option value="south">South Station</option>' in page
    response = alice_client.post(
        "/users",
        data={
            "csrf_token": csrf_token_from(alice_client, "/users"),
            "username": "sue",
            "role": "manager",
            "store_id": "south",
            "password": "sue-password-1",
            "confirm": "sue-password-1",
        },
    )
    assert response.status_code == 302
    with Session(engine) as session:
        assert session.scalars(select(User.store_id).where(User.username == "sue")).one() == (
            "south"
        )
    assert "in South Station" in alice_client.get("/users").get_data(as_text=True)


# --- PostgreSQL --------------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_chain_on_postgresql(pg_engine: Engine, settings: Settings):
    with session_scope(pg_engine) as session:
        session.add(Store(id=settings.store_id, name="Home"))
    add_chain_stores(pg_engine)
    north = add_store_user(pg_engine, *NORTH_MANAGER, "manager", NORTH.id)
    head = add_store_user(pg_engine, "hq", "hq-password-1", "admin", None)
    app: Flask = create_app(settings, pg_engine)
    client = app.test_client()
    labels = client.get("/api/v1/labels", headers=bearer(north)).get_json()
    assert sorted(row["id"] for row in labels["items"]) == [NORTH.label_id(i) for i in range(3)]
    assert client.get("/api/v1/labels?store=south", headers=bearer(north)).status_code == 403
    assert (
        client.get(f"/api/v1/labels/{SOUTH.label_id(0)}", headers=bearer(north)).status_code == 404
    )
    south = client.get("/api/v1/labels?store=south", headers=bearer(head)).get_json()

    assert south["total"] == len(SOUTH.label_states)
    with Session(pg_engine) as session:
        health = chain_health(session, datetime(2026, 1, 15, tzinfo=UTC))
    assert [row.store_id for row in health.stores] == ["store-1", "north", "south"]
    assert health.totals.labels_total == sum(len(s.label_states) for s in CHAIN)


def test_a_player_or_zone_of_another_store_is_refused_naming_it(
    client: FlaskClient, engine: Engine, chain: Chain
):
    token = bearer(chain.north_manager_token)
    taken = client.post(
        "/api/v1/players",
        headers=token,
        json={"id": SOUTH.player_id(0), "name": "Till 1", "zone": "north-entrance"},
    )
    assert taken.status_code == 409
    assert f"already registered in store {SOUTH.id}" in taken.get_json()["error"]
    zone = client.post(
        "/api/v1/players",
        headers=token,
        json={"id": "north-p9", "name": "Till 9", "zone": "south-entrance"},
    )
    assert zone.status_code == 422
    assert "belongs to store south" in str(zone.get_json())
    with Session(engine) as session:
        assert session.get(Player, "north-p9") is None
        assert session.get_one(Player, SOUTH.player_id(0)).store_id == SOUTH.id
