"""Managing people by API and on the Users page: every role, buyers with their advertiser,
disable, delete, passwords, log out everywhere, and the audit entries each change leaves."""

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
from esl_controller.db import session_scope
from esl_controller.models import Advertiser, AuditEntry, User
from esl_controller.web.auth import create_user, issue_api_token
from tests.web.conftest import MANAGER, Seed, bearer, csrf_token_from, log_in

SECRETS = ("alice-password-1", "bob-password-1", "new-password-9", "buyer-password-1")


@pytest.fixture
def advertiser_id(engine: Engine, seed: Seed) -> int:
    with session_scope(engine) as session:
        advertiser = Advertiser(name="Dairy Co")
        session.add(advertiser)
        session.flush()
        assert advertiser.id is not None
        return advertiser.id


def _user(engine: Engine, username: str) -> User | None:
    with Session(engine) as session:
        return session.scalars(select(User).where(User.username == username)).first()


def _audit(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return audit.recent(session, action_prefix="user.")


def _assert_no_secret_in_audit(engine: Engine) -> None:
    for entry in _audit(engine):
        assert not any(secret in entry.detail for secret in SECRETS)
        assert "password" not in json.loads(entry.detail)


# --- API ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "manager", "sensor", "player"])
def test_api_creates_a_user_of_every_role(client: FlaskClient, seed: Seed, engine: Engine, role):
    response = client.post(
        "/api/v1/users",
        json={"username": f"new-{role}", "password": "new-password-9", "role": role},
        headers=bearer(seed.admin_token),
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["role"] == role
    assert _user(engine, f"new-{role}").role == role
    [entry] = _audit(engine)
    assert (entry.actor, entry.action, entry.target) == ("alice", "user.add", f"user:new-{role}")
    _assert_no_secret_in_audit(engine)


def test_api_creates_a_buyer_with_its_advertiser(
    client: FlaskClient, seed: Seed, engine: Engine, advertiser_id: int
):
    response = client.post(
        "/api/v1/users",
        json={
            "username": "dairy",
            "password": "buyer-password-1",
            "role": "buyer",
            "advertiser_id": advertiser_id,
        },
        headers=bearer(seed.admin_token),
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["advertiser_id"] == advertiser_id
    assert _user(engine, "dairy").advertiser_id == advertiser_id
    assert audit.detail_of(_audit(engine)[0]) == {"role": "buyer", "advertiser_id": advertiser_id}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "a buyer needs the advertiser it buys for (advertiser_id)"),
        ({"advertiser_id": None}, "a buyer needs the advertiser it buys for (advertiser_id)"),
        ({"advertiser_id": 999}, "there is no advertiser #999"),
    ],
)
def test_api_refuses_a_buyer_without_a_real_advertiser_in_plain_words(
    client: FlaskClient, seed: Seed, engine: Engine, extra, message
):
    body = {"username": "dairy", "password": "buyer-password-1", "role": "buyer", **extra}
    response = client.post("/api/v1/users", json=body, headers=bearer(seed.admin_token))
    assert response.status_code == 400
    assert response.get_json()["error"] == message
    assert _user(engine, "dairy") is None
    assert _audit(engine) == []


def test_api_refuses_an_advertiser_for_a_non_buyer(
    client: FlaskClient, seed: Seed, advertiser_id: int
):
    body = {
        "username": "m2",
        "password": "new-password-9",
        "role": "manager",
        "advertiser_id": advertiser_id,
    }
    response = client.post("/api/v1/users", json=body, headers=bearer(seed.admin_token))
    assert response.status_code == 400
    assert response.get_json()["error"] == (
        "only a buyer belongs to an advertiser; this user's role is manager"
    )


def test_a_manager_may_not_manage_users(client: FlaskClient, seed: Seed):
    headers = bearer(seed.manager_token)
    assert client.post("/api/v1/users/alice/disable", headers=headers).status_code == 403
    assert client.delete("/api/v1/users/alice", headers=headers).status_code == 403
    response = client.post(
        "/api/v1/users/alice/password", json={"password": "new-password-9"}, headers=headers
    )
    assert response.status_code == 403


def _english_client(app: Flask) -> FlaskClient:
    """A client asking for English (the seed store is Romanian), as the asserts are written."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.9"
    return client


def test_disabling_ends_sessions_and_tokens_at_once(app: Flask, seed: Seed, engine: Engine):
    browser = app.test_client()
    assert log_in(browser, *MANAGER).status_code == 302
    assert browser.get("/labels").status_code == 200
    admin = app.test_client()
    response = admin.post("/api/v1/users/bob/disable", headers=bearer(seed.admin_token))
    assert response.status_code == 200 and response.get_json()["disabled"] is True
    assert browser.get("/labels").status_code == 302  # back to the login page
    assert admin.get("/api/v1/summary", headers=bearer(seed.manager_token)).status_code == 401
    refused = log_in(_english_client(app), *MANAGER)
    assert refused.status_code == 403
    assert "This account is disabled" in refused.get_data(as_text=True)

    enabled = admin.post("/api/v1/users/bob/enable", headers=bearer(seed.admin_token))
    assert enabled.get_json()["disabled"] is False
    assert log_in(app.test_client(), *MANAGER).status_code == 302
    assert [entry.action for entry in _audit(engine)] == ["user.enable", "user.disable"]


def test_log_out_everywhere_ends_every_session_and_revokes_the_token(
    app: Flask, seed: Seed, engine: Engine
):
    phone, desk = app.test_client(), app.test_client()
    for client in (phone, desk):
        assert log_in(client, *MANAGER).status_code == 302
    response = phone.post(
        "/api/v1/users/bob/logout-all", headers={"X-CSRFToken": csrf_token_from(phone, "/")}
    )
    assert response.status_code == 200
    assert response.get_json()["has_api_token"] is False
    assert phone.get("/").status_code == 302
    assert desk.get("/").status_code == 302
    assert desk.get("/api/v1/summary", headers=bearer(seed.manager_token)).status_code == 401
    assert log_in(desk, *MANAGER).status_code == 302  # the password still works
    [entry] = _audit(engine)
    assert (entry.actor, entry.action) == ("bob", "user.logout_all")
    assert audit.detail_of(entry) == {"token_revoked": True}


def test_a_user_may_change_their_own_password_but_not_anothers(
    app: Flask, seed: Seed, engine: Engine
):
    other_session = app.test_client()
    assert log_in(other_session, *MANAGER).status_code == 302
    client = app.test_client()
    headers = bearer(seed.manager_token)
    body = {"password": "new-password-9"}
    assert client.post("/api/v1/users/alice/password", json=body, headers=headers).status_code == (
        403
    )
    assert client.post("/api/v1/users/bob/password", json=body, headers=headers).status_code == 200
    assert other_session.get("/").status_code == 302  # the other session ended
    assert log_in(app.test_client(), "bob", MANAGER[1]).status_code == 401
    assert log_in(app.test_client(), "bob", "new-password-9").status_code == 302
    short = client.post("/api/v1/users/bob/password", json={"password": "short"}, headers=headers)
    assert short.status_code == 400
    _assert_no_secret_in_audit(engine)


def test_the_last_enabled_admin_can_be_neither_disabled_nor_deleted(
    client: FlaskClient, seed: Seed, engine: Engine
):
    headers = bearer(seed.admin_token)
    for response in (
        client.post("/api/v1/users/alice/disable", headers=headers),
        client.delete("/api/v1/users/alice", headers=headers),
    ):
        assert response.status_code == 409
        assert "last enabled admin" in response.get_json()["error"]
    assert _user(engine, "alice").disabled is False
    assert _audit(engine) == []


def test_delete_removes_the_user_and_keeps_their_trail(
    client: FlaskClient, seed: Seed, engine: Engine
):
    headers = bearer(seed.admin_token)
    assert client.delete("/api/v1/users/bob", headers=headers).status_code == 204
    assert _user(engine, "bob") is None
    assert client.get("/api/v1/summary", headers=bearer(seed.manager_token)).status_code == 401
    assert client.delete("/api/v1/users/bob", headers=headers).status_code == 404
    assert [(e.action, e.target) for e in _audit(engine)] == [("user.delete", "user:bob")]


def test_user_list_shows_status_and_advertiser(
    client: FlaskClient, seed: Seed, engine: Engine, advertiser_id: int
):
    with session_scope(engine) as session:
        create_user(session, "dairy", "buyer-password-1", "buyer", advertiser_id=advertiser_id)
    items = client.get("/api/v1/users", headers=bearer(seed.admin_token)).get_json()["items"]
    by_name = {item["username"]: item for item in items}
    assert by_name["dairy"]["advertiser_id"] == advertiser_id
    assert by_name["bob"]["disabled"] is False and by_name["bob"]["has_api_token"] is True


# --- Users page and account page ---------------------------------------------------------


def _form(client: FlaskClient, path: str, **data):
    return client.post(path, data={"csrf_token": csrf_token_from(client, "/users"), **data})


def test_users_page_is_for_admins_only(client: FlaskClient, seed: Seed):
    assert log_in(client, *MANAGER).status_code == 302
    response = client.get("/users")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Only an admin may see this page." in page
    assert 'id="way-back"' in page and 'href="/"' in page


def test_admin_creates_a_buyer_on_the_users_page(
    admin_client: FlaskClient, engine: Engine, advertiser_id: int
):
    response = _form(
        admin_client,
        "/users",
        username="dairy",
        role="buyer",
        advertiser_id=str(advertiser_id),
        password="buyer-password-1",
        confirm="buyer-password-1",
    )
    assert response.status_code == 302
    page = admin_client.get("/users").get_data(as_text=True)
    assert "Created buyer dairy." in page and "of Dairy Co" in page
    assert _user(engine, "dairy").advertiser_id == advertiser_id


def test_users_page_refuses_a_buyer_without_advertiser_and_keeps_what_was_typed(
    admin_client: FlaskClient, engine: Engine, advertiser_id: int
):
    response = _form(
        admin_client,
        "/users",
        username="dairy",
        role="buyer",
        advertiser_id="",
        password="buyer-password-1",
        confirm="buyer-password-1",
    )
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Could not create the user: a buyer needs the advertiser" in page
    assert 'value="dairy"' in page
    assert _user(engine, "dairy") is None
    assert "buyer-password-1" not in page


def test_users_page_keeps_the_buyers_advertiser_when_the_passwords_differ(
    admin_client: FlaskClient, engine: Engine, advertiser_id: int
):
    response = _form(
        admin_client,
        "/users",
        username="dairy",
        role="buyer",
        advertiser_id=str(advertiser_id),
        password="buyer-password-1",
        confirm="buyer-password-2",
    )
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The two passwords differ; nothing was created." in page
    assert 'value="dairy"' in page
    assert re.search(r'<option value="buyer" selected>', page)
    assert re.search(rf'<option value="{advertiser_id}" selected>Dairy Co</option>', page)
    assert _user(engine, "dairy") is None
    assert "buyer-password" not in page


def test_users_page_actions_disable_enable_password_delete(
    admin_client: FlaskClient, engine: Engine
):
    _form(admin_client, "/users/bob/disable")
    assert _user(engine, "bob").disabled is True
    _form(admin_client, "/users/bob/enable")
    assert _user(engine, "bob").disabled is False
    _form(admin_client, "/users/bob/password", password="new-password-9", confirm="other-pass-1")
    assert "differ" in admin_client.get("/users").get_data(as_text=True)
    _form(admin_client, "/users/bob/password", password="new-password-9", confirm="new-password-9")
    _form(admin_client, "/users/bob/logout-all")
    _form(admin_client, "/users/bob/delete")
    assert _user(engine, "bob") is None
    actions = [entry.action for entry in _audit(engine)]
    assert actions == [
        "user.delete",
        "user.logout_all",
        "user.passwd",
        "user.enable",
        "user.disable",
    ]
    assert {entry.actor for entry in _audit(engine)} == {"alice"}
    _assert_no_secret_in_audit(engine)


def test_own_password_change_keeps_this_session_and_needs_the_current_one(
    app: Flask, seed: Seed, engine: Engine
):
    client, other = _english_client(app), app.test_client()
    for each in (client, other):
        assert log_in(each, *MANAGER).status_code == 302
    token = csrf_token_from(client, "/account")
    wrong = client.post(
        "/account/password",
        data={"csrf_token": token, "current": "nope", "password": "x" * 9, "confirm": "x" * 9},
        follow_redirects=True,
    )
    assert "current password is not right" in wrong.get_data(as_text=True)
    changed = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current": MANAGER[1],
            "password": "new-password-9",
            "confirm": "new-password-9",
        },
        follow_redirects=True,
    )
    assert "Your password is changed" in changed.get_data(as_text=True)
    assert client.get("/labels").status_code == 200  # this session stays
    assert other.get("/labels").status_code == 302  # the other one ended
    _assert_no_secret_in_audit(engine)


def test_audit_page_lists_changes_for_staff(admin_client: FlaskClient, engine: Engine):
    _form(admin_client, "/users/bob/logout-all")
    with session_scope(engine) as session:
        audit.record(session, actor="bob", action="label.link", target="label:L-1")
    page = admin_client.get("/audit").get_data(as_text=True)
    assert "user.logout_all" in page and "label.link" in page
    filtered = admin_client.get("/audit?family=user").get_data(as_text=True)
    assert "user.logout_all" in filtered and "label.link" not in filtered


def test_audit_page_is_not_for_machine_accounts(app: Flask, engine: Engine, seed: Seed):
    with session_scope(engine) as session:
        create_user(session, "cam-1", "sensor-password-1", "sensor")
        issue_api_token(session, "cam-1")
    client = _english_client(app)
    landing = log_in(client, "cam-1", "sensor-password-1")
    assert landing.headers["Location"] == "/account"  # their one page, not a 403
    response = client.get("/audit")
    assert response.status_code == 403
    assert "This page is for store staff." in response.get_data(as_text=True)
    assert client.get("/account").status_code == 200
