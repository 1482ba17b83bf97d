"""Database tables. One module while the schema is small; every column change bumps
`db.SCHEMA_VERSION` and adds a migration step there.

Money is stored as integer minor units (cents, bani, kopecks) next to its ISO currency
code, so no price ever passes through a float.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from esl_controller.clock import utcnow


class SchemaMeta(SQLModel, table=True):
    __tablename__ = "schema_meta"
    key: str = Field(primary_key=True)
    value: str


class Store(SQLModel, table=True):
    id: str = Field(primary_key=True)
    name: str
    locale: str = "en_GB"  # decides decimal separator and symbol position on labels
    currency: str = "EUR"
    timezone: str = "UTC"


class Product(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("store_id", "gtin"),)
    id: int | None = Field(default=None, primary_key=True)
    store_id: str = Field(foreign_key="store.id", index=True)
    gtin: str = Field(index=True)
    name: str
    brand: str = ""
    net_quantity: float | None = None  # e.g. 500 with unit "g"; drives the unit price
    unit: str = "piece"  # g, kg, ml, cl, l, cm, m, piece
    price_minor: int
    currency: str = "EUR"
    stock: int | None = None
    low_stock_threshold: int = 5
    restock_date: date | None = None
    status: str = "active"  # active | delisted
    updated_at: datetime = Field(default_factory=utcnow)
    listed_at: datetime | None = None  # first seen on sale; "new product" for the 30-day rule
    delisted_at: datetime | None = None
    erp_modified_at: datetime | None = None  # the ERP's own change time for this record


class PriceHistory(SQLModel, table=True):
    """Every effective price of a product, for the EU 30-day prior-price rule."""

    __tablename__ = "price_history"
    __table_args__ = (Index("ix_price_history_product_time", "product_id", "effective_at"),)
    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id")
    price_minor: int
    effective_at: datetime
    source: str = "erp"


class Promotion(SQLModel, table=True):
    __table_args__ = (Index("uq_promotion_source_external", "source", "external_id", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    price_minor: int
    starts_at: datetime
    ends_at: datetime
    source: str = "erp"
    external_id: str | None = None  # the ERP's id for it: re-syncing updates, never duplicates


class BaseStation(SQLModel, table=True):
    __tablename__ = "base_station"
    id: str = Field(primary_key=True)
    store_id: str = Field(foreign_key="store.id", index=True)
    name: str = ""
    online: bool = False
    last_seen: datetime | None = None
    firmware: str = ""
    queue_depth: int = 0
    # The driver that talks to it (an entry point name, see esl.registry) and that
    # driver's connection options as JSON. Never a secret: an option may name the
    # environment variable that holds one.
    driver: str = "mqtt"
    options: str = "{}"
    eta_s: float | None = None  # the station's own estimate for what it still holds


class Label(SQLModel, table=True):
    id: str = Field(primary_key=True)  # the tag's serial as printed on it
    store_id: str = Field(foreign_key="store.id", index=True)
    model: str  # hardware model id, see label_templates/hardware.yaml
    base_station_id: str = Field(foreign_key="base_station.id", index=True)
    product_id: int | None = Field(default=None, foreign_key="product.id", index=True)
    template: str = "price"
    state: str = Field(default="unbound", index=True)  # esl.states.LabelState
    content_hash: str | None = None  # newest image queued for the label
    shown_hash: str | None = None  # image the base station confirmed on the label
    render_fingerprint: str | None = None  # inputs of the last render; equal -> no re-render
    seq: int = 0  # last image sequence number issued
    shown_seq: int = 0
    battery: int | None = None  # percent
    battery_mv: int | None = None
    signal: int | None = None  # dBm
    lqi: int | None = None  # link quality, as the radio reports it
    temperature: float | None = None  # degrees C
    last_seen: datetime | None = None
    next_checkin: datetime | None = None  # when the tag next wakes (access-point radios)
    last_error: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class OutboxMessage(SQLModel, table=True):
    """One command for one label, persisted before it is published (the outbox pattern)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_label_seq", "label_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    label_id: str = Field(foreign_key="label.id")
    base_station_id: str = Field(foreign_key="base_station.id")
    kind: str = "image"  # esl.link.CommandKind
    seq: int = 0
    priority: int = 0  # higher goes first; see esl.outbox.Priority
    # What was rendered, not any driver's wire form: for an image the zlib-compressed
    # 1-bit planes (labels.planes), described by the four columns after it; empty for
    # the other kinds, whose arguments are `params` (JSON).
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    width: int | None = None
    height: int | None = None
    colour_mode: str | None = None
    crc32: int | None = None
    params: str = "{}"
    content_hash: str | None = None
    state: str = "pending"  # esl.states.OutboxState
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    done_at: datetime | None = None
    reason: str | None = None


# The dispatcher asks "the next pending rows of this station, most urgent first, oldest first
# within a priority" after every ack; this index answers it with a range scan and no sort.
Index(
    "ix_outbox_dispatch",
    OutboxMessage.state,
    OutboxMessage.base_station_id,
    OutboxMessage.priority.desc(),
    OutboxMessage.id,
)


class Incident(SQLModel, table=True):
    """A problem worth a manager's eye: bad input, failed delivery. Counted by kind."""

    __table_args__ = (Index("ix_incident_kind_time", "kind", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str  # e.g. invalid_gtin, template_error, unknown_product, malformed_ack, unknown_label
    subject: str = ""  # what it is about: a GTIN, a label id, a topic
    message: str
    created_at: datetime = Field(default_factory=utcnow)
    count: int = 1  # more than 1 on the row that sums up a storm of one kind in a minute


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True)
    password_hash: str
    role: str = "manager"  # admin | manager | sensor | buyer
    api_token_hash: str | None = Field(default=None, index=True)
    advertiser_id: int | None = None  # a buyer sees only this advertiser's campaigns


class SyncRun(SQLModel, table=True):
    """One ERP sync: what it fetched, changed and rejected, and where to resume it."""

    __tablename__ = "sync_run"
    id: int | None = Field(default=None, primary_key=True)
    feed: str  # json | csv | odoo
    trigger: str = "schedule"  # schedule | manual | cli | retry
    # requested (by the dashboard, picked up by the worker) | running | succeeded | failed
    status: str = Field(default="requested", index=True)
    requested_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    full: bool = True  # a full snapshot (absent products are delisted) or incremental
    since: datetime | None = None  # modified-since this run asked for
    phase: str | None = None  # products | promotions: the stream being read
    resume_cursor: str | None = None  # next page of `phase` to fetch after the last commit
    pages_done: int = 0
    fetched: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: int = 0
    delisted: int = 0
    labels_rendered: int = 0
    labels_queued: int = 0
    alert: str | None = None  # e.g. a refused mass delisting, for the manager
    error: str | None = None
    retry_of: int | None = Field(default=None, foreign_key="sync_run.id")
    # schema 6: who runs it (a sync lock holder), and how often a dead holder's run was taken
    # over; a run that continues a failed one names it in retry_of
    holder: str | None = None
    takeovers: int = 0


class FeedPageState(SQLModel, table=True):
    """Per feed, stream and cursor of an incremental read: the page's ETag and the cursor it
    pointed to, so a 304 for that page can be skipped without losing the pages after it."""

    __tablename__ = "feed_page_state"
    key: str = Field(primary_key=True)  # e.g. "json:products:<cursor>" ("" = first page)
    etag: str
    next_cursor: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class DeadLetter(SQLModel, table=True):
    """An ERP record that was refused, with the field and the reason; the rest still apply."""

    __tablename__ = "dead_letter"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="sync_run.id", index=True)
    kind: str = "product"  # product | promotion
    record_key: str = ""  # GTIN, promotion id or row number: what the manager searches for
    field: str = ""
    reason: str
    raw: str = ""  # the record as received (JSON), truncated
    created_at: datetime = Field(default_factory=utcnow)


class FeedState(SQLModel, table=True):
    """Per feed and stream: the modified-since watermark and the last ETag."""

    __tablename__ = "feed_state"
    key: str = Field(primary_key=True)  # e.g. "json:products"
    watermark: datetime | None = None
    etag: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)


# --- signage (schema version 3) -------------------------------------------------------


class Zone(SQLModel, table=True):
    """An area of the store (entrance, dairy, electronics); triggers and players live in one."""

    id: str = Field(primary_key=True)
    store_id: str = Field(foreign_key="store.id", index=True)
    name: str = ""


class Player(SQLModel, table=True):
    """A signage screen. Its id is also its MQTT identity."""

    id: str = Field(primary_key=True)
    store_id: str = Field(foreign_key="store.id", index=True)
    zone_id: str = Field(foreign_key="zone.id", index=True)
    name: str = ""
    width: int = 1920
    height: int = 1080
    online: bool = False
    last_seen: datetime | None = None
    now_playing: str | None = None  # item id the player last reported on screen
    playlist_digest: str | None = None  # hash of the playlist message last published
    last_pop_at: datetime | None = None
    has_audience_sensor: bool = False
    # Declared audience per play by daypart, JSON {"07:00-10:00": 3.5, "*": 2.0} (issue 5).
    declared_audience: str = "{}"
    archived: bool = False  # players are archived, never deleted (impressions keep them)


class PlaylistFile(SQLModel, table=True):
    """The last good version of each file in signage_playlists/ (and its last error)."""

    __tablename__ = "playlist_file"
    name: str = Field(primary_key=True)  # file stem
    source: str  # YAML text of the last version that validated
    digest: str
    loaded_at: datetime = Field(default_factory=utcnow)
    error: str | None = None  # why the newest edit was refused (the good one stays)
    error_at: datetime | None = None


class MediaAsset(SQLModel, table=True):
    """An uploaded image/video, stored on disk by content hash and served with that ETag."""

    __tablename__ = "media_asset"
    sha256: str = Field(primary_key=True)
    filename: str
    content_type: str
    size: int
    created_at: datetime = Field(default_factory=utcnow)


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
    # JSON: {"zones": [...], "dayparts": ["07:00-10:00"], "weekdays": [0..6],
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


class Override(SQLModel, table=True):
    """Content replacing a player's schedule until it expires (or is reverted)."""

    id: int | None = Field(default=None, primary_key=True)
    zone_id: str = Field(foreign_key="zone.id", index=True)
    player_id: str | None = Field(default=None, foreign_key="player.id")  # None: whole zone
    kind: str = "campaign"  # campaign | promo_slide | manual
    content: str  # JSON: the item the players show (same shape as a playlist item)
    priority: int = 50
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    state: str = Field(default="active", index=True)  # active | expired | reverted
    trigger_event_id: int | None = None
    campaign_id: int | None = None
    creative_id: int | None = None
    created_by: str = ""  # a manager's user name for manual overrides


class TriggerEvent(SQLModel, table=True):
    """A trigger as accepted (sanitised) or refused; raw events expire after the retention."""

    __tablename__ = "trigger_event"
    __table_args__ = (Index("ix_trigger_event_time", "received_at"),)
    id: int | None = Field(default=None, primary_key=True)
    sensor_id: str = Field(index=True)
    kind: str  # audience | zone | loyalty
    zone_id: str | None = None
    received_at: datetime = Field(default_factory=utcnow)
    occurred_at: datetime | None = None
    payload: str = "{}"  # the validated trigger, never anything the privacy guard refused
    # matched | no_match | rejected | rate_limited | expired_before_delivery
    outcome: str = "no_match"
    reason: str | None = None
    override_id: int | None = None


class TriggerAggregate(SQLModel, table=True):
    """What is kept of raw trigger events after the retention: counts per hour."""

    __tablename__ = "trigger_aggregate"
    __table_args__ = (UniqueConstraint("hour", "zone_id", "kind", "outcome"),)
    id: int | None = Field(default=None, primary_key=True)
    hour: datetime
    zone_id: str = ""
    kind: str
    outcome: str
    count: int = 0
    audience_sum: int = 0  # sum of audience counts, for averages without the raw events


# --- proof of play and impressions (schema version 4) ---------------------------------
# Plays and impressions copy the names they refer to, and hold no foreign keys to players,
# campaigns or creatives: archiving or deleting those never deletes or orphans a record
# a buyer was billed for.


class Play(SQLModel, table=True):
    """One proof of play as accepted (idempotent by the player's play id)."""

    play_id: str = Field(primary_key=True)
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


# --- signed chain checkpoints (schema version 7) ---------------------------------------


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


class TriggerRateWindow(SQLModel, table=True):
    """Triggers one sensor posted over HTTP in one rate-limit window. Every web process
    counts here with one atomic upsert, so the limit holds however many processes serve."""

    __tablename__ = "trigger_rate_window"
    __table_args__ = (UniqueConstraint("sensor_id", "window_index"),)
    id: int | None = Field(default=None, primary_key=True)
    sensor_id: str
    window_index: int  # whole windows since the epoch
    count: int = 0  # posts in the window, refused ones included
    event_id: int | None = None  # the trigger_event row booking the window's refusals
