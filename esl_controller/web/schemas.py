"""Marshmallow schemas for the JSON API: they validate requests, shape responses and
are the source of the OpenAPI document's components, so the three never disagree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, fields, validate

from esl_controller.esl.protocol import LED_COLOURS, LED_MAX_SECONDS, LED_PATTERNS
from esl_controller.web.auth import MIN_PASSWORD_LENGTH, ROLES, USERNAME_PATTERN
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
    limit = fields.Integer(
        load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE_SIZE)
    )
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class LabelQuerySchema(PagingSchema):
    state = fields.String(validate=validate.OneOf(LABEL_STATES))
    base_station = fields.String(validate=validate.Length(min=1, max=100))
    template = fields.String(validate=validate.Length(min=1, max=100))
    q = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "text in the label id, product name or GTIN"},
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
    seconds = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=LED_MAX_SECONDS)
    )


class UserCreateSchema(Schema):
    username = fields.String(
        required=True,
        validate=validate.Regexp(USERNAME_PATTERN, error="1-64 letters, digits or . _ @ -"),
    )
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=MIN_PASSWORD_LENGTH)
    )
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


# --- responses -------------------------------------------------------------------------


class LabelSchema(Schema):
    id = fields.String()
    state = fields.String(metadata={"enum": list(LABEL_STATES)})
    model = fields.String()
    template = fields.String()
    base_station_id = fields.String()
    product_id = fields.Integer(allow_none=True)
    gtin = fields.String(allow_none=True)
    product_name = fields.String(allow_none=True)
    battery = fields.Integer(allow_none=True, metadata={"description": "percent"})
    signal = fields.Integer(allow_none=True, metadata={"description": "dBm"})
    temperature = fields.Float(allow_none=True, metadata={"description": "degrees C"})
    last_seen = UtcDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    seq = fields.Integer()
    shown_seq = fields.Integer()
    updated_at = UtcDateTime()


class LabelPageSchema(Schema):
    items = fields.List(fields.Nested(LabelSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class OutboxEntrySchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    seq = fields.Integer()
    priority = fields.Integer()
    state = fields.String()
    attempts = fields.Integer()
    reason = fields.String(allow_none=True)
    created_at = UtcDateTime()
    done_at = UtcDateTime(allow_none=True)


class LabelDetailSchema(LabelSchema):
    outbox = fields.List(fields.Nested(OutboxEntrySchema), metadata={"description": "last 10"})


class CommandQueuedSchema(Schema):
    queued = fields.Boolean()
    outbox_id = fields.Integer(allow_none=True)
    label_id = fields.String()
    kind = fields.String(allow_none=True)
    seq = fields.Integer(allow_none=True)
    priority = fields.Integer(allow_none=True)
    state = fields.String(allow_none=True)


class LabelCountsSchema(Schema):
    by_state = fields.Dict(keys=fields.String(), values=fields.Integer())
    total = fields.Integer()
    bound = fields.Integer(metadata={"description": "labels with a product (not unbound)"})
    up_to_date = fields.Integer(metadata={"description": "labels whose image is acked"})


class StationCountsSchema(Schema):
    online = fields.Integer()
    offline = fields.Integer()


class SummarySchema(Schema):
    labels = fields.Nested(LabelCountsSchema)
    base_stations = fields.Nested(StationCountsSchema)
    outbox_queue = fields.Integer(metadata={"description": "outbox rows pending or sent"})
    incidents_by_kind = fields.Dict(keys=fields.String(), values=fields.Integer())


class BaseStationSchema(Schema):
    id = fields.String()
    name = fields.String()
    online = fields.Boolean()
    last_seen = UtcDateTime(allow_none=True)
    firmware = fields.String()
    queue_depth = fields.Integer()
    labels = fields.Integer()


class BaseStationListSchema(Schema):
    items = fields.List(fields.Nested(BaseStationSchema))


class IncidentSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    subject = fields.String()
    message = fields.String()
    created_at = UtcDateTime()


class IncidentPageSchema(Schema):
    items = fields.List(fields.Nested(IncidentSchema))
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class SyncRunSchema(Schema):
    id = fields.Integer()
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
    pages_done = fields.Integer()
    fetched = fields.Integer()
    changed = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.Integer()
    delisted = fields.Integer()
    labels_rendered = fields.Integer()
    labels_queued = fields.Integer()
    alert = fields.String(allow_none=True, metadata={"description": "e.g. a refused delisting"})
    error = fields.String(allow_none=True)
    retry_of = fields.Integer(allow_none=True)


class SyncRunPageSchema(Schema):
    items = fields.List(fields.Nested(SyncRunSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class DeadLetterSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "product or promotion"})
    record_key = fields.String(metadata={"description": "GTIN, promotion id or row number"})
    field = fields.String()
    reason = fields.String()
    raw = fields.String(metadata={"description": "the record as received, truncated"})
    created_at = UtcDateTime()


class DeadLetterPageSchema(Schema):
    items = fields.List(fields.Nested(DeadLetterSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class SyncRunDetailSchema(SyncRunSchema):
    dead_letters = fields.Nested(
        DeadLetterPageSchema, metadata={"description": "paged by limit and offset"}
    )


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
    has_api_token = fields.Boolean()


class UserListSchema(Schema):
    items = fields.List(fields.Nested(UserSchema))


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String()


class ErrorSchema(Schema):
    error = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "field name -> messages, for a 400"})
