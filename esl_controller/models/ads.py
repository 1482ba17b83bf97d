"""Advertisers, campaigns and creatives; proof of play, the impression chain and its
totals, signed checkpoints, report schedules and deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from esl_controller.clock import utcnow


class Advertiser(SQLModel, table=True):
    """An ad buyer. Its users and API tokens see only its own campaigns (issue 5)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    contact_email: str = ""


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    advertiser_id: int = Field(foreign_key="advertiser.id", index=True)
    name: str
    starts_at: datetime  # flight dates
    ends_at: datetime
    cpm_minor: int = 0  # price per 1,000 impressions, minor units
    currency: str = "EUR"
    priority: int = 50  # higher wins a conflict
    # JSON: {"stores": [...], "zone_kinds": ["dairy"], "zones": [...],
    #  "dayparts": ["07:00-10:00"], "weekdays": [0..6],
    #  "audience": {"min_count": 3, "age_bands": {"25-34": 0.3}, "gender": {"female": 0.5},
    #  "min_dwell_s": 5, "min_attention_s": 2}, "loyalty_segments": ["coffee-lovers"],
    #  "triggers": ["audience", "zone", "loyalty"]}
    targeting: str = "{}"
    frequency_cap_per_hour: int | None = None  # plays per player per hour
    share_of_voice: float = 1.0  # 0..1 of override opportunities it may take
    goal_kind: str = "impressions"  # plays | impressions | budget (issue 5)
    goal_value: int = 0
    venue_type: str = "retail.grocery"  # OpenOOH venue taxonomy (issue 5)
    status: str = "active"  # active | paused | archived (never deleted)


class Creative(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    name: str
    kind: str = "image"  # image | video | web | promo_slide
    media_sha256: str | None = None  # image / video
    url: str | None = None  # web page
    gtin: str | None = None  # promo slide of a product
    duration_s: float = 10.0
    archived: bool = False


class Play(SQLModel, table=True):
    """One proof of play as accepted (idempotent by the player's play id)."""

    play_id: str = Field(primary_key=True)
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    player_id: str = Field(index=True)
    zone_id: str = ""
    item_id: str = ""
    campaign_id: int | None = Field(default=None, index=True)
    creative_id: int | None = None
    override_id: int | None = None
    trigger_id: int | None = None
    started_at: datetime = Field(index=True)  # UTC, converted from the player's local time
    ended_at: datetime
    local_offset_minutes: int = 0
    received_at: datetime = Field(default_factory=utcnow)
    flag: str | None = None  # e.g. "player clock jumped back 3,600 s": kept, never double-counted


class Impression(SQLModel, table=True):
    """The billing log: append-only and hash-chained (each row carries the previous hash)."""

    __table_args__ = (
        Index("ix_impression_campaign_time", "campaign_id", "started_at"),
        Index("ix_impression_advertiser_time", "advertiser_id", "started_at"),
    )
    seq: int | None = Field(default=None, primary_key=True)  # chain order
    play_id: str = Field(unique=True)
    campaign_id: int
    campaign_name: str
    advertiser_id: int
    creative_id: int | None = None
    creative_name: str = ""
    player_id: str
    player_name: str = ""
    zone_id: str = ""
    started_at: datetime
    play_ms: int  # play duration in milliseconds
    multiplier_milli: int  # audience per play x 1,000
    multiplier_source: str  # measured | declared
    impressions_milli: int  # impressions x 1,000 (= multiplier for one play)
    cpm_minor: int  # the campaign's CPM when the play happened
    currency: str = "EUR"
    prev_hash: str
    hash: str


class ImpressionHourly(SQLModel, table=True):
    """Roll-up of impressions past the raw retention; reports read it with the raw rows."""

    __tablename__ = "impression_hourly"
    __table_args__ = (
        UniqueConstraint("hour", "campaign_id", "player_id", "creative_id", "multiplier_source"),
    )
    id: int | None = Field(default=None, primary_key=True)
    hour: datetime = Field(index=True)
    campaign_id: int = Field(index=True)
    campaign_name: str = ""
    advertiser_id: int = Field(index=True)
    creative_id: int | None = None
    creative_name: str = ""
    player_id: str = ""
    player_name: str = ""
    zone_id: str = ""
    multiplier_source: str = "declared"
    plays: int = 0
    play_ms: int = 0
    impressions_milli: int = 0
    spend_basis: int = 0  # sum of impressions_milli x cpm_minor, for exact spend later
    currency: str = "EUR"
    first_seq: int = 0  # the chain segment this roll-up replaced (kept verifiable)
    last_seq: int = 0
    segment_hash: str = ""  # hash of the last raw row rolled up


NO_CREATIVE = 0  # ImpressionHourTotal's stand-in for "no creative" in its key


class ImpressionHourTotal(SQLModel, table=True):
    """Live hourly totals of every impression ever billed, kept by ingest in the batch's own
    transaction. Retention never touches it (rolled-up rows are already counted), so reports
    read only this table, whatever the age of the period. creative_id 0: no creative (a
    NULL would never conflict, and the upsert needs the key to)."""

    __tablename__ = "impression_hour_total"
    __table_args__ = (
        UniqueConstraint(
            "campaign_id",
            "hour",
            "advertiser_id",
            "player_id",
            "creative_id",
            "zone_id",
            "multiplier_source",
            name="uq_impression_hour_total_key",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    hour: datetime = Field(index=True)
    campaign_id: int
    advertiser_id: int = Field(index=True)
    player_id: str = ""
    creative_id: int = 0
    zone_id: str = ""
    multiplier_source: str = "declared"
    campaign_name: str = ""
    creative_name: str = ""
    player_name: str = ""
    plays: int = 0
    play_ms: int = 0
    impressions_milli: int = 0
    spend_basis: int = 0  # sum of impressions_milli x cpm_minor
    currency: str = "EUR"


class RejectedPlay(SQLModel, table=True):
    __tablename__ = "rejected_play"
    id: int | None = Field(default=None, primary_key=True)
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    play_id: str = ""
    player_id: str = Field(default="", index=True)
    reason: str
    received_at: datetime = Field(default_factory=utcnow)
    raw: str = ""


class ReportSchedule(SQLModel, table=True):
    __tablename__ = "report_schedule"
    id: int | None = Field(default=None, primary_key=True)
    advertiser_id: int = Field(foreign_key="advertiser.id", index=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    cadence: str = "daily"  # daily | weekly | flight_end
    format: str = "pdf"  # csv | json | pdf
    group_by: str = "day"
    email_to: str = ""  # comma-separated; empty: no e-mail
    webhook_url: str = ""  # empty: no webhook
    # The HMAC key is named, not stored: ESL_WEBHOOK_SECRET_<NAME> in the environment.
    webhook_secret_name: str = ""
    next_run_at: datetime | None = None
    active: bool = True


class ReportDelivery(SQLModel, table=True):
    """One report sent (or being retried) on one channel; the manager sees this log."""

    __tablename__ = "report_delivery"
    id: int | None = Field(default=None, primary_key=True)
    schedule_id: int = Field(foreign_key="report_schedule.id", index=True)
    channel: str  # email | webhook
    status: str = Field(default="pending", index=True)  # pending | sent | failed
    period_from: datetime
    period_to: datetime
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    last_error: str | None = None
    body_sha256: str = ""
    # The report as rendered at the first attempt (schema 7): every retry re-sends these
    # exact bytes, so one delivery id always carries one body and one signature.
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    body_content_type: str = ""
    body_filename: str = ""


class ImpressionCheckpoint(SQLModel, table=True):
    """A signed statement of the impression chain's head (seq and hash) at a moment: what a
    buyer keeps to detect records cut from the end or a chain re-hashed after an edit."""

    __tablename__ = "impression_checkpoint"
    id: int | None = Field(default=None, primary_key=True)
    store_id: str = ""
    head_seq: int = Field(index=True)
    head_hash: str
    created_at: datetime = Field(default_factory=utcnow)
    key_id: str  # the signing key's fingerprint (see ads.checkpoints)
    signature: str  # base64 Ed25519 signature over ads.checkpoints.signed_bytes
