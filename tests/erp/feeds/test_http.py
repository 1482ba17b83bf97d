"""The ERP session against a real local HTTP server, so urllib3's own retry path runs
(responses replaces the adapter and never sleeps, so it cannot show Retry-After honoured)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import urllib3.util.retry

from esl_controller.config import Settings
from esl_controller.erp.feeds.base import FeedError
from esl_controller.erp.feeds.http import make_session, send


class ScriptedERP(BaseHTTPRequestHandler):
    """Answers each request with the next (status, headers) of `script`, then 200."""

    script: ClassVar[list[tuple[int, dict[str, str]]]] = []
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append(dict(self.headers))
        status, headers = self.script.pop(0) if self.script else (200, {})
        body = b'{"ok": true}'
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def erp_url() -> Iterator[str]:
    ScriptedERP.script, ScriptedERP.seen = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedERP)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every sleep urllib3's Retry asks for, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", recorded.append)
    return recorded


def settings(url: str, token: str = "tok") -> Settings:
    return Settings(erp_url=url, erp_token=token, erp_timeout_s=3.0)


def test_retry_after_is_honoured(erp_url: str, sleeps: list[float]) -> None:
    ScriptedERP.script = [(429, {"Retry-After": "1"})]
    session = make_session(settings(erp_url), backoff_factor=0, backoff_jitter=0)
    response = send(session, "GET", f"{erp_url}/products", what="products page 1")
    assert response.json() == {"ok": True}
    assert len(ScriptedERP.seen) == 2
    assert sleeps == [1.0]


def test_503_503_200_backs_off_between_tries(erp_url: str, sleeps: list[float]) -> None:
    ScriptedERP.script = [(503, {}), (503, {})]
    session = make_session(settings(erp_url), backoff_factor=0.5, backoff_jitter=0.3)
    assert send(session, "GET", f"{erp_url}/products", what="products").status_code == 200
    assert len(ScriptedERP.seen) == 3
    # urllib3 skips the backoff before the first retry, then waits factor * 2**(n-1) + jitter
    assert len(sleeps) == 1
    assert 1.0 <= sleeps[0] <= 1.3


def test_401_is_not_retried(erp_url: str, sleeps: list[float]) -> None:
    ScriptedERP.script = [(401, {})]
    session = make_session(settings(erp_url), backoff_factor=0)
    with pytest.raises(FeedError, match=r"ERP refused the credentials \(401\)"):
        send(session, "GET", f"{erp_url}/products", what="products")
    assert len(ScriptedERP.seen) == 1
    assert sleeps == []


def test_the_bearer_token_and_user_agent_are_sent(erp_url: str) -> None:
    send(make_session(settings(erp_url, token="s3cret")), "GET", erp_url, what="x")
    assert ScriptedERP.seen[0]["Authorization"] == "Bearer s3cret"
    assert ScriptedERP.seen[0]["User-Agent"] == "esl-controller"


def test_no_token_sends_no_authorization(erp_url: str) -> None:
    send(make_session(settings(erp_url, token="")), "GET", erp_url, what="x")
    assert "Authorization" not in ScriptedERP.seen[0]


def test_every_request_gets_the_default_timeout() -> None:
    session = make_session(settings("http://unused"))
    assert session.default_timeout_s == 3.0  # type: ignore[attr-defined]


def test_a_refused_connection_is_a_feed_error() -> None:
    session = make_session(settings("http://127.0.0.1:9"), retries=0)
    with pytest.raises(FeedError, match="products page 1: cannot reach the ERP"):
        send(session, "GET", "http://127.0.0.1:9/products", what="products page 1")


def test_a_long_retry_after_is_capped_by_the_setting(erp_url: str, sleeps: list[float]) -> None:
    ScriptedERP.script = [(503, {"Retry-After": "3600"}), (429, {"Retry-After": "86400"})]
    capped = Settings(erp_url=erp_url, erp_timeout_s=3.0, erp_retry_after_max_s=5.0)
    session = make_session(capped, backoff_factor=0, backoff_jitter=0)
    assert send(session, "GET", f"{erp_url}/products", what="products").status_code == 200
    assert len(ScriptedERP.seen) == 3
    assert sleeps == [5.0, 5.0]  # the cap survives urllib3 copying the Retry per attempt


def test_a_retry_after_date_is_capped_too(erp_url: str, sleeps: list[float]) -> None:
    ScriptedERP.script = [(503, {"Retry-After": "Fri, 31 Dec 2100 23:59:59 GMT"})]
    capped = Settings(erp_url=erp_url, erp_timeout_s=3.0, erp_retry_after_max_s=2.0)
    send(make_session(capped, backoff_factor=0), "GET", erp_url, what="x")
    assert sleeps == [2.0]


class SilentERP(BaseHTTPRequestHandler):
    """Accepts the request and never answers until told to: a hung ERP."""

    release = threading.Event()

    def do_GET(self) -> None:
        self.release.wait(10)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hung_erp_url() -> Iterator[str]:
    SilentERP.release = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), SilentERP)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    SilentERP.release.set()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("retries", [0, 2])
def test_a_timeout_is_reported_as_a_timeout(hung_erp_url: str, retries: int, sleeps) -> None:
    quick = Settings(erp_url=hung_erp_url, erp_timeout_s=0.2)
    session = make_session(quick, retries=retries, backoff_factor=0)
    with pytest.raises(FeedError, match=r"products page 1: the ERP timed out after 0\.2 s at"):
        send(session, "GET", f"{hung_erp_url}/products", what="products page 1")
