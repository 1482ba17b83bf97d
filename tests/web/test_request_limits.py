"""Request limits: 64-bit integers, JSON depth and digits, body size, media size.

Each was a 500 (or a whole 50 MB read into memory) before; now a 400, 404 or 413 saying why.
"""

from __future__ import annotations

import io
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from esl_controller.web import request_limits
from esl_controller.web.bounded_fields import INT64_MAX
from tests.web.conftest import Seed, bearer

HUGE = 2**70
DEEP_BODY = "[" * 100_000 + "]" * 100_000


def json_routes(app: Flask, own_body: bool = False) -> list[tuple[str, str]]:
    """(method, path) of every API route that takes a body, path arguments filled in; those
    whose view parses its own body (`parses_its_own_body`) only when `own_body`."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "parses_its_own_body", False) != own_body:
            continue
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH"}):
            path = rule.rule
            for argument in rule.arguments:
                path = path.replace(f"<int:{argument}>", "1").replace(f"<{argument}>", "x1")
            routes.append((method, path))
    return routes


def test_every_json_route_refuses_deep_nesting_with_400(
    app: Flask, client: FlaskClient, seed: Seed
):
    routes = json_routes(app)
    assert len(routes) >= 15  # sanity: the walk found the API
    for method, path in routes:
        response = client.open(
            path,
            method=method,
            data=DEEP_BODY,
            content_type="application/json",
            headers=bearer(seed.admin_token),
        )
        assert response.status_code == 400, (method, path, response.get_data(as_text=True))
        assert "nested" in response.get_json()["error"], (method, path)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("\\ud800 dairy", "not valid Unicode"), ("dai\\u0000ry", "NUL character")],
)
def test_every_json_route_refuses_text_no_database_can_store(
    app: Flask, client: FlaskClient, seed: Seed, text: str, reason: str
):
    # Escaped as JSON sends it: the decoded string holds the lone surrogate or the NUL.
    body = f'{{"name": "{text}", "items": [{{"{text}": 1}}]}}'
    for method, path in json_routes(app):
        response = client.open(
            path,
            method=method,
            data=body,
            content_type="application/json",
            headers=bearer(seed.admin_token),
        )
        assert response.status_code == 400, (method, path, response.get_data(as_text=True))
        assert reason in response.get_json()["error"], (method, path)


def test_scripts_and_combining_marks_still_reach_the_view(client: FlaskClient, seed: Seed):
    response = client.post(
        "/api/v1/advertisers",
        json={"name": "Lăptăria Ștefan Łódź Молоко"},
        headers=bearer(seed.manager_token),
    )
    assert response.status_code == 201, response.get_json()


def test_the_trigger_intake_refuses_deep_nesting_itself_and_records_it(
    app: Flask, client: FlaskClient, seed: Seed
):
    """Triggers have tighter caps of their own (8 KB, 4 levels): the refusal is a 422 the
    trigger log counts, as for an MQTT trigger, not the generic 400."""
    assert json_routes(app, own_body=True) == [("POST", "/api/v1/triggers")]
    for body in (DEEP_BODY, "[" * 3000 + "]" * 3000):
        response = client.post(
            "/api/v1/triggers",
            data=body,
            content_type="application/json",
            headers=bearer(seed.admin_token),
        )
        assert response.status_code == 422, response.get_data(as_text=True)
        answer = response.get_json()
        assert answer["trigger_id"] >= 1
        assert "larger than" in answer["error"] or "nested deeper" in answer["error"]


def test_a_body_within_the_depth_limit_still_reaches_the_view(client: FlaskClient, seed: Seed):
    body = {"colour": "red", "pattern": "blink", "seconds": 5, "extra": [[[[1]]]]}
    response = client.post(
        f"/api/v1/labels/{seed.label_ids['acked']}/flash",
        json=body,
        headers=bearer(seed.manager_token),
    )
    # Marshmallow (not the guard) answers: the unknown field is named.
    assert response.status_code == 400
    assert "extra" in response.get_json()["errors"]


def test_a_number_of_5000_digits_is_refused_before_parsing(client: FlaskClient, seed: Seed):
    response = client.post(
        f"/api/v1/labels/{seed.label_ids['acked']}/flash",
        data='{"colour": "red", "pattern": "blink", "seconds": ' + "9" * 5000 + "}",
        content_type="application/json",
        headers=bearer(seed.manager_token),
    )
    assert response.status_code == 400
    assert "a number of 5,000 digits" in response.get_json()["error"]


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/labels?offset={HUGE}",
        f"/api/v1/labels?limit={HUGE}",
        f"/api/v1/incidents?offset={HUGE}",
        f"/api/v1/sync-runs?offset={-HUGE}",
        f"/api/v1/reports?campaign={HUGE}",
        f"/api/v1/impressions/verify?campaign=1&anchor_seq={HUGE}&anchor_hash={'0' * 64}",
    ],
)
def test_out_of_range_query_integers_are_a_400_naming_the_field(
    client: FlaskClient, seed: Seed, path: str
):
    response = client.get(path, headers=bearer(seed.admin_token))
    assert response.status_code == 400, response.get_data(as_text=True)
    errors = response.get_json()["errors"]
    assert len(errors) == 1
    (messages,) = errors.values()
    assert "Must be" in messages[0]


@pytest.mark.parametrize("value", [HUGE, INT64_MAX + 1, -(2**63) - 1])
def test_out_of_range_body_integers_are_a_400(client: FlaskClient, seed: Seed, value: int):
    response = client.post(
        "/api/v1/campaigns",
        json={
            "advertiser_id": value,
            "name": "c",
            "starts_at": "2026-11-01T00:00:00+02:00",
            "ends_at": "2026-11-30T00:00:00+02:00",
            "cpm": "4.50",
        },
        headers=bearer(seed.manager_token),
    )
    assert response.status_code == 400
    assert "advertiser_id" in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cpm", "1e999999999", "at most 99999.99"),
        ("cpm", "NaN", "Special numeric values"),
        ("starts_at", "0001-01-01T00:00:00+01:00", "between 1970-01-01 and 2199-12-31"),
    ],
)
def test_absurd_money_and_dates_are_a_400(
    client: FlaskClient, seed: Seed, field: str, value: str, message: str
):
    body = {
        "advertiser_id": 1,
        "name": "c",
        "starts_at": "2026-11-01T00:00:00+02:00",
        "ends_at": "2026-11-30T00:00:00+02:00",
        "cpm": "4.50",
        field: value,
    }
    response = client.post("/api/v1/campaigns", json=body, headers=bearer(seed.manager_token))
    assert response.status_code == 400
    assert message in " ".join(response.get_json()["errors"][field])


@pytest.mark.parametrize("method", ["GET", "PUT"])
@pytest.mark.parametrize("value", [HUGE, INT64_MAX + 1, 10**40])
def test_a_path_id_beyond_64_bits_is_a_404_not_a_500(
    client: FlaskClient, seed: Seed, method: str, value: int
):
    response = client.open(
        f"/api/v1/campaigns/{value}", method=method, json={}, headers=bearer(seed.manager_token)
    )
    assert response.status_code == 404  # for PUT too, not a 405
    assert response.is_json


def test_a_sync_run_id_at_the_64_bit_bound_reaches_the_view(client: FlaskClient, seed: Seed):
    within = client.get(f"/api/v1/sync-runs/{INT64_MAX}", headers=bearer(seed.manager_token))
    assert within.status_code == 404
    assert "no sync run" in within.get_json()["error"]


def test_an_oversized_json_body_is_a_413_in_json(client: FlaskClient, seed: Seed):
    text = "x" * (request_limits.MAX_JSON_BYTES + 1)
    response = client.put(
        "/api/v1/playlists/big",
        data=json.dumps({"text": text}),
        content_type="application/json",
        headers=bearer(seed.manager_token),
    )
    assert response.status_code == 413
    assert "at most 2,097,152" in response.get_json()["error"]


def test_a_request_announcing_more_than_the_limit_is_refused_unread(
    client: FlaskClient, seed: Seed
):
    announced = request_limits.MAX_REQUEST_BYTES + 1
    response = client.post(
        "/api/v1/media",
        input_stream=io.BytesIO(b"--x--"),
        content_type="multipart/form-data; boundary=x",
        headers=bearer(seed.manager_token),
        environ_overrides={"CONTENT_LENGTH": str(announced)},
    )
    assert response.status_code == 413
    assert response.get_json()["error"] == (
        f"the request body is {announced:,} bytes; at most {request_limits.MAX_REQUEST_BYTES:,}"
    )


def test_media_over_the_limit_is_a_413_before_being_read_whole(
    client: FlaskClient, seed: Seed, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(request_limits, "MAX_MEDIA_BYTES", 1000)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 1992
    response = client.post(
        "/api/v1/media",
        data={"file": (io.BytesIO(png), "big.png", "image/png")},
        headers=bearer(seed.manager_token),
    )
    assert response.status_code == 413
    assert "the file is 2,000 bytes; the limit is 1,000 bytes" in response.get_json()["error"]


def test_a_dashboard_form_keeps_html_for_413(manager_client: FlaskClient):
    response = manager_client.post(
        "/signage/media",
        input_stream=io.BytesIO(b"--x--"),
        content_type="multipart/form-data; boundary=x",
        environ_overrides={"CONTENT_LENGTH": str(request_limits.MAX_REQUEST_BYTES + 1)},
    )
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "at most" in response.get_data(as_text=True)


def test_a_trigger_that_is_not_json_is_still_recorded_by_its_view(client: FlaskClient, seed: Seed):
    response = client.post(
        "/api/v1/triggers", data=b"\xff not json", headers=bearer(seed.admin_token)
    )
    assert response.status_code == 422
    assert response.get_json()["trigger_id"] >= 1
