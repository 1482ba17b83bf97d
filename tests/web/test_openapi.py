"""The OpenAPI document: generated from the validating schemas, complete and consistent."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from esl_controller.esl.link import LED_COLOURS
from esl_controller.web.openapi import flask_path_to_openapi
from tests.web.conftest import Seed, bearer


@pytest.fixture
def document(client: FlaskClient, seed: Seed) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json", headers=bearer(seed.manager_token))
    assert response.status_code == 200
    return response.get_json()


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_document_header_and_security(document: dict[str, Any]):
    assert document["openapi"] == "3.0.3"
    assert document["info"]["title"] == "esl-controller API"
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "API token (admin issues it)",
    }
    assert {"bearerAuth": []} in document["security"]
    assert document["paths"]["/api/v1/healthz"]["get"]["security"] == []


def test_every_api_route_is_documented(app: Flask, document: dict[str, Any]):
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = flask_path_to_openapi(rule.rule)
        assert path in document["paths"], path
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path], (method, path)


def test_every_reference_resolves(document: dict[str, Any]):
    refs = _refs(document)
    assert len(refs) > 20
    for ref in refs:
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            assert part in node, ref
            node = node[part]


def test_request_body_is_the_validating_schema(document: dict[str, Any]):
    operation = document["paths"]["/api/v1/labels/{label_id}/flash"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/FlashRequest"
    schema = document["components"]["schemas"]["FlashRequest"]
    assert set(schema["required"]) == {"colour", "pattern", "seconds"}
    assert schema["properties"]["colour"]["enum"] == list(LED_COLOURS)
    assert schema["properties"]["seconds"]["minimum"] == 1


def test_query_schema_becomes_parameters(document: dict[str, Any]):
    parameters = document["paths"]["/api/v1/labels"]["get"]["parameters"]
    by_name = {parameter["name"]: parameter for parameter in parameters}
    assert set(by_name) == {"state", "base_station", "template", "q", "new", "limit", "offset"}
    assert all(parameter["in"] == "query" for parameter in parameters)
    assert "failed" in by_name["state"]["schema"]["enum"]
    assert by_name["limit"]["schema"]["maximum"] == 500


def test_responses_reference_component_schemas(document: dict[str, Any]):
    labels = document["paths"]["/api/v1/labels"]["get"]["responses"]["200"]
    assert labels["content"]["application/json"]["schema"]["$ref"].endswith("/LabelPage")
    page = document["components"]["schemas"]["LabelPage"]
    assert page["properties"]["items"]["items"]["$ref"].endswith("/Label")
    assert "Unauthorized" in document["components"]["responses"]


def test_openapi_needs_a_login(client: FlaskClient, seed: Seed):
    assert client.get("/api/v1/openapi.json").status_code == 401


@pytest.mark.parametrize(
    ("flask_path", "openapi_path"),
    [
        ("/labels/<label_id>", "/labels/{label_id}"),
        ("/x/<int:id>/y/<path:rest>", "/x/{id}/y/{rest}"),
        ("/summary", "/summary"),
    ],
)
def test_flask_path_to_openapi(flask_path: str, openapi_path: str):
    assert flask_path_to_openapi(flask_path) == openapi_path


def _query_parameters(document: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    parameters = document["paths"][f"/api/v1{path}"]["get"]["parameters"]
    return {parameter["name"]: parameter for parameter in parameters}


def test_report_periods_state_their_formats_and_years(document: dict[str, Any]):
    report = _query_parameters(document, "/reports")
    for name in ("from", "to"):
        pattern = re.compile(report[name]["schema"]["pattern"])
        assert pattern.fullmatch("2026-03-01")
        assert pattern.fullmatch("2026-03-01T08:00+02:00")
        assert pattern.fullmatch("2026-03-01T08:00:00.123456Z")
        assert not pattern.fullmatch("20260301T0800Z")
        assert not pattern.fullmatch("2026-03-01T08:00:00")  # no offset
        assert "1970 to 2199" in report[name]["description"]
    assert "after `from`" in report["to"]["description"]


def test_revenue_states_its_day_format_and_range_limit(document: dict[str, Any]):
    revenue = _query_parameters(document, "/revenue")
    for name in ("from", "to"):
        assert revenue[name]["schema"]["format"] == "date"
        assert revenue[name]["schema"]["pattern"] == "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
    assert "at most 367 days" in revenue["to"]["description"]


def test_the_anchor_pair_is_stated_as_both_or_neither(document: dict[str, Any]):
    verify = _query_parameters(document, "/impressions/verify")
    for name in ("anchor_seq", "anchor_hash"):
        assert "both or neither" in verify[name]["description"]
    assert verify["anchor_hash"]["schema"]["pattern"] == "^[0-9a-f]{64}$"


def test_cpm_states_the_currencys_minor_unit(document: dict[str, Any]):
    cpm = document["components"]["schemas"]["CampaignInput"]["properties"]["cpm"]
    assert cpm["type"] == "string"
    assert re.fullmatch(cpm["pattern"], "1.234") and not re.fullmatch(cpm["pattern"], "1e3")
    assert "JPY 0, EUR 2, KWD 3" in cpm["description"]


def test_a_bad_playlist_name_is_a_documented_422(document: dict[str, Any]):
    operation = document["paths"]["/api/v1/playlists/{name}"]["get"]
    assert operation["responses"]["422"] == {"$ref": "#/components/responses/BadName"}
    [parameter] = operation["parameters"]
    name = document["components"]["parameters"]["PlaylistName"]
    assert parameter == {"$ref": "#/components/parameters/PlaylistName"}
    assert not re.fullmatch(name["schema"]["pattern"], "../etc")
