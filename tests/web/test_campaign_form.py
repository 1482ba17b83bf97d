# ruff: noqa: F811 -- pytest fixtures imported from signage_support are requested by name
"""The campaign form: a refusal keeps every typed value and says what is wrong in a sentence
beside the field (no schema field names, no Python structures); saves are audited."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller import audit
from esl_controller.models import Advertiser, Campaign, Store
from esl_controller.web.campaign_form import SENTENCES, field_errors
from tests.web.conftest import MANAGER, log_in
from tests.web.signage_support import (  # noqa: F401 (fixtures)
    Signage,
    post_form,
    settings,
    signage,
)

CAMPAIGNS = "/signage/campaigns"
# What a refusal must never show: schema field names, marshmallow messages, Python dicts.
INTERNALS = re.compile(
    r"share_of_voice|frequency_cap_per_hour|advertiser_id:|targeting\.|Not a valid|"
    r"Missing data|\{'|\['|_schema"
)


@pytest.fixture
def advertiser_id(manager_client: FlaskClient, signage: Signage, engine: Engine) -> int:
    post_form(manager_client, "/signage/advertisers", {"name": "Lavazza"}, page=CAMPAIGNS)
    with Session(engine) as session:
        return session.scalars(select(Advertiser.id)).one()


def good_form(advertiser_id: int) -> dict:
    return {
        "advertiser_id": str(advertiser_id),
        "name": "Coffee week",
        "starts_at": "2026-07-01T08:00",
        "ends_at": "2026-07-08T22:00",
        "cpm": "3.20",
        "currency": "RON",
        "priority": "70",
        "share_of_voice": "0.4",
        "zones": "dairy",
        "dayparts": "07:00-10:00",
        "weekdays": ["0", "4"],
        "triggers": ["audience"],
        "min_count": "3",
        "age_25-34": "0.3",
        "loyalty_segments": "coffee-lovers",
    }


def error_near(html: str, field: str) -> str:
    match = re.search(
        rf'<span class="field-error" id="error-{re.escape(field)}">([^<]*)</span>', html
    )
    assert match, f"no message beside {field}"
    return match.group(1)


def visible_messages(html: str) -> str:
    return " ".join(re.findall(r'class="field-error"[^>]*>([^<]*)<', html)) + " ".join(
        re.findall(r'id="campaign-errors">(.*?)</div>', html, re.S)
    )


def test_a_refused_campaign_keeps_every_value_and_marks_each_field(
    manager_client: FlaskClient, advertiser_id: int, engine: Engine
):
    form = {
        **good_form(advertiser_id),
        "share_of_voice": "2",
        "priority": "high",
        "frequency_cap_per_hour": "0",
        "age_25-34": "lots",
    }
    response = post_form(manager_client, CAMPAIGNS, form, page=CAMPAIGNS)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_near(html, "share_of_voice") == SENTENCES["share_of_voice"]
    assert error_near(html, "priority") == SENTENCES["priority"]
    assert error_near(html, "frequency_cap_per_hour") == SENTENCES["frequency_cap_per_hour"]
    typed = {
        "name": "Coffee week", "cpm": "3.20", "share_of_voice": "2", "priority": "high",
        "age_25-34": "lots", "dayparts": "07:00-10:00", "starts_at": "2026-07-01T08:00",
        "loyalty_segments": "coffee-lovers", "frequency_cap_per_hour": "0",
    }  # fmt: skip
    for name, value in typed.items():
        assert re.search(rf'name="{re.escape(name)}"[^>]* value="{re.escape(value)}"', html), name
    assert 'value="dairy" selected' in html
    assert 'value="4" checked' in html and 'value="audience" checked' in html
    assert not INTERNALS.search(visible_messages(html))
    with Session(engine) as session:
        assert session.scalars(select(Campaign)).all() == []


def test_the_flight_order_and_targeting_are_explained_beside_their_fields(
    manager_client: FlaskClient, advertiser_id: int
):
    form = {**good_form(advertiser_id), "ends_at": "2026-06-30T08:00", "dayparts": "breakfast"}
    html = post_form(manager_client, CAMPAIGNS, form, page=CAMPAIGNS).get_data(as_text=True)
    assert error_near(html, "ends_at") == "The campaign must end after it starts."
    shares = {**good_form(advertiser_id), "age_25-34": "3"}
    html = post_form(manager_client, CAMPAIGNS, shares, page=CAMPAIGNS).get_data(as_text=True)
    assert error_near(html, "age_25-34") == SENTENCES["age"]
    assert not INTERNALS.search(visible_messages(html))


def test_an_edit_that_is_refused_keeps_the_typed_values_not_the_saved_ones(
    manager_client: FlaskClient, advertiser_id: int, engine: Engine
):
    created = post_form(manager_client, CAMPAIGNS, good_form(advertiser_id), page=CAMPAIGNS)
    path = created.headers["Location"]
    form = {**good_form(advertiser_id), "name": "Coffee fortnight", "cpm": "3.205"}
    response = post_form(manager_client, path, form, page=path)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_near(html, "cpm") == "Prices in RON have at most 2 decimals."
    assert 'value="Coffee fortnight"' in html and 'value="3.205"' in html
    with Session(engine) as session:
        assert session.scalars(select(Campaign.name)).one() == "Coffee week"


def test_campaign_saves_are_audited_with_the_fields_that_changed(
    manager_client: FlaskClient, advertiser_id: int, engine: Engine
):
    created = post_form(manager_client, CAMPAIGNS, good_form(advertiser_id), page=CAMPAIGNS)
    path = created.headers["Location"]
    post_form(manager_client, path, {**good_form(advertiser_id), "priority": "80"}, page=path)
    with Session(engine) as session:
        edit, create = audit.recent(session, action_prefix="campaign.")
        campaign_id = session.scalars(select(Campaign.id)).one()
    assert (create.action, create.target, create.actor) == (
        "campaign.save", f"campaign:{campaign_id}", "bob"
    )  # fmt: skip
    assert audit.detail_of(create)["created"] is True
    assert audit.detail_of(edit) == {
        "created": False,
        "name": "Coffee week",
        "changed": ["priority"],
    }


def test_a_refused_campaign_is_not_audited(
    manager_client: FlaskClient, advertiser_id: int, engine: Engine
):
    post_form(manager_client, CAMPAIGNS, {**good_form(advertiser_id), "name": ""}, page=CAMPAIGNS)
    with Session(engine) as session:
        assert audit.recent(session, action_prefix="campaign.") == []


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ({"name": ["Missing data for required field."]}, {"name": SENTENCES["name"]}),
        ({"ends_at": ["the flight must end after it starts"]},
         {"ends_at": "The campaign must end after it starts."}),
        ({"cpm": ["JPY amounts have at most 0 decimals, got 4.5"]},
         {"cpm": "Prices in JPY are whole amounts, without decimals."}),
        ({"targeting": ["targeting.audience.min_count: must be >= 0"]},
         {"min_count": SENTENCES["min_count"]}),
        ({"targeting": ["targeting.dayparts[1]: daypart '9' must look like 'HH:MM-HH:MM'"]},
         {"dayparts": SENTENCES["dayparts"]}),
        ({"targeting": ["targeting.colour: unknown field"]},
         {"targeting": "The targeting cannot be used; check the zones, times and audience."}),
        ({"currency": "campaign #3 has billed impressions: its currency cannot change"},
         {"currency": "This campaign has already billed impressions, so its advertiser and "
                      "currency can no longer change."}),
        ({"advertiser_id": "no advertiser #9"},
         {"advertiser_id": "That advertiser no longer exists; choose another one."}),
        ({"something_new": {"deep": ["x"]}}, {"something_new": "This value cannot be used; "
                                                                "check it and try again."}),
    ],
)  # fmt: skip
def test_every_kind_of_refusal_becomes_one_sentence(messages: dict, expected: dict):
    currency = "JPY" if "cpm" in messages else ""
    assert field_errors(messages, currency) == expected


def test_one_refusal_names_field_and_cross_field_problems_together(
    manager_client: FlaskClient, advertiser_id: int
):
    form = {
        **good_form(advertiser_id),
        "priority": "999",  # a field error: the schema then skips its cross-field checks
        "ends_at": "2026-06-30T08:00",
        "dayparts": "breakfast",
    }
    html = post_form(manager_client, CAMPAIGNS, form, page=CAMPAIGNS).get_data(as_text=True)
    assert error_near(html, "priority") == SENTENCES["priority"]
    assert error_near(html, "ends_at") == "The campaign must end after it starts."
    assert error_near(html, "dayparts") == SENTENCES["dayparts"]
    assert "3 values need a change" in html


def test_a_chain_campaign_is_aimed_at_stores_and_zone_kinds(
    manager_client: FlaskClient, advertiser_id: int, engine: Engine
):
    with Session(engine) as session:
        session.add(Store(id="store-2", name="North", timezone="Europe/Bucharest"))
        session.commit()
    page = manager_client.get(CAMPAIGNS).get_data(as_text=True)
    assert '<option value="store-2"' in page and '<option value="dairy"' in page
    form = {**good_form(advertiser_id), "stores": ["store-2"], "zone_kinds": ["bakery"]}
    html = post_form(manager_client, CAMPAIGNS, form, page=CAMPAIGNS).get_data(as_text=True)
    assert "No zone of kind &#39;bakery&#39; in the campaign&#39;s stores" in error_near(
        html, "zone_kinds"
    )
    assert '<option value="store-2" selected' in html  # what was chosen stays chosen
    form = {**good_form(advertiser_id), "zones": [], "stores": ["store-1"], "zone_kinds": ["dairy"]}
    post_form(manager_client, CAMPAIGNS, form, page=CAMPAIGNS)
    with Session(engine) as session:
        saved = session.scalars(select(Campaign)).one()
    assert json.loads(saved.targeting)["stores"] == ["store-1"]
    assert json.loads(saved.targeting)["zone_kinds"] == ["dairy"]


def test_a_romanian_manager_reads_each_problem_in_romanian(app: Flask, advertiser_id: int) -> None:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ro-RO,ro;q=0.9"
    log_in(client, *MANAGER)
    form = {
        **good_form(advertiser_id),
        "priority": "999",
        "ends_at": "2026-06-30T08:00",
        "dayparts": "breakfast",
    }
    html = post_form(client, CAMPAIGNS, form, page=CAMPAIGNS).get_data(as_text=True)
    assert error_near(html, "priority") == (
        "Prioritatea este un număr întreg de la 0 (cea mai mică) la 100 (cea mai mare)."
    )
    assert error_near(html, "ends_at") == "Campania trebuie să se încheie după ce începe."
    assert "3 valori trebuie schimbate; fiecare este marcată mai jos." in html
    edited = {**good_form(advertiser_id), "cpm": "3.205"}
    html = post_form(client, CAMPAIGNS, edited, page=CAMPAIGNS).get_data(as_text=True)
    assert error_near(html, "cpm") == "Prețurile în RON au cel mult 2 zecimale."
