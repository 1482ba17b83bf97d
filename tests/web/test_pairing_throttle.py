"""The pairing throttle: the no-login pairing endpoints limited per client address, counted in
the database so every web process agrees, while a page polling its own claim never is."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.models import LoginFailureWindow, ScreenPairing
from esl_controller.web import create_app, login_throttle, pairing_throttle, screen_pairing
from esl_controller.web.pairing_throttle import PairingCall
from tests.web.conftest import Seed, bearer

NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
REFUSAL = "Too many pairing attempts from this screen's network address."


def _client(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _new(client: FlaskClient):
    return client.post("/screen/api/pairings")


def _claim(client: FlaskClient, **body):
    return client.post("/screen/api/pairings/claim", json=body)


def _wrong_claim(client: FlaskClient, index: int):
    return _claim(client, code=f"AAAA{index:02d}", claim="not-the-secret")


def _assert_refused(response) -> None:
    assert response.status_code == 429
    body = response.get_json()
    assert body["error"].startswith(REFUSAL)
    assert "Wait " in body["error"]
    assert 1 <= int(response.headers["Retry-After"]) <= login_throttle.WINDOW_S


def _pairing_rows(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.scalars(select(ScreenPairing)).all())


def test_an_address_asking_for_code_after_code_is_refused_and_no_code_is_made(
    app: Flask, engine: Engine
) -> None:
    client = _client(app, "10.1.0.1")
    for _ in range(pairing_throttle.MAX_NEW_PAIRINGS_PER_ADDRESS):
        assert _new(client).status_code == 201
    refused = _new(client)
    _assert_refused(refused)
    assert "code" not in refused.get_json()
    assert _pairing_rows(engine) == pairing_throttle.MAX_NEW_PAIRINGS_PER_ADDRESS
    assert _new(_client(app, "10.1.0.2")).status_code == 201  # another screen is not held up


def test_failed_claims_stop_a_guesser_even_when_it_then_guesses_right(
    app: Flask, seed: Seed
) -> None:
    screen = _client(app, "10.1.1.1")
    pending = _new(screen).get_json()
    body = {"code": pending["code"], "id": "dairy-1", "name": "Dairy", "zone": "dairy"}
    assert (
        app.test_client()
        .post("/api/v1/players/pair", json=body, headers=bearer(seed.manager_token))
        .status_code
        == 200
    )
    guesser = _client(app, "10.1.1.2")
    for index in range(pairing_throttle.MAX_FAILED_CLAIMS_PER_ADDRESS):
        assert _wrong_claim(guesser, index).status_code == 410
    assert _claim(guesser, link="a-guessed-link").status_code == 429
    # Even the right secrets are not looked at from that address: nothing is handed out.
    refused = _claim(guesser, code=pending["code"], claim=pending["claim"])
    _assert_refused(refused)
    assert "token" not in refused.get_json()
    # The screen itself, at its own address, still collects its credential.
    collected = _claim(screen, code=pending["code"], claim=pending["claim"])
    assert collected.status_code == 200
    assert collected.get_json()["player"] == "dairy-1"


def test_a_page_polling_its_claim_for_the_codes_whole_lifetime_is_never_limited(
    app: Flask, seed: Seed
) -> None:
    page = _client(app, "10.1.2.1")
    pending = _new(page).get_json()
    # The page polls every 1.5 s for the code's 10 minutes: 400 claims, far over the limit.
    polls = int(screen_pairing.CODE_TTL.total_seconds() / 1.5)
    assert polls > 10 * pairing_throttle.MAX_FAILED_CLAIMS_PER_ADDRESS
    for _ in range(polls):
        assert _claim(page, code=pending["code"], claim=pending["claim"]).status_code == 202
    body = {"code": pending["code"], "id": "dairy-2", "name": "Dairy", "zone": "dairy"}
    app.test_client().post("/api/v1/players/pair", json=body, headers=bearer(seed.manager_token))
    assert _claim(page, code=pending["code"], claim=pending["claim"]).status_code == 200


def test_a_page_whose_codes_keep_expiring_is_never_limited(app: Flask, engine: Engine) -> None:
    page = _client(app, "10.1.3.1")
    # A window of 15 minutes sees at most two codes expire on one page; here ten do.
    for _ in range(10):
        pending = _new(page).get_json()
        with Session(engine) as session:
            row = session.get(ScreenPairing, pending["code"])
            assert row is not None
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
            session.add(row)
            session.commit()
        assert _claim(page, code=pending["code"], claim=pending["claim"]).status_code == 410
    assert _new(page).status_code == 201


def test_every_web_process_sees_the_same_count(
    app: Flask, settings: Settings, engine: Engine
) -> None:
    second_process = create_app(settings, engine)
    second_process.config["TESTING"] = True
    for index in range(pairing_throttle.MAX_FAILED_CLAIMS_PER_ADDRESS):
        serving = app if index % 2 == 0 else second_process
        assert _wrong_claim(_client(serving, "10.1.4.1"), index).status_code == 410
    _assert_refused(_wrong_claim(_client(second_process, "10.1.4.1"), 99))
    _assert_refused(_wrong_claim(_client(app, "10.1.4.1"), 99))


def test_the_window_ends(engine: Engine) -> None:
    for _ in range(pairing_throttle.MAX_NEW_PAIRINGS_PER_ADDRESS + 1):
        counted = pairing_throttle.begin(engine, PairingCall.NEW, "10.1.5.1", NOON)
    assert not counted.allowed
    later = NOON + timedelta(seconds=login_throttle.WINDOW_S)
    assert pairing_throttle.begin(engine, PairingCall.NEW, "10.1.5.1", later).allowed


def test_the_login_throttle_and_this_one_count_apart(engine: Engine) -> None:
    for _ in range(pairing_throttle.MAX_NEW_PAIRINGS_PER_ADDRESS + 1):
        pairing_throttle.begin(engine, PairingCall.NEW, "10.1.6.1", NOON)
    assert login_throttle.begin(engine, "bob", "10.1.6.1", NOON).allowed
    assert pairing_throttle.begin(engine, PairingCall.CLAIM, "10.1.6.1", NOON).allowed
    with Session(engine) as session:
        keys = set(session.scalars(select(LoginFailureWindow.key)))
    assert keys == {"pair-new:10.1.6.1", "pair-claim:10.1.6.1", "user:bob", "addr:10.1.6.1"}


def _count_in_parallel(engine: Engine, threads: int) -> list[bool]:
    results: list[bool] = []
    lock = threading.Lock()

    def attempt() -> None:
        counted = pairing_throttle.begin(engine, PairingCall.CLAIM, "10.1.7.1", NOON)
        with lock:
            results.append(counted.allowed)

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def test_parallel_requests_cannot_pass_the_limit_on_sqlite(engine: Engine) -> None:
    results = _count_in_parallel(engine, pairing_throttle.MAX_FAILED_CLAIMS_PER_ADDRESS + 6)
    assert results.count(True) == pairing_throttle.MAX_FAILED_CLAIMS_PER_ADDRESS


def test_parallel_requests_cannot_pass_the_limit_on_postgresql(pg_engine: Engine) -> None:
    results = _count_in_parallel(pg_engine, pairing_throttle.MAX_FAILED_CLAIMS_PER_ADDRESS + 6)
    assert results.count(True) == pairing_throttle.MAX_FAILED_CLAIMS_PER_ADDRESS


def test_the_refusal_says_how_long_to_wait() -> None:
    counted = pairing_throttle.Counted(False, "pair-new:x", 0, 61)
    assert pairing_throttle.refusal_message(counted) == (f"{REFUSAL} Wait 2 minutes and try again.")
