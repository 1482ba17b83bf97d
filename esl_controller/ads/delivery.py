"""Scheduled report delivery to ad buyers: by e-mail (SMTP) and by signed webhook.

The worker calls `run_due_deliveries` every minute or so. It first turns due schedules
into `ReportDelivery` rows (one per channel and period, written before anything is sent,
so a crash loses nothing), then tries every pending row whose time has come. A failed
attempt is retried with exponential backoff from `webhook_retry_base_s`; once
`webhook_give_up_s` has passed since the row was created, the next failure marks it
`failed` with the reason, for the manager's delivery log.

Network I/O happens outside any database transaction: the report is read in one short
session, sent, and the outcome written in another, so a slow endpoint never holds the
SQLite write lock.

The report is rendered once, at the first attempt, and stored with the delivery: every
retry sends the same bytes (a late play or a new chain head never changes a delivery already
announced), so one delivery id has one body and one signature.

Webhook contract (for buyers): `POST <url>` with the report JSON as the body,
`Content-Type: application/json`, `X-ESL-Delivery: <delivery id>` (the same on every retry:
deduplicate by it) and `X-ESL-Signature: sha256=<hex HMAC-SHA256 of the raw body>` keyed
with the secret shared with the buyer (`ESL_WEBHOOK_SECRET_<NAME>` on the controller).
Any 2xx answer is success. E-mails carry `Date` (the attempt) and a `Message-ID` fixed per
delivery, so a mail retried after an uncertain failure is recognisably the same message.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import smtplib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.ads import reports, schedules
from esl_controller.ads.campaign_reports import (
    REPORT_FORMATS,
    render_campaign_report,
)
from esl_controller.ads.report_rows import store_timezone
from esl_controller.ads.schedules import CADENCES, Period, as_utc
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.models import Campaign, ReportDelivery, ReportSchedule

log = logging.getLogger(__name__)

CHANNELS = ("email", "webhook")
SIGNATURE_HEADER = "X-ESL-Signature"
DELIVERY_HEADER = "X-ESL-Delivery"
SECRET_ENV_PREFIX = "ESL_WEBHOOK_SECRET_"
SECRET_NAME_PATTERN = re.compile(r"^[A-Z0-9_]{1,64}$")
EMAIL_PATTERN = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
GROUP_BYS = reports.GROUP_BYS
MAX_ERROR_LENGTH = 500


class ScheduleError(ValueError):
    """A report schedule cannot be created as asked; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DeliveryFailed(Exception):
    """One attempt failed; the message is what the manager reads in the delivery log."""


# --- signatures ------------------------------------------------------------------------


def sign_body(secret: str, body: bytes) -> str:
    """The `X-ESL-Signature` value: `sha256=` + hex HMAC-SHA256 of the body."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_matches(secret: str, body: bytes, header: str) -> bool:
    """What a buyer's endpoint does: recompute and compare in constant time."""
    return hmac.compare_digest(sign_body(secret, body), header)


# --- schedules -------------------------------------------------------------------------


def create_schedule(
    session: Session,
    *,
    campaign_id: int,
    cadence: str,
    report_format: str = "pdf",
    group_by: str = "day",
    email_to: str = "",
    webhook_url: str = "",
    webhook_secret_name: str = "",
    now: datetime,
    tz: str | None = None,
) -> ReportSchedule:
    """Validate and add a schedule (flushed, not committed); `ScheduleError` names the field."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise ScheduleError("campaign_id", f"there is no campaign #{campaign_id}")
    if cadence not in CADENCES:
        raise ScheduleError("cadence", f"must be one of {', '.join(CADENCES)}")
    if report_format not in REPORT_FORMATS:
        raise ScheduleError("format", f"must be one of {', '.join(REPORT_FORMATS)}")
    if group_by not in GROUP_BYS:
        raise ScheduleError("group_by", f"must be one of {', '.join(GROUP_BYS)}")
    recipients = _check_recipients(email_to)
    webhook_url = webhook_url.strip()
    secret_name = webhook_secret_name.strip().upper()
    if webhook_url:
        _check_webhook_url(webhook_url)
        if not SECRET_NAME_PATTERN.match(secret_name):
            raise ScheduleError(
                "webhook_secret_name",
                f"a webhook needs the name of its secret (A-Z, 0-9, _): the key is read from "
                f"{SECRET_ENV_PREFIX}<NAME>",
            )
    if not recipients and not webhook_url:
        raise ScheduleError("email_to", "give an e-mail address, a webhook URL or both")
    schedule = ReportSchedule(
        advertiser_id=campaign.advertiser_id,
        campaign_id=campaign_id,
        cadence=cadence,
        format=report_format,
        group_by=group_by,
        email_to=", ".join(recipients),
        webhook_url=webhook_url,
        webhook_secret_name=secret_name if webhook_url else "",
        next_run_at=schedules.first_run_at(
            cadence, now, tz or store_timezone(session), campaign.ends_at
        ),
    )
    session.add(schedule)
    session.flush()
    return schedule


def _check_recipients(email_to: str) -> list[str]:
    recipients = [address.strip() for address in email_to.split(",") if address.strip()]
    for address in recipients:
        if not EMAIL_PATTERN.match(address):
            raise ScheduleError("email_to", f"{address!r} is not an e-mail address")
    return recipients


def _check_webhook_url(url: str) -> None:
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise ScheduleError("webhook_url", "must be an https:// URL (report data is private)")
    if not parts.hostname:
        raise ScheduleError("webhook_url", "has no host")


# --- the worker job --------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRun:
    """What one pass did, for the worker's log line."""

    created: int
    sent: int
    retrying: int
    failed: int


def run_due_deliveries(
    engine: Engine,
    settings: Settings,
    now: datetime,
    *,
    environ: Mapping[str, str] = os.environ,
    smtp_factory: Callable[..., smtplib.SMTP] | None = None,
) -> DeliveryRun:
    """Create the deliveries due schedules owe, then attempt every pending one whose time
    has come. `environ` holds the webhook secrets; `smtp_factory` is for tests."""
    now = as_utc(now)
    with session_scope(engine) as session:
        created = plan_deliveries(session, now)
        due_ids = list(
            session.scalars(
                select(ReportDelivery.id)
                .where(ReportDelivery.status == "pending")
                .where(ReportDelivery.next_attempt_at <= now)
                .order_by(ReportDelivery.next_attempt_at, ReportDelivery.id)
            )
        )
    outcomes = [
        attempt_delivery(engine, settings, delivery_id, now, environ, smtp_factory)
        for delivery_id in due_ids
    ]
    return DeliveryRun(
        created=created,
        sent=outcomes.count("sent"),
        retrying=outcomes.count("pending"),
        failed=outcomes.count("failed"),
    )


def plan_deliveries(session: Session, now: datetime) -> int:
    """Turn due schedules into pending `ReportDelivery` rows; return how many were added."""
    tz = store_timezone(session)
    due = session.scalars(
        select(ReportSchedule)
        .where(ReportSchedule.active.is_(True))
        .where(ReportSchedule.next_run_at <= now)
    ).all()
    created = 0
    for schedule in due:
        campaign = session.get(Campaign, schedule.campaign_id)
        if campaign is None:  # campaigns are archived, never deleted; be safe anyway
            schedule.active = False
            continue
        flight = Period(as_utc(campaign.starts_at), as_utc(campaign.ends_at))
        assert schedule.next_run_at is not None
        plan = schedules.plan_due(schedule.cadence, schedule.next_run_at, now, tz, flight)
        for period in plan.periods:
            created += _add_deliveries(session, schedule, period, now)
        schedule.next_run_at = plan.next_run_at
        schedule.active = plan.next_run_at is not None
        session.add(schedule)
    session.flush()
    return created


def _add_deliveries(
    session: Session, schedule: ReportSchedule, period: Period, now: datetime
) -> int:
    channels = [
        channel
        for channel, wanted in (("email", schedule.email_to), ("webhook", schedule.webhook_url))
        if wanted
    ]
    added = 0
    for channel in channels:
        exists = session.scalars(
            select(ReportDelivery.id)
            .where(ReportDelivery.schedule_id == schedule.id)
            .where(ReportDelivery.channel == channel)
            .where(ReportDelivery.period_from == period.start)
        ).first()
        if exists is not None:  # re-planning the same period never sends it twice
            continue
        assert schedule.id is not None
        session.add(
            ReportDelivery(
                schedule_id=schedule.id,
                channel=channel,
                period_from=period.start,
                period_to=period.end,
                next_attempt_at=now,
                created_at=now,
            )
        )
        added += 1
    return added


def attempt_delivery(
    engine: Engine,
    settings: Settings,
    delivery_id: int,
    now: datetime,
    environ: Mapping[str, str] = os.environ,
    smtp_factory: Callable[..., smtplib.SMTP] | None = None,
) -> str:
    """One attempt at one delivery; returns its new status (sent | pending | failed)."""
    with session_scope(engine) as session:
        delivery = session.get(ReportDelivery, delivery_id)
        if delivery is None or delivery.status != "pending":
            return delivery.status if delivery else "failed"
        schedule = session.get(ReportSchedule, delivery.schedule_id)
        assert schedule is not None
        report = _stored_body(session, delivery, schedule)
        campaign = session.get(Campaign, schedule.campaign_id)
        campaign_name = campaign.name if campaign else f"#{schedule.campaign_id}"
        channel, email_to = delivery.channel, schedule.email_to
        webhook_url, secret_name = schedule.webhook_url, schedule.webhook_secret_name
        period = Period(as_utc(delivery.period_from), as_utc(delivery.period_to))
        created_at = as_utc(delivery.created_at)
        attempts = delivery.attempts + 1
    try:
        if channel == "webhook":
            secret = _webhook_secret(environ, secret_name)
            _post_webhook(webhook_url, report.body, secret, delivery_id, settings)
        else:
            subject = f"Ad report: {campaign_name}, {_period_text(period)}"
            message_id = _message_id(settings, delivery_id, created_at)
            _send_email(settings, email_to, subject, report, smtp_factory, now, message_id)
    except DeliveryFailed as exc:
        error = str(exc)[:MAX_ERROR_LENGTH]
        status, next_at = _after_failure(settings, attempts, created_at, now)
        log.warning("report delivery %s attempt %s failed: %s", delivery_id, attempts, error)
        if status == "failed":
            elapsed_h = (now - created_at).total_seconds() / 3600
            error = f"gave up after {attempts} attempts over {elapsed_h:.1f} h: {error}"
        _record(engine, delivery_id, status, attempts, next_at, error, report.body, None)
        return status
    _record(engine, delivery_id, "sent", attempts, now, None, report.body, now)
    return "sent"


@dataclass(frozen=True)
class StoredBody:
    """A delivery's report as first rendered (what every attempt sends)."""

    body: bytes
    content_type: str
    filename: str


def _stored_body(
    session: Session, delivery: ReportDelivery, schedule: ReportSchedule
) -> StoredBody:
    """The delivery's body: rendered and kept at the first attempt, read back after."""
    if delivery.body is not None:
        return StoredBody(delivery.body, delivery.body_content_type, delivery.body_filename)
    fmt = "json" if delivery.channel == "webhook" else schedule.format
    rendered = render_campaign_report(
        session,
        schedule.campaign_id,
        as_utc(delivery.period_from),
        as_utc(delivery.period_to),
        group_by=schedule.group_by,
        fmt=fmt,
        generated_at=as_utc(delivery.created_at),
    )
    delivery.body = rendered.body
    delivery.body_content_type = rendered.content_type
    delivery.body_filename = rendered.filename
    delivery.body_sha256 = hashlib.sha256(rendered.body).hexdigest()
    session.add(delivery)
    return StoredBody(rendered.body, rendered.content_type, rendered.filename)


def _message_id(settings: Settings, delivery_id: int, created_at: datetime) -> str:
    domain = settings.report_from.rpartition("@")[2] or "esl-controller.invalid"
    return f"<report-delivery-{delivery_id}.{created_at:%Y%m%d%H%M%S}@{domain}>"


def _after_failure(
    settings: Settings, attempts: int, created_at: datetime, now: datetime
) -> tuple[str, datetime]:
    give_up_at = created_at + timedelta(seconds=settings.webhook_give_up_s)
    if now >= give_up_at:
        return "failed", now
    delay = settings.webhook_retry_base_s * 2 ** (attempts - 1)
    # The last retry lands on the give-up instant rather than far past it.
    return "pending", min(now + timedelta(seconds=delay), give_up_at)


def _record(
    engine: Engine,
    delivery_id: int,
    status: str,
    attempts: int,
    next_attempt_at: datetime,
    error: str | None,
    body: bytes,
    sent_at: datetime | None,
) -> None:
    with session_scope(engine) as session:
        delivery = session.get(ReportDelivery, delivery_id)
        assert delivery is not None
        delivery.status = status
        delivery.attempts = attempts
        delivery.next_attempt_at = next_attempt_at
        delivery.last_error = error
        delivery.body_sha256 = hashlib.sha256(body).hexdigest()
        delivery.sent_at = sent_at
        session.add(delivery)


def _period_text(period: Period) -> str:
    return f"{period.start:%Y-%m-%d %H:%M} to {period.end:%Y-%m-%d %H:%M} UTC"


# --- channels --------------------------------------------------------------------------


def _webhook_secret(environ: Mapping[str, str], name: str) -> str:
    variable = SECRET_ENV_PREFIX + name
    secret = environ.get(variable, "")
    if not secret:
        raise DeliveryFailed(f"{variable} is not set: cannot sign the webhook body")
    return secret


def _post_webhook(url: str, body: bytes, secret: str, delivery_id: int, settings: Settings) -> None:
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign_body(secret, body),
        DELIVERY_HEADER: str(delivery_id),
    }
    try:
        response = requests.post(
            url,
            data=body,
            headers=headers,
            timeout=settings.webhook_timeout_s,
            allow_redirects=False,  # a redirect could carry the report somewhere unvetted
        )
    except requests.RequestException as exc:
        raise DeliveryFailed(f"POST {url}: {type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        snippet = response.text[:200].strip()
        raise DeliveryFailed(f"POST {url}: HTTP {response.status_code} {snippet}".strip())


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    ssl: bool
    starttls: bool
    username: str
    password: str


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://user:pass@host:587?starttls=1` or `smtps://host:465`; ValueError if bad."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(f"ESL_SMTP_URL must look like smtp://user:pass@host:587, got {url!r}")
    ssl = parts.scheme == "smtps"
    query = parse_qs(parts.query)
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or (465 if ssl else 25),
        ssl=ssl,
        starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def _send_email(
    settings: Settings,
    email_to: str,
    subject: str,
    report: StoredBody,
    smtp_factory: Callable[..., smtplib.SMTP] | None,
    now: datetime,
    message_id: str,
) -> None:
    if not settings.smtp_url:
        raise DeliveryFailed("no SMTP server configured (set ESL_SMTP_URL)")
    try:
        target = parse_smtp_url(settings.smtp_url)
    except ValueError as exc:
        raise DeliveryFailed(str(exc)) from exc
    message = EmailMessage()
    message["From"] = settings.report_from
    message["To"] = email_to
    message["Subject"] = subject
    message["Date"] = format_datetime(as_utc(now))
    message["Message-ID"] = message_id
    message.set_content(
        f"{subject}\n\nThe report is attached ({report.filename}).\n"
        "Sent by esl-controller; reply to your store contact with questions.\n"
    )
    maintype, _, subtype = report.content_type.partition("/")
    message.add_attachment(
        report.body, maintype=maintype, subtype=subtype, filename=report.filename
    )
    factory = smtp_factory or (smtplib.SMTP_SSL if target.ssl else smtplib.SMTP)
    try:
        with factory(target.host, target.port, timeout=settings.webhook_timeout_s) as smtp:
            if target.starttls:
                smtp.starttls()
            if target.username:
                smtp.login(target.username, target.password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(
            f"SMTP {target.host}:{target.port}: {type(exc).__name__}: {exc}"
        ) from exc
