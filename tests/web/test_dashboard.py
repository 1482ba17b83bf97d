"""The manager's pages, through the Flask test client (the browser tests drive them live)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.db import session_scope
from esl_controller.models import Label, OutboxMessage
from tests.web.conftest import csrf_token_from

LABEL_LINK = re.compile(r'href="/labels/([^"?]+)"')


def _page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _outbox_count(engine: Engine, label_id: str) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).where(OutboxMessage.label_id == label_id))


def test_overview_shows_progress_and_counts(manager_client: FlaskClient):
    html = _page(manager_client, "/")
    assert re.search(r'data-field="labels.up_to_date">1<', html)
    assert re.search(r'data-field="labels.bound">4<', html)
    assert 'progress id="labels-progress" max="4" value="1"' in html
    assert re.search(r'data-field="labels.by_state.failed">1<', html)
    assert re.search(r'data-field="base_stations.offline">1<', html)
    assert re.search(r'data-field="outbox_queue">1<', html)
    assert "invalid_gtin" in html
    assert 'data-summary-url="/api/v1/summary"' in html


def test_labels_page_filters_by_state(manager_client: FlaskClient):
    html = _page(manager_client, "/labels?state=failed")
    assert LABEL_LINK.findall(html) == ["L-FAILED"]
    assert "no ack after 5 attempts" in html
    assert '<option value="failed" selected>' in html


def test_labels_page_text_search(manager_client: FlaskClient):
    assert LABEL_LINK.findall(_page(manager_client, "/labels?q=Молоко")) == ["L-SENT"]


def test_labels_page_ignores_a_bad_filter_and_says_so(manager_client: FlaskClient):
    html = _page(manager_client, "/labels?state=lost")
    assert "Ignored filter state" in html
    assert len(LABEL_LINK.findall(html)) == 5


def test_labels_page_is_paged(manager_client: FlaskClient, engine: Engine, settings):
    with session_scope(engine) as session:
        session.add_all(
            Label(
                id=f"X-{n:04d}",
                store_id=settings.store_id,
                model="2.9-bw",
                base_station_id="bs-1",
                state="acked",
            )
            for n in range(120)
        )
    first = _page(manager_client, "/labels?q=X-")
    assert len(LABEL_LINK.findall(first)) == 50
    assert "Labels 1–50 of 120" in first
    assert 'href="/labels?q=X-&amp;offset=50" rel="next"' in first
    last = _page(manager_client, "/labels?q=X-&offset=100")
    assert LABEL_LINK.findall(last) == [f"X-{n:04d}" for n in range(100, 120)]
    assert 'rel="next"' not in last
    assert 'href="/labels?q=X-&amp;offset=50" rel="prev"' in last


def test_label_page_shows_preview_details_history_and_actions(manager_client: FlaskClient):
    html = _page(manager_client, "/labels/L-FAILED")
    assert 'src="/api/v1/labels/L-FAILED/preview.png"' in html
    assert "Grüner Tee" not in html and "Cașcaval Dalia" in html
    assert "no ack after 5 attempts" in html
    assert 'action="/labels/L-FAILED/repush"' in html
    assert 'action="/labels/L-FAILED/flash"' in html
    assert html.count('name="csrf_token"') == 5  # logout, re-push, flash, link, unlink


def test_unbound_label_page_has_no_broken_image(manager_client: FlaskClient):
    html = _page(manager_client, "/labels/L-UNBOUND")
    assert "preview.png" not in html
    assert "Not bound to a product" in html


def test_unknown_label_page_is_404(manager_client: FlaskClient):
    assert manager_client.get("/labels/NOPE").status_code == 404


def test_repush_form_queues_and_flashes(manager_client: FlaskClient, engine: Engine):
    token = csrf_token_from(manager_client, "/labels/L-ACKED")
    response = manager_client.post(
        "/labels/L-ACKED/repush", data={"csrf_token": token}, follow_redirects=True
    )
    assert response.request.path == "/labels/L-ACKED"
    assert "Re-push of L-ACKED queued" in response.get_data(as_text=True)
    assert _outbox_count(engine, "L-ACKED") == 1


def test_repush_of_unbound_label_flashes_the_reason(manager_client: FlaskClient, engine):
    token = csrf_token_from(manager_client, "/labels/L-UNBOUND")
    response = manager_client.post(
        "/labels/L-UNBOUND/repush", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Could not re-push L-UNBOUND" in response.get_data(as_text=True)
    assert _outbox_count(engine, "L-UNBOUND") == 0


def test_repush_form_without_csrf_token_is_refused(manager_client: FlaskClient, engine):
    response = manager_client.post("/labels/L-ACKED/repush")
    assert response.status_code == 400
    assert _outbox_count(engine, "L-ACKED") == 0


def test_flash_form_queues_and_flashes(manager_client: FlaskClient, engine: Engine):
    token = csrf_token_from(manager_client, "/labels/L-SENT")
    response = manager_client.post(
        "/labels/L-SENT/flash",
        data={"csrf_token": token, "colour": "blue", "pattern": "solid", "seconds": "30"},
        follow_redirects=True,
    )
    assert "LED flash (blue, solid, 30 s) queued" in response.get_data(as_text=True)
    assert _outbox_count(engine, "L-SENT") == 1


def test_flash_form_with_bad_values_says_which(manager_client: FlaskClient, engine: Engine):
    token = csrf_token_from(manager_client, "/labels/L-SENT")
    response = manager_client.post(
        "/labels/L-SENT/flash",
        data={"csrf_token": token, "colour": "blue", "pattern": "solid", "seconds": "ten"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "LED flash not sent: seconds:" in html
    assert _outbox_count(engine, "L-SENT") == 0


def test_base_stations_page(manager_client: FlaskClient):
    html = _page(manager_client, "/base-stations")
    assert re.search(
        r"bs-1</a></td>\s*<td>Aisle 1</td>\s*<td>mqtt</td>\s*"
        r"<td><span class=\"badge state-acked\">online",
        html,
    )
    assert re.search(
        r"bs-2</a></td>\s*<td>Aisle 2</td>\s*<td>mqtt</td>\s*"
        r"<td><span class=\"badge state-failed\">offline",
        html,
    )


def test_incidents_page_filters_by_kind(manager_client: FlaskClient):
    html = _page(manager_client, "/incidents?kind=delivery_failed")
    assert "no ack after 5 attempts" in html
    assert "check digit" not in html
    assert re.search(r"invalid_gtin <span class=\"count\">1</span>", html)


def test_pages_carry_a_strict_content_security_policy(manager_client: FlaskClient):
    response = manager_client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in response.get_data(as_text=True)  # no inline script to allow
