"""Logins, tokens, roles and CSRF: who gets in, and what a forged request meets."""

from __future__ import annotations

import hashlib
import stat

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.models import User
from esl_controller.web import SECRET_KEY_FILE, create_app
from esl_controller.web.auth import (
    UserError,
    authenticate_token,
    create_user,
    issue_api_token,
)
from tests.web.conftest import ADMIN, MANAGER, Seed, bearer, csrf_token_from, log_in

# media.media: content-addressed files for players, which are screens, not users
PUBLIC_ENDPOINTS = {"static", "auth.login", "healthz", "api.healthz", "media.media"}
PUBLIC_ENDPOINTS |= {"screen_slides.font"}  # the label's open-licensed fonts, for screens
# A new screen asks for its pairing code before anyone has logged in there (no store data).
PUBLIC_ENDPOINTS |= {"screens.screen", "screens.service_worker", "screen_api.new_pairing"}
# Pages for screens answer a missing credential as the API does (401), never with a login form.
MACHINE_PREFIXES = ("/api/", "/screen/slide/", "/screen/api/")


def test_login_lands_on_the_overview_with_a_hardened_cookie(client: FlaskClient):
    response = log_in(client, *MANAGER)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    page = client.get("/")
    assert page.status_code == 200
    assert "bob (manager)" in page.get_data(as_text=True)


@pytest.mark.parametrize("username", ["bob", "nobody"])
def test_wrong_password_or_unknown_user_is_refused_alike(client: FlaskClient, username: str):
    response = log_in(client, username, "not-the-password")
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_logout_ends_the_session(manager_client: FlaskClient):
    token = csrf_token_from(manager_client, "/")
    response = manager_client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert manager_client.get("/").status_code == 302
    assert manager_client.get("/api/v1/summary").status_code == 401


def test_login_and_logout_forms_without_csrf_token_are_rejected(client: FlaskClient):
    response = client.post("/login", data={"username": MANAGER[0], "password": MANAGER[1]})
    assert response.status_code == 400
    assert client.get("/").status_code == 302
    log_in(client, *MANAGER)
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still logged in


def test_dashboard_redirects_to_login_and_back(client: FlaskClient):
    response = client.get("/labels?state=failed")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    back = log_in(client, *MANAGER, next_path="/labels?state=failed")
    assert back.headers["Location"] == "/labels?state=failed"


@pytest.mark.parametrize(
    "target", ["//evil.example/", "/\\evil.example/", "https://evil.example/", "javascript:x"]
)
def test_login_never_redirects_off_site(client: FlaskClient, target: str):
    response = log_in(client, *MANAGER, next_path=target)
    assert response.headers["Location"] == "/"


def test_every_route_but_login_health_and_static_needs_a_login(app: Flask, client: FlaskClient):
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        path = (
            rule.rule.replace("<label_id>", "L-ACKED")
            .replace("<username>", "bob")
            .replace("<int:run_id>", "1")
            .replace("<int:campaign_id>", "1")
        )
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            if rule.rule.startswith(MACHINE_PREFIXES):
                # anonymous API writes stop at CSRF (400) or at auth (401); never succeed
                assert response.status_code in (400, 401), (method, path)
            elif method == "GET":
                assert response.status_code == 302, path
                assert response.headers["Location"].startswith("/login")
            else:
                assert response.status_code in (302, 400), (method, path)
            checked += 1
    assert checked >= 15


def test_api_without_credentials_is_401_json_with_challenge(client: FlaskClient, seed: Seed):
    response = client.get("/api/v1/labels")
    assert response.status_code == 401
    assert "Bearer" in response.headers["WWW-Authenticate"]
    assert "authentication required" in response.get_json()["error"]


@pytest.mark.parametrize(
    "header", ["Bearer wrong-token", "Bearer ", "Basic Ym9iOmJvYi1wYXNzd29yZC0x", "bearer"]
)
def test_api_bad_credentials_are_401(client: FlaskClient, seed: Seed, header: str):
    response = client.get("/api/v1/summary", headers={"Authorization": header})
    assert response.status_code == 401


def test_a_bad_bearer_header_is_not_rescued_by_a_session_cookie(manager_client: FlaskClient):
    response = manager_client.get("/api/v1/summary", headers=bearer("wrong-token"))
    assert response.status_code == 401


def test_api_accepts_the_session_cookie_for_reads(manager_client: FlaskClient):
    assert manager_client.get("/api/v1/summary").status_code == 200


def test_cookie_api_post_needs_the_csrf_header(manager_client: FlaskClient):
    refused = manager_client.post("/api/v1/labels/L-ACKED/repush")
    assert refused.status_code == 400
    assert "CSRF" in refused.get_json()["error"]
    token = csrf_token_from(manager_client, "/")
    accepted = manager_client.post("/api/v1/labels/L-ACKED/repush", headers={"X-CSRFToken": token})
    assert accepted.status_code == 202


def test_bearer_api_post_needs_no_csrf(client: FlaskClient, seed: Seed):
    response = client.post("/api/v1/labels/L-ACKED/repush", headers=bearer(seed.manager_token))
    assert response.status_code == 202


def test_role_check_applies_to_session_users_too(manager_client: FlaskClient):
    assert manager_client.get("/api/v1/users").status_code == 403


def test_admin_session_may_list_users(client: FlaskClient):
    log_in(client, *ADMIN)
    assert client.get("/api/v1/users").status_code == 200


# --- users and tokens as functions ----------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("bob", "long-enough", "manager", "already exists"),
        ("new", "short", "manager", "at least 8"),
        ("new", "long-enough", "superuser", "role must be one of admin, manager"),
        ("", "long-enough", "manager", "username must be"),
        ("a/b", "long-enough", "manager", "username must be"),
    ],
)
def test_create_user_rejects_with_a_reason(
    engine: Engine, seed: Seed, username: str, password: str, role: str, message: str
):
    with Session(engine) as session, pytest.raises(UserError, match=message):
        create_user(session, username, password, role)


def test_create_user_stores_a_hash_not_the_password(engine: Engine, seed: Seed):
    with Session(engine) as session:
        user = create_user(session, "carol", "carol-secret-9", "admin")
        assert user.password_hash != "carol-secret-9"
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_api_token_is_stored_only_as_its_sha256(engine: Engine, seed: Seed):
    with Session(engine) as session:
        token = issue_api_token(session, "bob")
        session.commit()
        stored = session.scalars(select(User.api_token_hash).where(User.username == "bob")).one()
        assert stored == hashlib.sha256(token.encode()).hexdigest()
        assert token not in stored
        found = authenticate_token(session, token)
        assert found is not None and found.username == "bob"
        assert authenticate_token(session, token + "x") is None
        assert authenticate_token(session, "") is None
        assert authenticate_token(session, seed.manager_token) is None  # replaced
    with Session(engine) as session, pytest.raises(LookupError):
        issue_api_token(session, "nobody")


# --- secret key -----------------------------------------------------------------------


def test_secret_key_is_generated_once_and_kept_private(settings: Settings, engine: Engine):
    keyless = settings.with_overrides(secret_key="")
    first = create_app(keyless, engine)
    key_file = keyless.data_dir / SECRET_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.secret_key) >= 32
    assert create_app(keyless, engine).secret_key == first.secret_key


def test_session_survives_a_restart_with_the_stored_key(
    settings: Settings, engine: Engine, seed: Seed
):
    keyless = settings.with_overrides(secret_key="")
    client = create_app(keyless, engine).test_client()
    assert log_in(client, *MANAGER).status_code == 302
    restarted = create_app(keyless, engine).test_client()
    session_cookie = client.get_cookie("session")
    assert session_cookie is not None
    restarted.set_cookie("session", session_cookie.value)
    assert restarted.get("/").status_code == 200


def test_explicit_secret_key_wins(settings: Settings, engine: Engine):
    app = create_app(settings, engine)
    assert app.secret_key == "test-secret"
    assert not (settings.data_dir / SECRET_KEY_FILE).exists()
