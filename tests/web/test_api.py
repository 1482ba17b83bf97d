"""The JSON API: every endpoint against a seeded SQLite store, with token and cookie auth."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.models import OutboxMessage
from esl_controller.web import create_app
from tests.web.conftest import Seed, bearer, log_in


def _outbox_rows(engine: Engine, label_id: str) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(
            session.scalars(select(OutboxMessage).where(OutboxMessage.label_id == label_id))
        )


def test_summary_counts_labels_stations_outbox_and_incidents(client: FlaskClient, seed: Seed):
    response = client.get("/api/v1/summary", headers=bearer(seed.manager_token))
    assert response.status_code == 200
    body = response.get_json()
    assert body["labels"]["by_state"] == {
        "acked": 1,
        "pending": 1,
        "sent": 1,
        "failed": 1,
        "unbound": 1,
    }
    assert body["labels"]["total"] == 5
    assert body["labels"]["bound"] == 4
    assert body["labels"]["up_to_date"] == 1
    assert body["base_stations"] == {"online": 1, "offline": 1}
    assert body["outbox_queue"] == 1  # the pending row; the failed one is finished
    assert body["incidents_by_kind"] == {"delivery_failed": 1, "invalid_gtin": 1}


def _label_ids(client: FlaskClient, seed: Seed, query: str = "") -> list[str]:
    response = client.get(f"/api/v1/labels{query}", headers=bearer(seed.manager_token))
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_labels_list_all_in_id_order_with_product_fields(client: FlaskClient, seed: Seed):
    response = client.get("/api/v1/labels", headers=bearer(seed.manager_token))
    body = response.get_json()
    assert body["total"] == 5
    assert [item["id"] for item in body["items"]] == sorted(seed.label_ids.values())
    acked = next(item for item in body["items"] if item["id"] == "L-ACKED")
    assert acked["product_name"] == "Cașcaval Dalia"
    assert acked["gtin"] == "5901234123457"
    assert acked["battery"] == 80
    assert acked["last_seen"].endswith("+00:00")  # naive UTC goes out with its offset


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?state=failed", ["L-FAILED"]),
        ("?base_station=bs-2", ["L-PENDING", "L-FAILED"]),
        ("?template=promo", ["L-SENT"]),
        ("?q=grüner", ["L-PENDING"]),  # product name, case-insensitive
        ("?q=5901234", ["L-ACKED", "L-FAILED"]),  # GTIN prefix: both show product 1
        ("?q=unbound", ["L-UNBOUND"]),  # label id
        ("?q=%25", ["L-SENT"]),  # a literal %: only "Молоко 3,2%", not a wildcard
        ("?q=_", []),  # a literal _, not a wildcard
        ("?state=pending&base_station=bs-1", []),
    ],
)
def test_labels_filters(client: FlaskClient, seed: Seed, query: str, expected: list[str]):
    assert sorted(_label_ids(client, seed, query)) == sorted(expected)


def test_labels_pagination_covers_every_label_once(client: FlaskClient, seed: Seed):
    seen: list[str] = []
    for offset in (0, 2, 4):
        response = client.get(
            f"/api/v1/labels?limit=2&offset={offset}", headers=bearer(seed.manager_token)
        )
        body = response.get_json()
        assert body["total"] == 5
        assert (body["limit"], body["offset"]) == (2, offset)
        seen += [item["id"] for item in body["items"]]
    assert seen == sorted(seed.label_ids.values())


@pytest.mark.parametrize(
    ("query", "bad_field"),
    [
        ("?state=lost", "state"),
        ("?limit=0", "limit"),
        ("?limit=501", "limit"),
        ("?limit=ten", "limit"),
        ("?offset=-1", "offset"),
        ("?colour=red", "colour"),  # unknown parameters are refused, not ignored
    ],
)
def test_labels_bad_query_is_400_naming_the_field(
    client: FlaskClient, seed: Seed, query: str, bad_field: str
):
    response = client.get(f"/api/v1/labels{query}", headers=bearer(seed.manager_token))
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid request"
    assert list(body["errors"]) == [bad_field]


def test_label_detail_includes_outbox_history(client: FlaskClient, seed: Seed):
    response = client.get("/api/v1/labels/L-FAILED", headers=bearer(seed.manager_token))
    assert response.status_code == 200
    body = response.get_json()
    assert body["state"] == "failed"
    assert body["last_error"] == "no ack after 5 attempts"
    assert [(row["state"], row["attempts"]) for row in body["outbox"]] == [("failed", 5)]
    assert body["outbox"][0]["reason"] == "no ack after 5 attempts"


def test_unknown_label_is_404_json(client: FlaskClient, seed: Seed):
    for path in ("/api/v1/labels/NOPE", "/api/v1/labels/NOPE/preview.png"):
        response = client.get(path, headers=bearer(seed.manager_token))
        assert response.status_code == 404
        assert "NOPE" in response.get_json()["error"]


def test_preview_is_a_png(client: FlaskClient, seed: Seed):
    response = client.get("/api/v1/labels/L-ACKED/preview.png", headers=bearer(seed.manager_token))
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert response.headers["Cache-Control"] == "no-store"


def test_preview_of_unbound_label_is_422_with_reason(client: FlaskClient, seed: Seed):
    response = client.get(
        "/api/v1/labels/L-UNBOUND/preview.png", headers=bearer(seed.manager_token)
    )
    assert response.status_code == 422
    assert response.get_json()["error"]


def test_repush_queues_a_manager_priority_image(client: FlaskClient, seed: Seed, engine: Engine):
    before = len(_outbox_rows(engine, "L-ACKED"))
    response = client.post("/api/v1/labels/L-ACKED/repush", headers=bearer(seed.manager_token))
    assert response.status_code == 202
    body = response.get_json()
    assert body["queued"] is True
    assert body["kind"] == "image"
    rows = _outbox_rows(engine, "L-ACKED")
    assert len(rows) == before + 1
    assert rows[-1].id == body["outbox_id"]
    assert rows[-1].priority >= 100


def test_repush_errors(client: FlaskClient, seed: Seed):
    unbound = client.post("/api/v1/labels/L-UNBOUND/repush", headers=bearer(seed.manager_token))
    assert unbound.status_code == 422
    assert unbound.get_json()["error"]
    unknown = client.post("/api/v1/labels/NOPE/repush", headers=bearer(seed.manager_token))
    assert unknown.status_code == 404


def test_flash_queues_an_led_command(client: FlaskClient, seed: Seed, engine: Engine):
    response = client.post(
        "/api/v1/labels/L-SENT/flash",
        json={"colour": "green", "pattern": "blink", "seconds": 15},
        headers=bearer(seed.manager_token),
    )
    assert response.status_code == 202
    assert response.get_json()["kind"] == "led"
    assert [row.kind for row in _outbox_rows(engine, "L-SENT")] == ["led"]


@pytest.mark.parametrize(
    ("body", "bad_fields"),
    [
        ({"colour": "purple", "pattern": "blink", "seconds": 5}, {"colour"}),
        ({"colour": "red", "pattern": "disco", "seconds": 5}, {"pattern"}),
        ({"colour": "red", "pattern": "blink", "seconds": 0}, {"seconds"}),
        ({"colour": "red", "pattern": "blink", "seconds": "5"}, {"seconds"}),
        ({"colour": "red"}, {"pattern", "seconds"}),
        ({"colour": "red", "pattern": "blink", "seconds": 5, "extra": 1}, {"extra"}),
    ],
)
def test_flash_validation(
    client: FlaskClient, seed: Seed, engine: Engine, body: dict, bad_fields: set[str]
):
    response = client.post(
        "/api/v1/labels/L-SENT/flash", json=body, headers=bearer(seed.manager_token)
    )
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == bad_fields
    assert _outbox_rows(engine, "L-SENT") == []


def test_flash_needs_a_json_object_body(client: FlaskClient, seed: Seed):
    response = client.post(
        "/api/v1/labels/L-SENT/flash",
        data="colour=red",
        content_type="application/x-www-form-urlencoded",
        headers=bearer(seed.manager_token),
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "the request body must be a JSON object"


def test_base_stations_with_label_counts(client: FlaskClient, seed: Seed):
    response = client.get("/api/v1/base-stations", headers=bearer(seed.manager_token))
    assert response.status_code == 200
    stations = {item["id"]: item for item in response.get_json()["items"]}
    assert set(stations) == {"bs-1", "bs-2"}
    assert (stations["bs-1"]["online"], stations["bs-1"]["labels"]) == (True, 3)
    assert (stations["bs-2"]["online"], stations["bs-2"]["labels"]) == (False, 2)
    assert stations["bs-1"]["queue_depth"] == 1


def test_incidents_filter_by_kind_and_counts(client: FlaskClient, seed: Seed):
    response = client.get("/api/v1/incidents?kind=invalid_gtin", headers=bearer(seed.manager_token))
    body = response.get_json()
    assert [item["subject"] for item in body["items"]] == ["1234567890123"]
    assert body["total"] == 1
    assert body["counts"] == {"delivery_failed": 1, "invalid_gtin": 1}
    everything = client.get("/api/v1/incidents", headers=bearer(seed.manager_token)).get_json()
    assert everything["total"] == 2


def test_users_are_admin_only(client: FlaskClient, seed: Seed):
    assert client.get("/api/v1/users", headers=bearer(seed.manager_token)).status_code == 403
    response = client.get("/api/v1/users", headers=bearer(seed.admin_token))
    assert response.status_code == 200
    users = response.get_json()["items"]
    assert [(user["username"], user["role"]) for user in users] == [
        ("alice", "admin"),
        ("bob", "manager"),
    ]
    assert all("password" not in key for user in users for key in user)


def test_admin_creates_a_user_who_can_then_log_in(client: FlaskClient, seed: Seed):
    response = client.post(
        "/api/v1/users",
        json={"username": "carol", "password": "carol-secret-9", "role": "manager"},
        headers=bearer(seed.admin_token),
    )
    assert response.status_code == 201
    assert response.get_json()["username"] == "carol"
    assert "password" not in response.get_json()
    assert log_in(client, "carol", "carol-secret-9").status_code == 302


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"username": "bob", "password": "long-enough", "role": "manager"}, 409, None),
        ({"username": "dave", "password": "short", "role": "manager"}, 400, "password"),
        ({"username": "dave", "password": "long-enough", "role": "root"}, 400, "role"),
        ({"username": "da ve", "password": "long-enough", "role": "admin"}, 400, "username"),
    ],
)
def test_create_user_rejections(
    client: FlaskClient, seed: Seed, body: dict, status: int, field: str | None
):
    response = client.post("/api/v1/users", json=body, headers=bearer(seed.admin_token))
    assert response.status_code == status
    if field:
        assert list(response.get_json()["errors"]) == [field]
    else:
        assert "already exists" in response.get_json()["error"]


def test_manager_cannot_create_users(client: FlaskClient, seed: Seed):
    response = client.post(
        "/api/v1/users",
        json={"username": "eve", "password": "long-enough", "role": "admin"},
        headers=bearer(seed.manager_token),
    )
    assert response.status_code == 403


def test_admin_issues_a_token_that_replaces_the_old_one(client: FlaskClient, seed: Seed):
    response = client.post("/api/v1/users/bob/token", headers=bearer(seed.admin_token))
    assert response.status_code == 201
    new_token = response.get_json()["token"]
    assert client.get("/api/v1/summary", headers=bearer(new_token)).status_code == 200
    assert client.get("/api/v1/summary", headers=bearer(seed.manager_token)).status_code == 401
    missing = client.post("/api/v1/users/nobody/token", headers=bearer(seed.admin_token))
    assert missing.status_code == 404


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/healthz"])
def test_healthz_needs_no_login(client: FlaskClient, path: str):
    response = client.get(path)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(settings: Settings, tmp_path: Path):
    unreachable = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'esl.db'}")
    client = create_app(settings, unreachable).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unhealthy"


def test_unknown_api_path_and_method_get_json_errors(client: FlaskClient, seed: Seed):
    missing = client.get("/api/v1/nothing-here", headers=bearer(seed.manager_token))
    assert missing.status_code == 404
    assert "error" in missing.get_json()
    wrong_method = client.delete("/api/v1/labels", headers=bearer(seed.manager_token))
    assert wrong_method.status_code == 405
    assert "error" in wrong_method.get_json()
