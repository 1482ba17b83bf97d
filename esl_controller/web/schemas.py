"""Marshmallow schemas for the JSON API: they validate requests, shape responses and
are the source of the OpenAPI document's components, so the three never disagree."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from esl_controller.ads.currency import to_minor
from esl_controller.catalogue.gtin import InvalidGTIN, validate_gtin
from esl_controller.esl.link import LED_COLOURS, LED_MAX_SECONDS, LED_PATTERNS
from esl_controller.signage.targeting import parse_targeting
from esl_controller.web.auth import MIN_PASSWORD_LENGTH, ROLES, USERNAME_PATTERN
from esl_controller.web.bounded_fields import BoundedAwareDateTime, BoundedInteger
from esl_controller.web.queries import LABEL_STATES, SYNC_RUN_STATUSES

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50


class UtcDateTime(fields.DateTime):
    """Stored naive UTC; sent with an explicit offset so clients need not guess."""

    def _serialize(self, value: datetime | None, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


# --- requests --------------------------------------------------------------------------


class PagingSchema(Schema):
    limit = BoundedInteger(load_default=DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    offset = BoundedInteger(load_default=0, minimum=0)


class LabelQuerySchema(PagingSchema):
    state = fields.String(validate=validate.OneOf(LABEL_STATES))
    base_station = fields.String(validate=validate.Length(min=1, max=100))
    template = fields.String(validate=validate.Length(min=1, max=100))
    q = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "text in the label id, product name or GTIN"},
    )
    new = fields.Boolean(
        metadata={"description": "only new labels: reported by a station, never linked"}
    )


class IncidentQuerySchema(PagingSchema):
    kind = fields.String(validate=validate.Length(min=1, max=100))


class SyncRunQuerySchema(PagingSchema):
    status = fields.String(validate=validate.OneOf(SYNC_RUN_STATUSES))


class SyncRequestSchema(Schema):
    full = fields.Boolean(
        load_default=True,
        metadata={
            "description": "a full snapshot (absent products are delisted) or only the "
            "changes since the last run"
        },
    )


class FlashRequestSchema(Schema):
    colour = fields.String(required=True, validate=validate.OneOf(LED_COLOURS))
    pattern = fields.String(required=True, validate=validate.OneOf(LED_PATTERNS))
    seconds = BoundedInteger(required=True, strict=True, minimum=1, maximum=LED_MAX_SECONDS)


class UserCreateSchema(Schema):
    username = fields.String(
        required=True,
        validate=validate.Regexp(USERNAME_PATTERN, error="1-64 letters, digits or . _ @ -"),
    )
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=MIN_PASSWORD_LENGTH)
    )
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    advertiser_id = BoundedInteger(
        allow_none=True,
        load_default=None,
        metadata={"description": "the advertiser a buyer buys for (buyers only, required)"},
    )
    store_id = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "the one store the user sees; none: head office, every store"},
    )


class PasswordChangeSchema(Schema):
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=MIN_PASSWORD_LENGTH)
    )


# --- responses -------------------------------------------------------------------------


class LabelSchema(Schema):
    id = fields.String()
    state = fields.String(metadata={"enum": list(LABEL_STATES)})
    model = fields.String()
    template = fields.String()
    base_station_id = fields.String()
    product_id = BoundedInteger(allow_none=True)
    gtin = fields.String(allow_none=True)
    product_name = fields.String(allow_none=True)
    battery = BoundedInteger(allow_none=True, metadata={"description": "percent"})
    signal = BoundedInteger(allow_none=True, metadata={"description": "dBm"})
    temperature = fields.Float(allow_none=True, metadata={"description": "degrees C"})
    last_seen = UtcDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    is_new = fields.Boolean(metadata={"description": "reported by a station, never linked"})
    seq = BoundedInteger()
    shown_seq = BoundedInteger()
    updated_at = UtcDateTime()


class LabelPageSchema(Schema):
    items = fields.List(fields.Nested(LabelSchema))
    total = BoundedInteger()
    limit = BoundedInteger()
    offset = BoundedInteger()


class OutboxEntrySchema(Schema):
    id = BoundedInteger()
    kind = fields.String()
    seq = BoundedInteger()
    priority = BoundedInteger()
    state = fields.String()
    attempts = BoundedInteger()
    reason = fields.String(allow_none=True)
    created_at = UtcDateTime()
    done_at = UtcDateTime(allow_none=True)


class LabelDetailSchema(LabelSchema):
    outbox = fields.List(fields.Nested(OutboxEntrySchema), metadata={"description": "last 10"})


class CommandQueuedSchema(Schema):
    queued = fields.Boolean()
    outbox_id = BoundedInteger(allow_none=True)
    label_id = fields.String()
    kind = fields.String(allow_none=True)
    seq = BoundedInteger(allow_none=True)
    priority = BoundedInteger(allow_none=True)
    state = fields.String(allow_none=True)


class LabelCountsSchema(Schema):
    by_state = fields.Dict(keys=fields.String(), values=BoundedInteger())
    total = BoundedInteger()
    bound = BoundedInteger(metadata={"description": "labels with a product (not unbound)"})
    up_to_date = BoundedInteger(metadata={"description": "labels whose image is acked"})
    new = BoundedInteger(metadata={"description": "labels reported by a station, never linked"})


class StationCountsSchema(Schema):
    online = BoundedInteger()
    offline = BoundedInteger()


class SummarySchema(Schema):
    labels = fields.Nested(LabelCountsSchema)
    base_stations = fields.Nested(StationCountsSchema)
    outbox_queue = BoundedInteger(metadata={"description": "outbox rows pending or sent"})
    incidents_by_kind = fields.Dict(keys=fields.String(), values=BoundedInteger())


class BaseStationSchema(Schema):
    id = fields.String()
    name = fields.String()
    online = fields.Boolean()
    last_seen = UtcDateTime(allow_none=True)
    firmware = fields.String()
    queue_depth = BoundedInteger()
    labels = BoundedInteger()
    driver = fields.String(metadata={"description": "the kind of station (its driver)"})
    eta_s = fields.Float(
        allow_none=True,
        metadata={"description": "the station's estimate, in seconds, for what it still holds"},
    )
    pending = BoundedInteger(metadata={"description": "commands waiting for the station"})
    sent = BoundedInteger(metadata={"description": "commands on air, waiting for confirmation"})
    queue_eta_s = fields.Float(
        metadata={"description": "seconds until the queue is through (see eta_source)"}
    )
    eta_source = fields.String(
        metadata={"enum": ["station", "measured", "nominal", "empty"]},
    )
    seconds_per_image = fields.Float(
        allow_none=True, metadata={"description": "pace of the station's recent confirmations"}
    )
    progress_done = BoundedInteger(
        allow_none=True, metadata={"description": "done since the oldest waiting command"}
    )
    progress_total = BoundedInteger(allow_none=True)
    progress_percent = BoundedInteger(allow_none=True)


class BaseStationListSchema(Schema):
    items = fields.List(fields.Nested(BaseStationSchema))


class IncidentSchema(Schema):
    id = BoundedInteger()
    kind = fields.String()
    subject = fields.String()
    message = fields.String()
    created_at = UtcDateTime()


class IncidentPageSchema(Schema):
    items = fields.List(fields.Nested(IncidentSchema))
    counts = fields.Dict(keys=fields.String(), values=BoundedInteger())
    total = BoundedInteger()
    limit = BoundedInteger()
    offset = BoundedInteger()


class SyncRunSchema(Schema):
    id = BoundedInteger()
    feed = fields.String(metadata={"description": "json, csv or odoo"})
    trigger = fields.String(metadata={"description": "schedule, manual, cli or retry"})
    status = fields.String(metadata={"enum": list(SYNC_RUN_STATUSES)})
    full = fields.Boolean()
    requested_at = UtcDateTime()
    started_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)
    duration_s = fields.Float(
        allow_none=True, metadata={"description": "start to finish; so far, while running"}
    )
    since = UtcDateTime(allow_none=True, metadata={"description": "modified-since asked for"})
    phase = fields.String(allow_none=True, metadata={"description": "products or promotions"})
    pages_done = BoundedInteger()
    fetched = BoundedInteger()
    changed = BoundedInteger()
    unchanged = BoundedInteger()
    rejected = BoundedInteger()
    delisted = BoundedInteger()
    other_stores = BoundedInteger(
        metadata={"description": "records of a chain feed naming other stores, passed over"}
    )
    labels_rendered = BoundedInteger()
    labels_queued = BoundedInteger()
    alert = fields.String(allow_none=True, metadata={"description": "e.g. a refused delisting"})
    error = fields.String(allow_none=True)
    retry_of = BoundedInteger(allow_none=True)


class SyncRunPageSchema(Schema):
    items = fields.List(fields.Nested(SyncRunSchema))
    total = BoundedInteger()
    limit = BoundedInteger()
    offset = BoundedInteger()


class DeadLetterSchema(Schema):
    id = BoundedInteger()
    kind = fields.String(metadata={"description": "product or promotion"})
    record_key = fields.String(metadata={"description": "GTIN, promotion id or row number"})
    field = fields.String()
    reason = fields.String()
    raw = fields.String(metadata={"description": "the record as received, truncated"})
    created_at = UtcDateTime()


class DeadLetterPageSchema(Schema):
    items = fields.List(fields.Nested(DeadLetterSchema))
    total = BoundedInteger()
    limit = BoundedInteger()
    offset = BoundedInteger()


class SyncRunDetailSchema(SyncRunSchema):
    dead_letters = fields.Nested(
        DeadLetterPageSchema, metadata={"description": "paged by limit and offset"}
    )


class UserSchema(Schema):
    id = BoundedInteger()
    username = fields.String()
    role = fields.String()
    advertiser_id = BoundedInteger(allow_none=True)
    store_id = fields.String(allow_none=True)
    disabled = fields.Boolean()
    has_api_token = fields.Boolean()


class UserListSchema(Schema):
    items = fields.List(fields.Nested(UserSchema))


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String()


class ErrorSchema(Schema):
    error = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "field name -> messages, for a 400"})


# --- signage: requests -----------------------------------------------------------------

SIGNAGE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # safe as an MQTT topic level
TRIGGER_OUTCOMES = (
    "pending",
    "matched",
    "no_match",
    "rejected",
    "rate_limited",
    "expired_before_delivery",
)
TRIGGER_KINDS = ("audience", "zone", "loyalty")
MAX_PLAYLIST_TEXT = 200_000
MAX_OVERRIDE_SECONDS = 3600
MIN_OVERRIDE_SECONDS = 5


def _signage_id(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(
            SIGNAGE_ID, error="1-64 letters, digits, '.', '_' or '-', starting with one"
        ),
        **kwargs,
    )


def _check_gtin(value: str) -> None:
    try:
        validate_gtin(value)
    except InvalidGTIN as exc:
        raise ValidationError(str(exc)) from exc


def _check_http_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("must be an http:// or https:// URL")


class PlayerCreateSchema(Schema):
    id = _signage_id(required=True)
    name = fields.String(load_default="", validate=validate.Length(max=100))
    zone = _signage_id(required=True, metadata={"description": "created if new"})


class PlaylistTextSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=MAX_PLAYLIST_TEXT))


class AdvertiserCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    contact_email = fields.Email(load_default="")


MAX_CPM = Decimal("99999.99")
# up to 4 decimals (CLF, UYW; KWD has 3); the currency's own minor unit is checked below
CPM_PATTERN = r"^[0-9]{1,5}(\.[0-9]{1,4})?$"


class MoneyAmount(fields.Decimal):
    """A decimal amount in major units ("4.50"), at most MAX_CPM (an exponent like
    "1e999999999" would otherwise become a billion-digit integer); the schema checks its
    decimals against the currency's minor unit (JPY 0, EUR 2, KWD 3)."""

    def _validated(self, value: Any) -> Decimal:
        amount = super()._validated(value)
        if amount is None:
            return amount
        if not amount.is_finite() or amount < 0:
            raise ValidationError("must be a finite amount >= 0")
        if amount > MAX_CPM:
            raise ValidationError(f"must be at most {MAX_CPM}")
        return amount


class CampaignInputSchema(Schema):
    advertiser_id = BoundedInteger(required=True, strict=True, minimum=1)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    starts_at = BoundedAwareDateTime(required=True)
    ends_at = BoundedAwareDateTime(required=True)
    cpm = MoneyAmount(
        required=True,
        as_string=True,
        metadata={
            "description": "price per 1,000 impressions in the currency's major unit, as a "
            'string ("4.50"), at most '
            f"{MAX_CPM}, with no more decimals than the currency's ISO 4217 minor unit "
            "(JPY 0, EUR 2, KWD 3, CLF 4; more is a 400, never rounded); stored as cpm_minor",
            "type": "string",
            "pattern": CPM_PATTERN,
        },
    )
    currency = fields.String(
        load_default="EUR", validate=validate.Regexp(r"^[A-Z]{3}$", error="ISO 4217 code")
    )
    priority = BoundedInteger(load_default=50, strict=True, minimum=0, maximum=100)
    targeting = fields.Dict(
        load_default=dict, metadata={"description": "the shape documented in models.Campaign"}
    )
    frequency_cap_per_hour = BoundedInteger(
        load_default=None, allow_none=True, strict=True, minimum=1
    )
    share_of_voice = fields.Float(
        load_default=1.0, validate=validate.Range(0, 1, min_inclusive=False)
    )

    @validates_schema
    def _flight_order(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "starts_at" in data and "ends_at" in data and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("the flight must end after it starts", "ends_at")

    @validates_schema
    def _cpm_fits_currency(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "cpm" in data and "currency" in data:
            try:
                to_minor(Decimal(data["cpm"]), data["currency"])
            except ValueError as exc:
                raise ValidationError(str(exc), "cpm") from exc

    @validates_schema
    def _valid_targeting(self, data: dict[str, Any], **_kwargs: Any) -> None:
        try:
            parse_targeting(json.dumps(data.get("targeting", {})))
        except ValueError as exc:
            raise ValidationError(str(exc), "targeting") from exc

    @post_load
    def _to_columns(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        data["cpm_minor"] = to_minor(Decimal(data.pop("cpm")), data["currency"])
        data["starts_at"] = data["starts_at"].astimezone(UTC)
        data["ends_at"] = data["ends_at"].astimezone(UTC)
        data["targeting"] = json.dumps(data["targeting"], sort_keys=True)
        return data


class CampaignStatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("active", "paused", "archived")))


class CreativeInputSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(
        required=True, validate=validate.OneOf(("image", "video", "web", "promo_slide"))
    )
    duration_s = fields.Float(load_default=10.0, validate=validate.Range(1, 3600))
    media_sha256 = fields.String(
        validate=validate.Regexp(r"^[0-9a-f]{64}$", error="a lowercase hex sha256")
    )
    url = fields.String(validate=[validate.Length(max=2000), _check_http_url])
    gtin = fields.String(validate=_check_gtin)

    @validates_schema
    def _content_for_kind(self, data: dict[str, Any], **_kwargs: Any) -> None:
        needed = {"image": "media_sha256", "video": "media_sha256", "web": "url"}.get(
            data.get("kind", ""), "gtin"
        )
        if "kind" in data and not data.get(needed):
            raise ValidationError(f"a {data['kind']} creative needs {needed}", needed)


class OverrideCreateSchema(Schema):
    zone = _signage_id(required=True)
    text = fields.String(
        validate=validate.Length(min=1, max=280), metadata={"description": "an announcement"}
    )
    media_sha256 = fields.String(
        validate=validate.Regexp(r"^[0-9a-f]{64}$", error="a lowercase hex sha256")
    )
    gtin = fields.String(validate=_check_gtin, metadata={"description": "a product promo slide"})
    seconds = BoundedInteger(
        required=True,
        strict=True,
        minimum=MIN_OVERRIDE_SECONDS,
        maximum=MAX_OVERRIDE_SECONDS,
    )
    priority = BoundedInteger(load_default=80, strict=True, minimum=0, maximum=100)

    @validates_schema
    def _one_content(self, data: dict[str, Any], **_kwargs: Any) -> None:
        given = [key for key in ("text", "media_sha256", "gtin") if data.get(key)]
        if len(given) != 1:
            raise ValidationError("give exactly one of text, media_sha256 or gtin", "content")


class TriggerQuerySchema(PagingSchema):
    outcome = fields.String(validate=validate.OneOf(TRIGGER_OUTCOMES))
    kind = fields.String(validate=validate.OneOf(TRIGGER_KINDS))
    zone = fields.String(validate=validate.Length(min=1, max=64))
    sensor = fields.String(validate=validate.Length(min=1, max=100))


# --- signage: responses ----------------------------------------------------------------


class ActiveOverrideSchema(Schema):
    id = BoundedInteger()
    kind = fields.String()
    item = fields.String(allow_none=True, metadata={"description": "the item id on screen"})
    priority = BoundedInteger()
    expires_at = UtcDateTime()


class PlayerSchema(Schema):
    id = fields.String()
    name = fields.String()
    zone_id = fields.String()
    online = fields.Boolean()
    last_seen = UtcDateTime(allow_none=True)
    now_playing = fields.String(allow_none=True)
    last_pop_at = UtcDateTime(allow_none=True, metadata={"description": "last proof of play"})
    archived = fields.Boolean()
    active_override = fields.Nested(ActiveOverrideSchema, allow_none=True)


class PlayerListSchema(Schema):
    items = fields.List(fields.Nested(PlayerSchema))


class PlaylistSummarySchema(Schema):
    name = fields.String()
    status = fields.String(metadata={"enum": ["ok", "error", "not loaded"]})
    on_disk = fields.Boolean()
    digest = fields.String(allow_none=True)
    loaded_at = UtcDateTime(allow_none=True)
    error = fields.String(allow_none=True, metadata={"description": "file:line: field: why"})
    error_at = UtcDateTime(allow_none=True)


class PlaylistListSchema(Schema):
    items = fields.List(fields.Nested(PlaylistSummarySchema))


class PlaylistDetailSchema(PlaylistSummarySchema):
    text = fields.String(allow_none=True, metadata={"description": "the file's YAML"})


class MediaAssetSchema(Schema):
    sha256 = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = BoundedInteger()
    created_at = UtcDateTime()
    url = fields.String(metadata={"description": "where players fetch it"})


class MediaAssetListSchema(Schema):
    items = fields.List(fields.Nested(MediaAssetSchema))


class AdvertiserSchema(Schema):
    id = BoundedInteger()
    name = fields.String()
    contact_email = fields.String()


class AdvertiserListSchema(Schema):
    items = fields.List(fields.Nested(AdvertiserSchema))


class CreativeSchema(Schema):
    id = BoundedInteger()
    campaign_id = BoundedInteger()
    name = fields.String()
    kind = fields.String()
    duration_s = fields.Float()
    media_sha256 = fields.String(allow_none=True)
    url = fields.String(allow_none=True)
    gtin = fields.String(allow_none=True)
    archived = fields.Boolean()


class CampaignSchema(Schema):
    id = BoundedInteger()
    advertiser_id = BoundedInteger()
    advertiser = fields.String()
    name = fields.String()
    starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    cpm = fields.String(
        metadata={"description": 'major units with the currency\'s decimals, e.g. "4.50"'}
    )
    cpm_minor = BoundedInteger(
        metadata={"description": "the CPM in the currency's minor unit (JPY 0, EUR 2, KWD 3)"}
    )
    currency = fields.String()
    priority = BoundedInteger()
    targeting = fields.Dict()
    frequency_cap_per_hour = BoundedInteger(allow_none=True)
    share_of_voice = fields.Float()
    status = fields.String(metadata={"enum": ["active", "paused", "archived"]})
    creatives = fields.List(fields.Nested(CreativeSchema))


class CampaignListSchema(Schema):
    items = fields.List(fields.Nested(CampaignSchema))


class OverrideRowSchema(Schema):
    id = BoundedInteger()
    zone_id = fields.String()
    kind = fields.String()
    content = fields.Dict(metadata={"description": "the item the players show"})
    priority = BoundedInteger()
    created_at = UtcDateTime()
    expires_at = UtcDateTime()
    state = fields.String()
    created_by = fields.String()


class TriggerEventSchema(Schema):
    id = BoundedInteger()
    sensor_id = fields.String()
    kind = fields.String()
    zone_id = fields.String(allow_none=True)
    received_at = UtcDateTime()
    occurred_at = UtcDateTime(allow_none=True)
    outcome = fields.String(metadata={"enum": list(TRIGGER_OUTCOMES)})
    reason = fields.String(allow_none=True)
    override_id = BoundedInteger(allow_none=True)


class TriggerCountsSchema(Schema):
    last_hour = fields.Dict(keys=fields.String(), values=BoundedInteger())
    last_24h = fields.Dict(keys=fields.String(), values=BoundedInteger())


class TriggerPageSchema(Schema):
    items = fields.List(fields.Nested(TriggerEventSchema))
    counts = fields.Nested(TriggerCountsSchema, metadata={"description": "by outcome"})
    total = BoundedInteger()
    limit = BoundedInteger()
    offset = BoundedInteger()


class TriggerAcceptedSchema(Schema):
    id = BoundedInteger()
    outcome = fields.String(metadata={"description": "pending: the worker acts on it"})


class TriggerRefusedSchema(Schema):
    error = fields.String()
    field = fields.String()
    privacy = fields.Boolean(metadata={"description": "refused by the privacy guard"})
    trigger_id = BoundedInteger(metadata={"description": "the refusal as recorded"})
