"""The ERP sync pages and their JSON API, through the Flask test client.

Runs and dead letters are seeded directly: the web process only reads them and writes
requested runs (the worker runs the sync)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.models import DeadLetter, SyncRun
from tests.web.conftest import Seed, bearer, csrf_token_from

RUN_LINK = re.compile(r'href="/sync/(\d+)">#')
ALERT = "refused to delist 300 of 300 products: more than the safety ratio of 20 %"


@dataclass(frozen=True)
class Runs:
    succeeded: int
    failed: int  # with 3 dead letters and an alert
    running: int | None = None


def _add_runs(engine: Engine, *, running: bool = False) -> Runs:
    start = utcnow() - timedelta(hours=2)
    with session_scope(engine) as session:
        succeeded = SyncRun(
            feed="json",
            trigger="schedule",
            status="succeeded",
            full=False,
            started_at=start,
            finished_at=start + timedelta(seconds=4.2),
            pages_done=2,
            fetched=812,
            changed=9,
            unchanged=803,
            rejected=0,
            labels_rendered=9,
        )
        failed = SyncRun(
            feed="json",
            trigger="manual",
            status="failed",
            started_at=start + timedelta(hours=1),
            finished_at=start + timedelta(hours=1, seconds=3),
            fetched=0,
            rejected=3,
            alert=ALERT,
            error="ERP answered 503 three times",
        )
        session.add_all([succeeded, failed])
        session.flush()
        session.add_all(
            [
                DeadLetter(
                    run_id=failed.id,
                    kind="product",
                    record_key="5940000000018",
                    field="gtin",
                    reason="check digit is 8, expected 7",
                    raw=json.dumps({"gtin": "5940000000018", "price": "3.49"}),
                ),
                DeadLetter(
                    run_id=failed.id,
                    kind="product",
                    record_key="5940000000025",
                    field="price",
                    reason="12.999 has 3 decimals; RON allows 2",
                ),
                DeadLetter(
                    run_id=failed.id,
                    kind="promotion",
                    record_key="PR-1007",
                    field="ends_at",
                    reason="ends before it starts",
                ),
            ]
        )
        running_id = None
        if running:
            running_run = SyncRun(
                feed="json",
                status="running",
                started_at=utcnow(),
                phase="products",
                pages_done=3,
                fetched=1500,
            )
            session.add(running_run)
            session.flush()
            running_id = running_run.id
        return Runs(succeeded=succeeded.id, failed=failed.id, running=running_id)


@pytest.fixture
def runs(engine: Engine, seed: Seed) -> Runs:
    return _add_runs(engine)


def _html(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _all_runs(engine: Engine) -> list[SyncRun]:
    with Session(engine) as session:
        return list(session.scalars(select(SyncRun).order_by(SyncRun.id)))


def _post_form(client: FlaskClient, path: str, page: str = "/sync"):
    return client.post(path, data={"csrf_token": csrf_token_from(client, page)})


# --- pages -------------------------------------------------------------------------------


def test_nav_links_to_sync(manager_client: FlaskClient):
    assert '<a href="/sync"' in _html(manager_client, "/")


def test_sync_pages_need_a_login(client: FlaskClient, runs: Runs):
    for path in ("/sync", f"/sync/{runs.failed}"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_runs_page_lists_runs_newest_first_with_counts(manager_client: FlaskClient, runs: Runs):
    html = _html(manager_client, "/sync")
    assert RUN_LINK.findall(html) == [str(runs.failed), str(runs.succeeded)]
    succeeded_row = re.search(rf'id="sync-run-{runs.succeeded}".*?</tr>', html, re.S).group(0)
    assert "4.2 s" in succeeded_row
    assert "incremental" in succeeded_row
    assert re.search(r'data-field="fetched">812<', succeeded_row)
    assert re.search(r'data-field="labels_rendered">9<', succeeded_row)
    failed_row = re.search(rf'id="sync-run-{runs.failed}".*?</tr>', html, re.S).group(0)
    assert "ERP answered 503 three times" in failed_row
    assert f'href="/sync/{runs.failed}#dead-letters">3<' in failed_row


def test_the_newest_runs_alert_is_prominent(manager_client: FlaskClient, runs: Runs):
    html = _html(manager_client, "/sync")
    assert re.search(
        rf'class="alert" role="alert"[^>]*>Sync #{runs.failed}: {re.escape(ALERT)}', html
    )


def test_a_running_run_shows_progress_and_refreshes(
    manager_client: FlaskClient, engine: Engine, seed: Seed
):
    runs = _add_runs(engine, running=True)
    html = _html(manager_client, "/sync")
    row = re.search(rf'id="sync-run-{runs.running}"[^>]*>', html).group(0)
    assert f'data-run-url="/api/v1/sync-runs/{runs.running}?limit=1"' in row
    assert 'data-status="running"' in row
    assert re.search(r'page <span data-field="pages_done">3</span>', html)
    assert "sync.js" in html
    assert f'Sync <a href="/sync/{runs.running}">#{runs.running}</a> is running' in html
    # finished runs are not polled
    assert f'id="sync-run-{runs.failed}" data-run-url' not in html


def test_runs_page_is_paged(manager_client: FlaskClient, engine: Engine, seed: Seed):
    with session_scope(engine) as session:
        session.add_all(SyncRun(feed="json", status="succeeded") for _ in range(30))
    first = _html(manager_client, "/sync")
    assert len(RUN_LINK.findall(first)) == 25
    assert 'rel="next"' in first
    second = _html(manager_client, "/sync?offset=25")
    assert len(RUN_LINK.findall(second)) == 5
    assert set(RUN_LINK.findall(first)).isdisjoint(RUN_LINK.findall(second))


def test_runs_page_filters_by_status(manager_client: FlaskClient, runs: Runs):
    assert RUN_LINK.findall(_html(manager_client, "/sync?status=failed")) == [str(runs.failed)]
    assert "Ignored filter status" in _html(manager_client, "/sync?status=lost")


def test_sync_now_requests_a_manual_run(
    manager_client: FlaskClient, engine: Engine, settings: Settings, runs: Runs
):
    response = _post_form(manager_client, "/sync")
    assert response.status_code == 302
    newest = _all_runs(engine)[-1]
    assert (newest.status, newest.trigger, newest.feed, newest.full) == (
        "requested",
        "manual",
        settings.erp_feed,
        True,
    )
    html = _html(manager_client, "/sync")
    assert f"Sync #{newest.id} requested" in html
    assert f'data-run-url="/api/v1/sync-runs/{newest.id}?limit=1"' in html


def test_sync_now_refuses_a_second_request(manager_client: FlaskClient, engine: Engine, runs: Runs):
    _post_form(manager_client, "/sync")
    count = len(_all_runs(engine))
    _post_form(manager_client, "/sync")
    assert len(_all_runs(engine)) == count
    assert "is already requested; wait for it to finish" in _html(manager_client, "/sync")


def test_sync_now_without_csrf_token_is_refused(
    manager_client: FlaskClient, engine: Engine, runs: Runs
):
    assert manager_client.post("/sync").status_code == 400
    assert len(_all_runs(engine)) == 2


def test_run_page_shows_the_run_and_its_dead_letters(manager_client: FlaskClient, runs: Runs):
    html = _html(manager_client, f"/sync/{runs.failed}")
    assert "Rejected records (3)" in html
    table = re.search(r'id="dead-letters-table".*?</table>', html, re.S).group(0)
    assert table.count("<tr>") == 4  # header and three letters
    for expected in ("5940000000018", "check digit is 8, expected 7", "PR-1007", "ends_at"):
        assert expected in table
    assert "&#34;price&#34;: &#34;3.49&#34;" in table  # the raw record, escaped
    assert 'role="alert"' in html and ALERT in html
    assert 'id="rerun"' in html
    assert "data-run-url" not in html  # a finished run is not polled


def test_a_chain_feed_run_shows_the_other_stores_records_it_passed_over(
    manager_client: FlaskClient, engine: Engine, runs: Runs
):
    assert "other_stores" not in _html(manager_client, f"/sync/{runs.failed}")
    with session_scope(engine) as session:
        session.get(SyncRun, runs.failed).other_stores = 1234
    html = _html(manager_client, f"/sync/{runs.failed}")
    tile = re.search(r'data-field="other_stores">(\d+)<', html)
    assert tile is not None and tile.group(1) == "1234"
    assert re.search(r"other stores(&#39;|') records", html)


def test_dead_letters_are_paged(manager_client: FlaskClient, engine: Engine, runs: Runs):
    with session_scope(engine) as session:
        session.add_all(
            DeadLetter(run_id=runs.failed, record_key=f"row {n}", reason="bad") for n in range(60)
        )
    first = _html(manager_client, f"/sync/{runs.failed}")
    assert "Rejected records (63)" in first
    assert first.count("<tr>") == 51
    assert f'href="/sync/{runs.failed}?offset=50" rel="next"' in first
    assert _html(manager_client, f"/sync/{runs.failed}?offset=50").count("<tr>") == 14


def test_succeeded_run_has_no_rerun_button(manager_client: FlaskClient, runs: Runs):
    html = _html(manager_client, f"/sync/{runs.succeeded}")
    assert 'id="rerun"' not in html
    assert "No record was rejected." in html


def test_rerun_requests_a_retry_of_the_failed_run(
    manager_client: FlaskClient, engine: Engine, runs: Runs
):
    response = _post_form(manager_client, f"/sync/{runs.failed}/retry", f"/sync/{runs.failed}")
    retry = _all_runs(engine)[-1]
    assert response.headers["Location"] == f"/sync/{retry.id}"
    assert (retry.status, retry.trigger, retry.retry_of, retry.full) == (
        "requested",
        "retry",
        runs.failed,
        True,
    )
    html = _html(manager_client, f"/sync/{retry.id}")
    assert f"Re-run of #{runs.failed} requested as sync #{retry.id}" in html
    assert f'href="/sync/{runs.failed}">#{runs.failed}</a>' in html


def test_rerun_of_a_succeeded_run_is_refused(
    manager_client: FlaskClient, engine: Engine, runs: Runs
):
    _post_form(manager_client, f"/sync/{runs.succeeded}/retry")
    assert len(_all_runs(engine)) == 2
    html = _html(manager_client, f"/sync/{runs.succeeded}")
    assert "only a failed or skipped run is re-run" in html


def test_unknown_run_is_404(manager_client: FlaskClient, runs: Runs):
    assert manager_client.get("/sync/999").status_code == 404
    assert _post_form(manager_client, "/sync/999/retry").status_code == 404


# --- API ---------------------------------------------------------------------------------


def test_api_lists_runs_newest_first(client: FlaskClient, seed: Seed, runs: Runs):
    response = client.get("/api/v1/sync-runs", headers=bearer(seed.manager_token))
    assert response.status_code == 200
    body = response.get_json()
    assert [run["id"] for run in body["items"]] == [runs.failed, runs.succeeded]
    assert body["total"] == 2
    failed = body["items"][0]
    assert failed["alert"] == ALERT
    assert failed["rejected"] == 3
    assert failed["started_at"].endswith("+00:00")
    assert body["items"][1]["duration_s"] == 4.2


def test_api_filters_runs_by_status_and_validates(client: FlaskClient, seed: Seed, runs: Runs):
    headers = bearer(seed.manager_token)
    body = client.get("/api/v1/sync-runs?status=succeeded", headers=headers).get_json()
    assert [run["id"] for run in body["items"]] == [runs.succeeded]
    bad = client.get("/api/v1/sync-runs?status=lost", headers=headers)
    assert bad.status_code == 400
    assert "status" in bad.get_json()["errors"]


def test_api_run_detail_pages_its_dead_letters(client: FlaskClient, seed: Seed, runs: Runs):
    headers = bearer(seed.manager_token)
    body = client.get(f"/api/v1/sync-runs/{runs.failed}?limit=2", headers=headers).get_json()
    assert body["status"] == "failed"
    letters = body["dead_letters"]
    assert letters["total"] == 3
    assert [item["record_key"] for item in letters["items"]] == ["5940000000018", "5940000000025"]
    assert letters["items"][0]["field"] == "gtin"
    rest = client.get(f"/api/v1/sync-runs/{runs.failed}?limit=2&offset=2", headers=headers)
    assert [item["record_key"] for item in rest.get_json()["dead_letters"]["items"]] == ["PR-1007"]
    assert client.get("/api/v1/sync-runs/999", headers=headers).status_code == 404


def test_api_requests_a_sync_and_refuses_a_second(
    client: FlaskClient, engine: Engine, seed: Seed, runs: Runs
):
    headers = bearer(seed.manager_token)
    response = client.post("/api/v1/sync-runs", json={"full": False}, headers=headers)
    assert response.status_code == 202
    body = response.get_json()
    assert (body["status"], body["trigger"], body["full"]) == ("requested", "manual", False)
    assert _all_runs(engine)[-1].full is False
    again = client.post("/api/v1/sync-runs", headers=headers)
    assert again.status_code == 409
    assert f"#{body['id']} is already requested" in again.get_json()["error"]


def test_api_sync_request_without_body_is_a_full_sync(
    client: FlaskClient, engine: Engine, seed: Seed
):
    response = client.post("/api/v1/sync-runs", headers=bearer(seed.manager_token))
    assert response.status_code == 202
    assert response.get_json()["full"] is True


@pytest.mark.parametrize("body", [{"full": "sometimes"}, {"fast": True}, [1]])
def test_api_sync_request_validates_its_body(client: FlaskClient, seed: Seed, body):
    response = client.post("/api/v1/sync-runs", json=body, headers=bearer(seed.manager_token))
    assert response.status_code == 400


def test_api_retry(client: FlaskClient, engine: Engine, seed: Seed, runs: Runs):
    headers = bearer(seed.manager_token)
    refused = client.post(f"/api/v1/sync-runs/{runs.succeeded}/retry", headers=headers)
    assert refused.status_code == 409
    assert client.post("/api/v1/sync-runs/999/retry", headers=headers).status_code == 404
    response = client.post(f"/api/v1/sync-runs/{runs.failed}/retry", headers=headers)
    assert response.status_code == 202
    assert response.get_json()["retry_of"] == runs.failed
    busy = client.post(f"/api/v1/sync-runs/{runs.failed}/retry", headers=headers)
    assert busy.status_code == 409
    assert "already requested" in busy.get_json()["error"]


def test_api_sync_runs_need_auth_and_cookie_posts_need_csrf(
    client: FlaskClient, manager_client: FlaskClient, engine: Engine, runs: Runs
):
    assert client.application.test_client().get("/api/v1/sync-runs").status_code == 401
    assert manager_client.post("/api/v1/sync-runs", json={}).status_code == 400
    assert len(_all_runs(engine)) == 2


def test_openapi_documents_the_sync_api(client: FlaskClient, seed: Seed):
    document = client.get("/api/v1/openapi.json", headers=bearer(seed.manager_token)).get_json()
    paths = document["paths"]
    assert set(paths["/api/v1/sync-runs"]) == {"get", "post"}
    assert "post" in paths["/api/v1/sync-runs/{run_id}/retry"]
    request_schema = paths["/api/v1/sync-runs"]["post"]["requestBody"]["content"]
    assert request_schema["application/json"]["schema"]["$ref"].endswith("/SyncRequest")
    detail = document["components"]["schemas"]["SyncRunDetail"]
    assert detail["properties"]["dead_letters"]["allOf"] == [
        {"$ref": "#/components/schemas/DeadLetterPage"}
    ]


def test_a_skipped_run_can_be_re_run(manager_client: FlaskClient, engine: Engine, seed: Seed):
    with session_scope(engine) as session:
        skipped = SyncRun(feed="json", status="skipped", error="skipped: another sync is running")
        session.add(skipped)
        session.flush()
        skipped_id = skipped.id
    assert 'id="rerun"' in _html(manager_client, f"/sync/{skipped_id}")
    assert RUN_LINK.findall(_html(manager_client, "/sync?status=skipped")) == [str(skipped_id)]
    response = manager_client.post(
        f"/api/v1/sync-runs/{skipped_id}/retry", headers=bearer(seed.admin_token)
    )
    assert response.status_code == 202
    assert response.get_json()["retry_of"] == skipped_id
