"""Not-found and server-error answers: styled pages with a way back to the user's start page,
JSON under /api/; a crash shows nothing of its cause."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.web.conftest import log_in


@pytest.fixture
def crashing_app(app: Flask) -> Flask:
    """The app with a page and an API route that raise, answered as production would."""

    def crash():
        raise RuntimeError("secret cause: shopper@example.com")

    app.add_url_rule("/test-crash", "test_crash", crash)
    app.add_url_rule("/api/v1/test-crash", "test_api_crash", crash)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_an_unknown_page_is_a_styled_404_with_a_way_back_to_the_overview(admin_client):
    response = admin_client.get("/no-such-page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html
    assert 'id="way-back"' in html and 'href="/"' in html
    assert 'href="#content"' in html  # the page keeps the skip link and the menu


def test_a_logged_out_visitor_is_pointed_to_the_login_page(client):
    html = client.get("/no-such-page").get_data(as_text=True)
    assert "Page not found" in html
    assert 'href="/login" id="way-back"' in html


def test_an_unknown_api_path_is_json(admin_client):
    response = admin_client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.is_json and "error" in response.get_json()


def test_a_crash_is_a_styled_500_that_shows_nothing_of_its_cause(crashing_app, client):
    assert log_in(client, "alice", "alice-password-1").status_code == 302
    response = client.get("/test-crash")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong" in html
    assert 'id="way-back"' in html and 'href="/"' in html
    assert "shopper@example.com" not in html and "secret cause" not in html


def test_a_crash_under_the_api_is_json_without_its_cause(crashing_app):
    response = crashing_app.test_client().get("/api/v1/test-crash")
    assert response.status_code == 500
    assert response.get_json() == {"error": "Internal server error."}
