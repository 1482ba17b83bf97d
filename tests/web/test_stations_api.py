"""Setting a store up over /api/v1: base stations of any installed driver, label links."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session

from esl_controller.models import BaseStation, Label
from tests.web.conftest import bearer


@pytest.fixture
def api(client, seed):
    headers = bearer(seed.manager_token)

    def call(method: str, path: str, body: object | None = None):
        return client.open(f"/api/v1{path}", method=method, json=body, headers=headers)

    return call


def test_an_access_point_is_added_with_its_address(api, engine):
    answer = api(
        "POST",
        "/base-stations",
        {"id": "ap-1", "driver": "oepl", "name": "Front", "options": {"url": "http://10.0.0.5"}},
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["driver"] == "oepl"
    with Session(engine) as s:
        row = s.get(BaseStation, "ap-1")
    assert row.driver == "oepl" and json.loads(row.options)["url"] == "http://10.0.0.5"
    listed = {item["id"]: item for item in api("GET", "/base-stations").get_json()["items"]}
    assert listed["ap-1"]["driver"] == "oepl" and listed["ap-1"]["online"] is False


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"id": "ap-2", "driver": "no-such-kind"}, "no base-station driver named"),
        ({"id": "ap-2", "driver": "oepl", "options": {}}, "url"),
        ({"id": "ap-2", "driver": "mqtt", "options": {"url": "http://x"}}, "takes no options"),
        ({"id": "a/b", "driver": "mqtt"}, "must be printable without whitespace"),
        ({"id": "bs-1", "driver": "mqtt"}, "already exists"),
    ],
)
def test_a_station_that_cannot_work_is_refused_with_the_reason(api, engine, body, says):
    answer = api("POST", "/base-stations", body)
    assert answer.status_code == 400
    assert says in answer.get_json()["error"]
    with Session(engine) as s:
        assert s.get(BaseStation, "ap-2") is None


def test_a_station_with_labels_is_not_removed(api):
    answer = api("DELETE", "/base-stations/bs-1")
    assert answer.status_code == 409 and "labels" in answer.get_json()["error"]
    assert api("POST", "/base-stations", {"id": "spare"}).status_code == 201
    assert api("PATCH", "/base-stations/spare", {"name": "Back room"}).get_json()["name"] == (
        "Back room"
    )
    assert api("DELETE", "/base-stations/spare").status_code == 204
    assert api("DELETE", "/base-stations/spare").status_code == 404


def test_linking_a_label_binds_it_and_marks_it_for_a_fresh_render(api, engine):
    answer = api("POST", "/labels/L-UNBOUND/link", {"gtin": "4006381333931", "template": "promo"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["state"] == "pending"
    with Session(engine) as s:
        label = s.get(Label, "L-UNBOUND")
    assert label.product_id is not None and label.template == "promo"
    assert label.render_fingerprint is None
    assert api("POST", "/labels/L-UNBOUND/unlink").get_json()["state"] == "unbound"


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"gtin": "4006381333932"}, 422, "not a valid product barcode"),
        ({"gtin": "5940000000998"}, 422, "no product with barcode"),
        ({"gtin": "4006381333931", "template": "poster"}, 422, "'poster' is not a label template"),
    ],
)
def test_a_link_that_cannot_be_made_changes_nothing(api, engine, body, status, says):
    with Session(engine) as s:
        before = s.get(Label, "L-UNBOUND").model_dump()
    answer = api("POST", "/labels/L-UNBOUND/link", body)
    assert answer.status_code == status and says in answer.get_json()["error"]
    with Session(engine) as s:
        assert s.get(Label, "L-UNBOUND").model_dump() == before


def test_linking_an_unknown_label_is_404(api):
    assert api("POST", "/labels/NOPE/link", {"gtin": "4006381333931"}).status_code == 404


def test_moving_a_linked_label_needs_relink_and_is_audited(api, engine):
    from esl_controller import audit

    assert api("POST", "/labels/L-UNBOUND/link", {"gtin": "4006381333931"}).status_code == 200
    answer = api("POST", "/labels/L-UNBOUND/link", {"gtin": "5901234123457"})
    assert answer.status_code == 409 and "already shows" in answer.get_json()["error"]
    answer = api("POST", "/labels/L-UNBOUND/link", {"gtin": "5901234123457", "relink": True})
    assert answer.status_code == 200 and answer.get_json()["template"] == "auto"
    with Session(engine) as s:
        entries = audit.recent(s, target="label:L-UNBOUND")
    assert [(e.actor, e.action) for e in entries] == [("bob", "label.link"), ("bob", "label.link")]


def test_the_station_list_reports_queue_eta_and_progress(api, manager_client):
    listed = {item["id"]: item for item in api("GET", "/base-stations").get_json()["items"]}
    # the seed leaves one pending image on bs-2 and nothing waiting on bs-1
    assert (listed["bs-2"]["pending"], listed["bs-2"]["sent"]) == (1, 0)
    assert listed["bs-2"]["eta_source"] == "nominal" and listed["bs-2"]["queue_eta_s"] == 4.0
    assert (listed["bs-2"]["progress_done"], listed["bs-2"]["progress_total"]) == (0, 1)
    assert listed["bs-1"]["eta_source"] == "empty" and listed["bs-1"]["progress_total"] is None
    html = manager_client.get("/base-stations").get_data(as_text=True)
    assert "1</span> pending" in html and "at nominal airtime" in html
    assert "0 of 1 (0 %)" in html


def test_a_name_typed_in_decomposed_unicode_is_stored_in_nfc(client, seed, engine):
    # "Raft brânză" with its accents as combining marks, once escaped and once as raw UTF-8
    for station, body in (
        ("bs-8", b'{"id": "bs-8", "driver": "mqtt", "name": "Raft bra\\u0302nza\\u0306"}'),
        ("bs-9", '{"id": "bs-9", "driver": "mqtt", "name": "Raft bra\u0302nza\u0306"}'.encode()),
    ):
        answer = client.post(
            "/api/v1/base-stations",
            data=body,
            content_type="application/json",
            headers=bearer(seed.manager_token),
        )
        assert answer.status_code == 201, answer.get_json()
        with Session(engine) as s:
            assert s.get(BaseStation, station).name == "Raft brânză"
