"""The reports API: a buyer sees only its own campaigns (403 + incident otherwise), reports in
JSON/CSV/PDF over a period, the chain proof, schedules, the delivery log and revenue; plus
the manager's revenue pages."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from esl_controller.db import session_scope
from esl_controller.models import (
    Impression,
    Incident,
    ReportDelivery,
    ReportSchedule,
)
from esl_controller.web.auth import UserError, create_user
from tests.web.ads_seed import BUYER, FLIGHT_START, Ads, ads_fixture  # noqa: F401
from tests.web.conftest import Seed, bearer, csrf_token_from


def test_buyer_gets_its_own_campaign_report_as_json(client: FlaskClient, ads: Ads):
    response = client.get(
        f"/api/v1/reports?campaign={ads.campaign_id}&group_by=player",
        headers=bearer(ads.buyer_token),
    )
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["campaign"]["name"] == "Milk spring"
    assert report["total"]["plays"] == 4
    groups = {group["key"]: group["plays"] for group in report["groups"]}
    assert groups == {"s1": 2, "s2": 2}
    assert response.headers["Cache-Control"] == "no-store"


def test_a_period_by_dates_includes_the_whole_last_day(client: FlaskClient, ads: Ads):
    response = client.get(
        f"/api/v1/reports?campaign={ads.campaign_id}&from=2026-03-01&to=2026-03-02",
        headers=bearer(ads.buyer_token),
    )
    assert response.get_json()["total"]["plays"] == 3  # the play on March 6 is outside


def test_report_as_csv_and_pdf(client: FlaskClient, ads: Ads):
    csv_response = client.get(
        f"/api/v1/reports?campaign={ads.campaign_id}&format=csv",
        headers=bearer(ads.buyer_token),
    )
    assert csv_response.status_code == 200
    assert csv_response.mimetype == "text/csv"
    assert "attachment" in csv_response.headers["Content-Disposition"]
    data_lines = [
        line
        for line in csv_response.get_data(as_text=True).splitlines()
        if not line.startswith("#")
    ]
    rows = list(csv.reader(io.StringIO("\n".join(data_lines))))
    assert len(rows) >= 2  # a header and at least one day
    pdf = client.get(
        f"/api/v1/reports?campaign={ads.campaign_id}&format=pdf", headers=bearer(ads.buyer_token)
    )
    assert pdf.mimetype == "application/pdf"
    assert pdf.get_data().startswith(b"%PDF")


def test_buyer_asking_for_another_advertisers_campaign_is_refused_and_logged(
    client: FlaskClient, ads: Ads, engine: Engine
):
    for campaign in (ads.other_campaign_id, 999):  # someone else's, and one that does not exist
        response = client.get(
            f"/api/v1/reports?campaign={campaign}", headers=bearer(ads.buyer_token)
        )
        assert response.status_code == 403
        assert "not one of your campaigns" in response.get_json()["error"]
    verify = client.get(
        f"/api/v1/impressions/verify?campaign={ads.other_campaign_id}",
        headers=bearer(ads.buyer_token),
    )
    assert verify.status_code == 403
    with session_scope(engine) as session:
        incidents = session.scalars(
            select(Incident).where(Incident.kind == "buyer_forbidden")
        ).all()
    assert len(incidents) == 3
    assert all(incident.subject == BUYER[0] for incident in incidents)


def test_buyer_lists_only_its_campaigns_and_nothing_else_of_the_api(client: FlaskClient, ads: Ads):
    listed = client.get("/api/v1/reports/campaigns", headers=bearer(ads.buyer_token))
    assert [item["id"] for item in listed.get_json()["items"]] == [ads.campaign_id]
    for path in ("/api/v1/labels", "/api/v1/revenue", "/api/v1/report-deliveries"):
        assert client.get(path, headers=bearer(ads.buyer_token)).status_code == 403


def test_manager_sees_every_campaign(client: FlaskClient, ads: Ads, seed: Seed):
    response = client.get(
        f"/api/v1/reports?campaign={ads.other_campaign_id}", headers=bearer(seed.manager_token)
    )
    assert response.get_json()["total"]["plays"] == 1
    missing = client.get("/api/v1/reports?campaign=999", headers=bearer(seed.manager_token))
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group_by=weekday", "group_by"),
        ("format=xlsx", "format"),
        ("from=yesterday", "from"),
        ("from=2026-03-01T00:00:00", "from"),  # no offset: ambiguous
        ("from=2026-03-05&to=2026-03-01", "to"),
        # Forms Python reads but the document cannot state, and bounds that overflowed.
        ("from=20260301T0000Z", "from"),
        ("from=2026-03-01 10:00%2B02:00", "from"),
        ("from=2026-02-30", "from"),
        ("from=0001-01-01", "from"),
        ("to=9999-12-31", "to"),
        ("from=0001-01-01T00:00:00%2B14:00", "from"),
        ("from=2026-03-01T00:00Z&to=9999-12-31T23:59:59-12:00&group_by=hour", "to"),
        ("from=2026-03-01%0A", "from"),
    ],
)
def test_bad_report_queries_name_the_field(client: FlaskClient, ads: Ads, query, field):
    response = client.get(
        f"/api/v1/reports?campaign={ads.campaign_id}&{query}", headers=bearer(ads.buyer_token)
    )
    assert response.status_code == 400
    assert field in response.get_json()["errors"]


def test_chain_proof_holds_then_catches_an_altered_record(
    client: FlaskClient, ads: Ads, engine: Engine
):
    url = f"/api/v1/impressions/verify?campaign={ads.campaign_id}"
    proof = client.get(url, headers=bearer(ads.buyer_token)).get_json()
    assert proof["ok"] is True
    assert (proof["checked"], proof["campaign_records"], proof["head_seq"]) == (5, 4, 5)

    anchored = client.get(
        f"{url}&anchor_seq={proof['head_seq']}&anchor_hash={proof['head_hash']}",
        headers=bearer(ads.buyer_token),
    ).get_json()
    assert anchored["ok"] is True

    with session_scope(engine) as session:
        session.execute(update(Impression).where(Impression.seq == 2).values(impressions_milli=9))
    tampered = client.get(url, headers=bearer(ads.buyer_token)).get_json()
    assert (tampered["ok"], tampered["first_bad_seq"]) == (False, 2)
    assert "altered" in tampered["reason"]


def test_buyer_accounts_need_an_existing_advertiser(engine: Engine, ads: Ads):
    with session_scope(engine) as session:
        with pytest.raises(UserError, match="advertiser"):
            create_user(session, "nobody-buyer", "long-password-1", "buyer")
        with pytest.raises(UserError, match="no advertiser #999"):
            create_user(session, "ghost-buyer", "long-password-1", "buyer", advertiser_id=999)
        with pytest.raises(UserError, match="only a buyer"):
            create_user(session, "mgr2", "long-password-1", "manager", advertiser_id=1)


def test_schedule_created_over_the_api_and_listed(client: FlaskClient, ads: Ads, seed: Seed):
    created = client.post(
        "/api/v1/report-schedules",
        json={"campaign_id": ads.campaign_id, "cadence": "weekly", "email_to": "b@dairy.example"},
        headers=bearer(seed.manager_token),
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["next_run_at"] is not None
    bad = client.post(
        "/api/v1/report-schedules",
        json={"campaign_id": ads.campaign_id, "cadence": "weekly", "webhook_url": "http://x.io"},
        headers=bearer(seed.manager_token),
    )
    assert bad.status_code == 400
    assert "webhook_url" in bad.get_json()["errors"]
    listed = client.get("/api/v1/report-schedules", headers=bearer(seed.manager_token))
    assert [item["cadence"] for item in listed.get_json()["items"]] == ["weekly"]


def test_delivery_log_over_the_api(client: FlaskClient, ads: Ads, seed: Seed, engine: Engine):
    with session_scope(engine) as session:
        schedule = ReportSchedule(
            advertiser_id=ads.advertiser_id,
            campaign_id=ads.campaign_id,
            webhook_url="https://b.example/h",
        )
        session.add(schedule)
        session.flush()
        session.add(
            ReportDelivery(
                schedule_id=schedule.id,
                channel="webhook",
                status="failed",
                period_from=FLIGHT_START,
                period_to=FLIGHT_START + timedelta(days=1),
                attempts=9,
                last_error="gave up after 9 attempts over 6.0 h: HTTP 503",
            )
        )
    page = client.get(
        "/api/v1/report-deliveries?status=failed", headers=bearer(seed.manager_token)
    ).get_json()
    (item,) = page["items"]
    assert (item["campaign_name"], item["attempts"], item["status"]) == ("Milk spring", 9, "failed")
    assert "HTTP 503" in item["last_error"]


def test_revenue_by_campaign_screen_and_day(client: FlaskClient, ads: Ads, seed: Seed):
    response = client.get(
        "/api/v1/revenue?from=2026-03-01&to=2026-03-07", headers=bearer(seed.manager_token)
    )
    body = response.get_json()
    assert response.status_code == 200, body
    by_campaign = {line["label"]: line for line in body["by_campaign"]}
    # Milk: 4 plays x 2.5 impressions x 12.50 RON CPM = 0.125 RON; Espresso: 1 x 1 x 9.00 / 1000
    assert by_campaign["Milk spring"]["spend_minor"] == 13  # 12.5 bani rounded half up
    assert by_campaign["Espresso"]["spend_minor"] == 1  # 0.9 bani
    (total,) = body["totals"]
    assert total["spend_minor"] == 13  # from the summed basis: 12.5 + 0.9 = 13.4 bani
    assert len(body["by_day"]) == 7
    assert body["by_day"][0]["plays"] == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("to=0001-01-05", "to"),
        ("from=9999-12-31&to=9999-12-31", "from"),
        ("from=20260101", "from"),
        ("from=2026-W01-1", "from"),
        ("from=2026-03-07&to=2026-03-01", "from"),
        ("from=2025-01-01&to=2026-01-03", "to"),  # 368 days
    ],
)
def test_bad_revenue_periods_name_the_field(client: FlaskClient, seed: Seed, query, field):
    response = client.get(f"/api/v1/revenue?{query}", headers=bearer(seed.manager_token))
    assert response.status_code == 400
    assert field in response.get_json()["errors"]


def test_revenue_takes_a_year_and_a_day(client: FlaskClient, ads: Ads, seed: Seed):
    response = client.get(
        "/api/v1/revenue?from=2025-03-01&to=2026-03-02", headers=bearer(seed.manager_token)
    )
    assert response.status_code == 200
    assert len(response.get_json()["by_day"]) == 367


def test_openapi_lists_the_reports_endpoints(client: FlaskClient, seed: Seed):
    paths = client.get("/api/v1/openapi.json", headers=bearer(seed.admin_token)).get_json()["paths"]
    for path in ("/api/v1/reports", "/api/v1/impressions/verify", "/api/v1/report-schedules"):
        assert path in paths


# --- the manager's pages ---------------------------------------------------------------


def test_revenue_page_draws_bars_without_inline_style(manager_client: FlaskClient, ads: Ads):
    page = manager_client.get("/revenue?from=2026-03-01&to=2026-03-07")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Milk spring" in html and "<svg" in html and "<rect" in html
    assert "style=" not in html and "<script>" not in html


def test_schedule_form_creates_a_schedule(manager_client: FlaskClient, ads: Ads, engine: Engine):
    token = csrf_token_from(manager_client, "/revenue/schedules")
    response = manager_client.post(
        "/revenue/schedules",
        data={
            "csrf_token": token,
            "campaign_id": str(ads.campaign_id),
            "cadence": "daily",
            "format": "csv",
            "group_by": "day",
            "email_to": "buyer@dairy.example",
        },
        follow_redirects=True,
    )
    assert "created" in response.get_data(as_text=True)
    with session_scope(engine) as session:
        (schedule,) = session.scalars(select(ReportSchedule)).all()
    assert (schedule.format, schedule.email_to) == ("csv", "buyer@dairy.example")


def test_buyers_cannot_open_dashboard_pages(client: FlaskClient, ads: Ads):
    from tests.web.conftest import log_in

    log_in(client, *BUYER)
    assert client.get("/revenue").status_code == 403
    own = client.get(f"/api/v1/reports?campaign={ads.campaign_id}")  # cookie works for the API
    assert own.status_code == 200
    assert json.loads(own.get_data())["campaign"]["id"] == ads.campaign_id


# --- signed checkpoints and the buyer's records export -------------------------------------


def test_the_public_key_and_checkpoints_over_the_api(client: FlaskClient, ads: Ads, seed: Seed):
    key = client.get("/api/v1/impressions/public-key", headers=bearer(ads.buyer_token))
    assert key.status_code == 200
    assert key.get_json()["algorithm"] == "Ed25519"
    assert key.get_json()["latest_checkpoint"] is None
    refused = client.post("/api/v1/impressions/checkpoints", headers=bearer(ads.buyer_token))
    assert refused.status_code == 403
    taken = client.post("/api/v1/impressions/checkpoints", headers=bearer(seed.manager_token))
    assert taken.status_code == 201
    assert taken.get_json()["head_seq"] == 5
    assert taken.get_json()["public_key"] == key.get_json()["public_key"]
    again = client.get("/api/v1/impressions/public-key", headers=bearer(ads.buyer_token))
    assert again.get_json()["latest_checkpoint"] == taken.get_json()


def test_a_buyer_verifies_its_export_independently_and_catches_an_edit(
    client: FlaskClient, ads: Ads, seed: Seed, engine: Engine
):
    from tests.support.export_verifier import billed_spend_minor, check_export

    client.post("/api/v1/impressions/checkpoints", headers=bearer(seed.manager_token))
    pinned = client.get("/api/v1/impressions/public-key", headers=bearer(ads.buyer_token))
    public_key = pinned.get_json()["public_key"]
    path = f"/api/v1/campaigns/{ads.campaign_id}/impression-records"
    export = client.get(path, headers=bearer(ads.buyer_token)).get_json()
    assert check_export(export, public_key) == []
    mine = [record for record in export["records"] if "fields" in record]
    others = [record for record in export["records"] if "fields" not in record]
    assert (len(mine), len(others)) == (4, 1)
    assert set(others[0]) == {"seq", "prev_hash", "hash", "digest"}  # no billed field shown
    report = client.get(
        f"/api/v1/reports?campaign={ads.campaign_id}", headers=bearer(ads.buyer_token)
    ).get_json()
    assert billed_spend_minor(export) == report["total"]["spend_minor"]
    # the store edits a billed record after signing: the buyer's verifier sees it
    with session_scope(engine) as session:
        session.execute(
            update(Impression).where(Impression.seq == mine[1]["seq"]).values(cpm_minor=1)
        )
    edited = client.get(path, headers=bearer(ads.buyer_token)).get_json()
    assert f"seq {mine[1]['seq']}: hash does not match" in check_export(edited, public_key)
    # and a tampered export (a lower CPM in transit) fails the same way
    export["records"][mine[0]["seq"] - 1]["fields"]["cpm_minor"] = 1
    assert check_export(export, public_key) == [f"seq {mine[0]['seq']}: hash does not match"]


def test_an_export_after_a_checkpoint_links_to_it(
    client: FlaskClient, ads: Ads, seed: Seed, engine: Engine
):
    from tests.ads.billing_log import Billed, append_impressions
    from tests.support.export_verifier import check_export

    first = client.post("/api/v1/impressions/checkpoints", headers=bearer(seed.manager_token))
    append_impressions(
        engine,
        [
            Billed(
                started_at=FLIGHT_START + timedelta(days=7),
                campaign_id=ads.campaign_id,
                advertiser_id=ads.advertiser_id,
                player_id="s1",
                cpm_minor=1250,
            )
        ],
    )
    client.post("/api/v1/impressions/checkpoints", headers=bearer(seed.manager_token))
    key = client.get("/api/v1/impressions/public-key", headers=bearer(ads.buyer_token))
    path = f"/api/v1/campaigns/{ads.campaign_id}/impression-records?after_seq=5"
    export = client.get(path, headers=bearer(ads.buyer_token)).get_json()
    assert [record["seq"] for record in export["records"]] == [6]
    assert export["prev_hash"] == first.get_json()["head_hash"]
    assert check_export(export, key.get_json()["public_key"]) == []


def test_a_buyer_cannot_export_another_advertisers_records(client: FlaskClient, ads: Ads):
    response = client.get(
        f"/api/v1/campaigns/{ads.other_campaign_id}/impression-records",
        headers=bearer(ads.buyer_token),
    )
    assert response.status_code == 403


def test_verify_over_the_api_catches_an_edited_hourly_total(
    client: FlaskClient, ads: Ads, engine: Engine
):
    from esl_controller.models import ImpressionHourTotal

    path = f"/api/v1/impressions/verify?campaign={ads.campaign_id}"
    assert client.get(path, headers=bearer(ads.buyer_token)).get_json()["ok"] is True
    with session_scope(engine) as session:
        session.execute(update(ImpressionHourTotal).values(plays=ImpressionHourTotal.plays + 1))
    proof = client.get(path, headers=bearer(ads.buyer_token)).get_json()
    assert proof["ok"] is False
    assert proof["reason"].startswith("hourly totals do not reconcile")


def test_the_revenue_page_publishes_the_signing_key(
    manager_client: FlaskClient, client: FlaskClient, ads: Ads
):
    page = manager_client.get("/revenue").get_data(as_text=True)
    key = client.get("/api/v1/impressions/public-key", headers=bearer(ads.buyer_token))
    assert key.get_json()["public_key"] in page
    assert key.get_json()["key_id"] in page
