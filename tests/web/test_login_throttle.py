"""The login throttle: per username and per client address, counted in the database so all
web processes agree, with one message whether or not the username exists."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine

from esl_controller.config import Settings
from esl_controller.web import create_app, login_throttle
from tests.web.conftest import ADMIN, MANAGER, Seed, csrf_token_from

REFUSAL = "Too many failed logins."
NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _attempt(client: FlaskClient, username: str, password: str):
    token = csrf_token_from(client)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def _client(app: Flask, address: str = "127.0.0.1") -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.9"  # the words asserted below
    return client


@pytest.mark.parametrize("username", ["bob", "nobody"])
def test_a_username_is_locked_after_repeated_failures_known_or_not(app: Flask, username: str):
    client = _client(app, "10.0.0.1")
    for _ in range(login_throttle.MAX_FAILURES_PER_USERNAME):
        assert _attempt(client, username, "wrong-password").status_code == 401
    refused = _attempt(client, username, MANAGER[1] if username == "bob" else "whatever-1")
    assert refused.status_code == 429
    assert REFUSAL in refused.get_data(as_text=True)
    assert "Wrong username or password" not in refused.get_data(as_text=True)
    assert 1 <= int(refused.headers["Retry-After"]) <= login_throttle.WINDOW_S
    # Another user from another address is not held up by this one's guesser.
    assert _attempt(_client(app, "10.0.0.2"), *ADMIN).status_code == 302


def test_the_lock_holds_from_another_address_and_the_right_password(app: Flask):
    for index in range(login_throttle.MAX_FAILURES_PER_USERNAME):
        assert _attempt(_client(app, f"10.0.1.{index}"), "bob", "wrong-password").status_code == 401
    assert _attempt(_client(app, "10.0.2.1"), *MANAGER).status_code == 429


def test_an_address_is_locked_after_failures_over_many_usernames(app: Flask):
    client = _client(app, "10.0.3.1")
    for index in range(login_throttle.MAX_FAILURES_PER_ADDRESS):
        assert _attempt(client, f"guess-{index}", "wrong-password").status_code == 401
    assert _attempt(client, *MANAGER).status_code == 429
    assert _attempt(_client(app, "10.0.3.2"), *MANAGER).status_code == 302


def test_a_good_login_forgets_the_usernames_failures(app: Flask):
    client = _client(app, "10.0.4.1")
    below_limit = login_throttle.MAX_FAILURES_PER_USERNAME - 1
    for _ in range(below_limit):
        assert _attempt(client, "bob", "wrong-password").status_code == 401
    assert _attempt(client, *MANAGER).status_code == 302
    other = _client(app, "10.0.4.2")
    for _ in range(below_limit):
        assert _attempt(other, "bob", "wrong-password").status_code == 401
    assert _attempt(other, *MANAGER).status_code == 302


def test_every_web_process_sees_the_same_count(
    app: Flask, settings: Settings, engine: Engine, seed: Seed
):
    second_process = create_app(settings, engine)
    second_process.config["TESTING"] = True
    for index in range(login_throttle.MAX_FAILURES_PER_USERNAME):
        serving = app if index % 2 == 0 else second_process
        assert _attempt(_client(serving), "bob", "wrong-password").status_code == 401
    assert _attempt(_client(second_process), *MANAGER).status_code == 429
    assert _attempt(_client(app), *MANAGER).status_code == 429


def test_the_window_ends(engine: Engine):
    for _ in range(login_throttle.MAX_FAILURES_PER_USERNAME + 1):
        attempt = login_throttle.begin(engine, "bob", "10.0.5.1", NOON)
    assert not attempt.allowed
    later = NOON + timedelta(seconds=login_throttle.WINDOW_S)
    assert login_throttle.begin(engine, "bob", "10.0.5.1", later).allowed


def test_the_refusal_says_how_long_to_wait():
    attempt = login_throttle.Attempt(False, ("user:bob", "addr:x"), 0, 61)
    assert login_throttle.refusal_message(attempt) == (
        "Too many failed logins. Wait 2 minutes and try again."
    )


def _count_in_parallel(engine: Engine, threads: int) -> list[bool]:
    results: list[bool] = []
    lock = threading.Lock()

    def attempt() -> None:
        outcome = login_throttle.begin(engine, "bob", "10.0.6.1", NOON)
        with lock:
            results.append(outcome.allowed)

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def test_parallel_guesses_cannot_pass_the_limit_on_sqlite(engine: Engine):
    results = _count_in_parallel(engine, 12)
    assert results.count(True) == login_throttle.MAX_FAILURES_PER_USERNAME


def test_parallel_guesses_cannot_pass_the_limit_on_postgresql(pg_engine: Engine):
    results = _count_in_parallel(pg_engine, 12)
    assert results.count(True) == login_throttle.MAX_FAILURES_PER_USERNAME


def test_ended_windows_are_deleted_whoever_they_counted(engine: Engine):
    from sqlalchemy import select
    from sqlmodel import Session

    from esl_controller.models import LoginFailureWindow

    for index in range(3):
        login_throttle.begin(engine, f"guess-{index}", f"10.0.7.{index}", NOON)
    later = NOON + timedelta(seconds=login_throttle.WINDOW_S)
    login_throttle.begin(engine, "bob", "10.0.7.9", later)
    with Session(engine) as session:
        keys = sorted(session.scalars(select(LoginFailureWindow.key)))
    assert keys == ["addr:10.0.7.9", "user:bob"]


@pytest.mark.parametrize("trusted_proxies", [0, 1])
def test_behind_a_trusted_proxy_each_client_is_counted_apart(
    settings: Settings, engine: Engine, seed: Seed, trusted_proxies: int
):
    """One reverse proxy in front: the guesser is held by the address the proxy saw, not the
    proxy's own; with no proxy trusted, the header is ignored (a client cannot forge it)."""
    proxied = create_app(settings.with_overrides(trusted_proxies=trusted_proxies), engine)
    proxied.config["TESTING"] = True

    def via_proxy(client_address: str) -> FlaskClient:
        client = _client(proxied, "192.168.1.1")  # the proxy
        client.environ_base["HTTP_X_FORWARDED_FOR"] = client_address
        return client

    guesser = via_proxy("10.0.6.1")
    for index in range(login_throttle.MAX_FAILURES_PER_ADDRESS):
        assert _attempt(guesser, f"guess-{index}", "wrong-password").status_code == 401
    assert _attempt(guesser, *MANAGER).status_code == 429
    other_client = _attempt(via_proxy("10.0.6.2"), *MANAGER).status_code
    assert other_client == (302 if trusted_proxies else 429)
