"""Scheduled report delivery: due schedules become delivery rows, webhooks are signed and
retried with backoff until they give up with the reason, e-mail goes through a real SMTP
server, and nothing is lost or sent twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import requests
import responses
from sqlalchemy import select
from sqlalchemy.engine import Engine

from esl_controller.ads.delivery import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    ScheduleError,
    create_schedule,
    parse_smtp_url,
    run_due_deliveries,
    sign_body,
    signature_matches,
)
from esl_controller.ads.schedules import as_utc
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.models import Campaign, ReportDelivery, ReportSchedule
from tests.ads.billing_log import Billed, append_impressions
from tests.ads.conftest import AdsWorld
from tests.ads.smtp_sink import SmtpSink

HOOK = "https://buyer.example/hooks/esl"
SECRET = "s3cret-shared-with-the-buyer"
ENVIRON = {"ESL_WEBHOOK_SECRET_DAIRY": SECRET}
CREATED = datetime(2026, 1, 14, 15, 30, tzinfo=UTC)  # store-local 17:30 (Bucharest, UTC+2)
MIDNIGHT = datetime(2026, 1, 14, 22, 0, tzinfo=UTC)  # store-local midnight that ends the 14th
FLIGHT_START = datetime(2026, 1, 1, tzinfo=UTC)
FLIGHT_END = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def january_flight(engine: Engine, ads_world: AdsWorld) -> None:
    """The fixture campaign flies in January 2026, around the times these tests use."""
    with session_scope(engine) as session:
        campaign = session.get(Campaign, ads_world.campaign_id)
        campaign.starts_at = FLIGHT_START
        campaign.ends_at = FLIGHT_END


def new_schedule(engine: Engine, world: AdsWorld, **fields) -> int:
    values = {"campaign_id": world.campaign_id, "cadence": "daily", "now": CREATED}
    values.update(fields)
    with session_scope(engine) as session:
        return create_schedule(session, **values).id


def webhook_schedule(engine: Engine, world: AdsWorld, **fields) -> int:
    return new_schedule(
        engine, world, webhook_url=HOOK, webhook_secret_name="dairy", report_format="json", **fields
    )


def seed_day(engine: Engine, world: AdsWorld) -> None:
    """Three plays on the 14th (store-local) and one on the 15th, outside the period."""
    plays = [MIDNIGHT - timedelta(hours=hours) for hours in (1, 5, 23)] + [
        MIDNIGHT + timedelta(hours=2)
    ]
    append_impressions(
        engine,
        [
            Billed(
                started_at=at,
                campaign_id=world.campaign_id,
                advertiser_id=world.advertiser_id,
                player_id=world.declared_player,
                creative_id=world.creative_id,
                multiplier_milli=2000,
                cpm_minor=1250,
            )
            for at in plays
        ],
    )


def deliveries(engine: Engine) -> list[ReportDelivery]:
    with session_scope(engine) as session:
        return list(session.scalars(select(ReportDelivery).order_by(ReportDelivery.id)))


def test_a_new_daily_schedule_first_fires_at_the_next_store_midnight(engine, ads_world):
    schedule_id = webhook_schedule(engine, ads_world)
    with session_scope(engine) as session:
        schedule = session.get(ReportSchedule, schedule_id)
        assert as_utc(schedule.next_run_at) == MIDNIGHT
        assert schedule.advertiser_id == ads_world.advertiser_id
        assert schedule.webhook_secret_name == "DAIRY"


@responses.activate
def test_webhook_delivers_the_days_report_signed(engine: Engine, settings: Settings, ads_world):
    seed_day(engine, ads_world)
    webhook_schedule(engine, ads_world)
    responses.post(HOOK, status=204)

    early = run_due_deliveries(engine, settings, MIDNIGHT - timedelta(minutes=1), environ=ENVIRON)
    result = run_due_deliveries(engine, settings, MIDNIGHT + timedelta(minutes=1), environ=ENVIRON)

    assert (early.created, early.sent) == (0, 0)
    assert (result.created, result.sent, result.failed) == (1, 1, 0)
    (call,) = responses.calls
    body = call.request.body
    assert signature_matches(SECRET, body, call.request.headers[SIGNATURE_HEADER])
    assert not signature_matches("another secret", body, call.request.headers[SIGNATURE_HEADER])
    report = json.loads(body)
    assert report["campaign"]["id"] == ads_world.campaign_id
    assert report["total"]["plays"] == 3  # the play on the 15th belongs to the next report
    (delivery,) = deliveries(engine)
    assert call.request.headers[DELIVERY_HEADER] == str(delivery.id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 1, None)
    assert as_utc(delivery.period_from) == MIDNIGHT - timedelta(days=1)
    assert as_utc(delivery.period_to) == MIDNIGHT


@responses.activate
def test_webhook_down_for_an_hour_is_retried_then_failed_with_the_reason(
    engine: Engine, settings: Settings, ads_world
):
    settings = settings.with_overrides(webhook_retry_base_s=30.0, webhook_give_up_s=3600.0)
    seed_day(engine, ads_world)
    webhook_schedule(engine, ads_world)
    responses.post(HOOK, status=503, body="maintenance")

    clock = MIDNIGHT
    attempt_times = []
    for _ in range(200):  # a worker ticking every 10 s for a bit over an hour
        before = len(responses.calls)
        run_due_deliveries(engine, settings, clock, environ=ENVIRON)
        if len(responses.calls) > before:
            attempt_times.append(clock)
        clock += timedelta(seconds=30)
        if clock > MIDNIGHT + timedelta(minutes=70):
            break

    (delivery,) = deliveries(engine)
    assert delivery.status == "failed"
    assert delivery.attempts == len(attempt_times) >= 6
    assert "HTTP 503" in delivery.last_error and "maintenance" in delivery.last_error
    assert delivery.last_error.startswith(f"gave up after {delivery.attempts} attempts")
    gaps = [later - earlier for earlier, later in pairwise(attempt_times)]
    assert gaps[1] > gaps[0] and gaps[3] > gaps[2]  # exponential backoff
    assert attempt_times[-1] >= MIDNIGHT + timedelta(hours=1)
    # Nothing lost: the failed row keeps its period, and no more attempts are made.
    assert as_utc(delivery.period_to) == MIDNIGHT
    calls = len(responses.calls)
    run_due_deliveries(engine, settings, clock + timedelta(hours=2), environ=ENVIRON)
    assert len(responses.calls) == calls


@responses.activate
def test_webhook_that_recovers_is_sent_on_a_retry(engine: Engine, settings: Settings, ads_world):
    seed_day(engine, ads_world)
    webhook_schedule(engine, ads_world)
    responses.post(HOOK, body=requests.ConnectionError("connection refused"))

    first = run_due_deliveries(engine, settings, MIDNIGHT, environ=ENVIRON)
    (delivery,) = deliveries(engine)
    assert (first.retrying, delivery.status, delivery.attempts) == (1, "pending", 1)
    assert "ConnectionError" in delivery.last_error

    responses.replace(responses.POST, HOOK, status=200)
    later = as_utc(delivery.next_attempt_at)
    assert later > MIDNIGHT
    run_due_deliveries(engine, settings, later, environ=ENVIRON)
    (delivery,) = deliveries(engine)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, None)


@responses.activate
def test_a_missing_secret_is_a_failed_attempt_naming_the_variable(
    engine: Engine, settings: Settings, ads_world
):
    webhook_schedule(engine, ads_world)
    run_due_deliveries(engine, settings, MIDNIGHT, environ={})
    (delivery,) = deliveries(engine)
    assert "ESL_WEBHOOK_SECRET_DAIRY is not set" in delivery.last_error
    assert len(responses.calls) == 0  # never sent unsigned


def test_email_goes_through_a_real_smtp_server_with_the_attachment(
    engine: Engine, settings: Settings, ads_world
):
    seed_day(engine, ads_world)
    new_schedule(engine, ads_world, email_to="buyer@dairy.example, cfo@dairy.example")
    with SmtpSink() as sink:
        settings = settings.with_overrides(smtp_url=sink.url, report_from="reports@store.example")
        result = run_due_deliveries(engine, settings, MIDNIGHT + timedelta(minutes=5))

    assert result.sent == 1
    (message,) = sink.messages
    assert message["To"] == "buyer@dairy.example, cfo@dairy.example"
    assert "Milk winter" in message["Subject"]
    assert sink.envelopes[0] == (
        "reports@store.example",
        ["buyer@dairy.example", "cfo@dairy.example"],
    )
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename().endswith(".pdf")
    assert attachment.get_content().startswith(b"%PDF")


def test_email_without_an_smtp_server_waits_with_the_reason(
    engine: Engine, settings: Settings, ads_world
):
    new_schedule(engine, ads_world, email_to="buyer@dairy.example", report_format="csv")
    run_due_deliveries(engine, settings, MIDNIGHT)
    (delivery,) = deliveries(engine)
    assert delivery.status == "pending"
    assert "ESL_SMTP_URL" in delivery.last_error


@responses.activate
def test_a_worker_down_for_days_catches_up_every_period_once(
    engine: Engine, settings: Settings, ads_world
):
    webhook_schedule(engine, ads_world)
    responses.post(HOOK, status=200)
    three_days_later = MIDNIGHT + timedelta(days=2, hours=3)

    first = run_due_deliveries(engine, settings, three_days_later, environ=ENVIRON)
    again = run_due_deliveries(engine, settings, three_days_later, environ=ENVIRON)

    assert (first.created, first.sent, again.created, again.sent) == (3, 3, 0, 0)
    periods = [as_utc(delivery.period_to) for delivery in deliveries(engine)]
    assert periods == [MIDNIGHT + timedelta(days=n) for n in range(3)]


@responses.activate
def test_both_channels_make_two_deliveries(engine: Engine, settings: Settings, ads_world):
    webhook_schedule(engine, ads_world, email_to="buyer@dairy.example")
    responses.post(HOOK, status=200)
    result = run_due_deliveries(engine, settings, MIDNIGHT, environ=ENVIRON)
    assert result.created == 2
    assert sorted(d.channel for d in deliveries(engine)) == ["email", "webhook"]


@responses.activate
def test_flight_end_schedule_sends_the_whole_flight_once(
    engine: Engine, settings: Settings, ads_world
):
    schedule_id = webhook_schedule(engine, ads_world, cadence="flight_end")
    with session_scope(engine) as session:
        flight_end = as_utc(session.get(ReportSchedule, schedule_id).next_run_at)
    assert flight_end == FLIGHT_END
    responses.post(HOOK, status=200)

    run_due_deliveries(engine, settings, flight_end + timedelta(minutes=1), environ=ENVIRON)
    run_due_deliveries(engine, settings, flight_end + timedelta(days=1), environ=ENVIRON)

    (delivery,) = deliveries(engine)
    assert as_utc(delivery.period_to) == flight_end
    with session_scope(engine) as session:
        assert session.get(ReportSchedule, schedule_id).active is False


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email_to": "not-an-address"}, "email_to"),
        ({}, "email_to"),  # no channel at all
        ({"webhook_url": "http://buyer.example/hook", "webhook_secret_name": "X"}, "webhook_url"),
        ({"webhook_url": HOOK}, "webhook_secret_name"),
        ({"webhook_url": HOOK, "webhook_secret_name": "bad name!"}, "webhook_secret_name"),
        ({"email_to": "a@b.example", "cadence": "hourly"}, "cadence"),
        ({"email_to": "a@b.example", "report_format": "xlsx"}, "format"),
        ({"email_to": "a@b.example", "group_by": "weekday"}, "group_by"),
        ({"email_to": "a@b.example", "campaign_id": 999}, "campaign_id"),
    ],
)
def test_bad_schedules_are_refused_naming_the_field(engine: Engine, ads_world, fields, field):
    with pytest.raises(ScheduleError) as refused:
        new_schedule(engine, ads_world, **fields)
    assert refused.value.field == field


def test_signature_is_hmac_sha256_of_the_body():
    # Reference computed independently: printf 'body' | openssl dgst -sha256 -hmac key
    expected = "sha256=515aae133b435d4000956731f68ae5cf5eb85d4f0dc6a546d2bfcd3595ec1ae1"
    assert sign_body("key", b"body") == expected
    assert signature_matches("key", b"body", expected)
    assert not signature_matches("key", b"body!", expected)


def test_smtp_url_parsing():
    target = parse_smtp_url("smtp://user%40x:p%3Ass@mail.example:587?starttls=1")
    assert (target.host, target.port, target.starttls, target.ssl) == (
        "mail.example",
        587,
        True,
        False,
    )
    assert (target.username, target.password) == ("user@x", "p:ss")
    assert parse_smtp_url("smtps://mail.example").port == 465
    with pytest.raises(ValueError, match="ESL_SMTP_URL"):
        parse_smtp_url("http://mail.example")


@responses.activate
def test_a_retry_re_sends_the_identical_body_and_signature(
    engine: Engine, settings: Settings, ads_world
):
    seed_day(engine, ads_world)
    webhook_schedule(engine, ads_world)
    responses.post(HOOK, status=503)
    run_due_deliveries(engine, settings, MIDNIGHT, environ=ENVIRON)
    # a late play of the period arrives, and the chain head moves, before the retry
    append_impressions(
        engine,
        [
            Billed(
                started_at=MIDNIGHT - timedelta(hours=2),
                campaign_id=ads_world.campaign_id,
                advertiser_id=ads_world.advertiser_id,
                player_id=ads_world.declared_player,
                cpm_minor=1250,
            )
        ],
    )
    responses.replace(responses.POST, HOOK, status=200)
    (delivery,) = deliveries(engine)
    run_due_deliveries(engine, settings, as_utc(delivery.next_attempt_at), environ=ENVIRON)
    first, second = responses.calls
    assert first.request.body == second.request.body
    assert first.request.headers[SIGNATURE_HEADER] == second.request.headers[SIGNATURE_HEADER]
    assert first.request.headers[DELIVERY_HEADER] == second.request.headers[DELIVERY_HEADER]
    assert json.loads(second.request.body)["total"]["plays"] == 3  # as first announced
    (delivery,) = deliveries(engine)
    assert delivery.status == "sent"


def test_report_emails_carry_a_date_and_a_message_id_kept_across_retries(
    engine: Engine, settings: Settings, ads_world
):
    from email.utils import parsedate_to_datetime

    seed_day(engine, ads_world)
    new_schedule(engine, ads_world, email_to="buyer@dairy.example")
    sent_at = MIDNIGHT + timedelta(minutes=5)
    refusing = settings.with_overrides(smtp_url="smtp://127.0.0.1:9", report_from="r@store.example")
    run_due_deliveries(engine, refusing, sent_at)  # nobody listens: an attempt that failed
    (delivery,) = deliveries(engine)
    assert delivery.status == "pending"
    with SmtpSink() as sink:
        working = settings.with_overrides(smtp_url=sink.url, report_from="r@store.example")
        retry_at = as_utc(delivery.next_attempt_at)
        run_due_deliveries(engine, working, retry_at)
    (message,) = sink.messages
    assert parsedate_to_datetime(message["Date"]) == retry_at.replace(microsecond=0)
    created = as_utc(delivery.created_at)
    expected_id = f"<report-delivery-{delivery.id}.{created:%Y%m%d%H%M%S}@store.example>"
    assert message["Message-ID"] == expected_id
