"""Marshmallow schemas of the reports API (requests and responses), kept apart from the
label/signage schemas; apispec finds them by class name for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from esl_controller.ads.campaign_reports import (
    FIRST_BOUND_YEAR,
    LAST_BOUND_YEAR,
    PERIOD_BOUND_PATTERN,
    REPORT_FORMATS,
)
from esl_controller.ads.delivery import CHANNELS
from esl_controller.ads.reports import GROUP_BYS
from esl_controller.ads.schedules import CADENCES
from esl_controller.web.bounded_fields import BoundedDate, BoundedInteger
from esl_controller.web.report_queries import MAX_REVENUE_DAYS
from esl_controller.web.schemas import PagingSchema, UtcDateTime

BOUND_HELP = (
    "a store-local date (YYYY-MM-DD; `to` includes that whole day) or an ISO-8601 date-time "
    "with its offset (YYYY-MM-DDTHH:MM[:SS[.ffffff]] then Z or +HH:MM), in the years "
    f"{FIRST_BOUND_YEAR} to {LAST_BOUND_YEAR}"
)


def _period_bound(description: str, **kwargs: Any) -> fields.String:
    return fields.String(
        **kwargs,
        validate=validate.Regexp(
            PERIOD_BOUND_PATTERN, error="YYYY-MM-DD or a date-time with offset"
        ),
        metadata={"description": description, "pattern": PERIOD_BOUND_PATTERN},
    )


class ReportQuerySchema(Schema):
    campaign = BoundedInteger(required=True, minimum=1)
    from_ = _period_bound(
        f"start of the period: {BOUND_HELP}; default flight start", data_key="from"
    )
    to = _period_bound(f"end of the period, after `from`: {BOUND_HELP}; default flight end")
    group_by = fields.String(load_default="day", validate=validate.OneOf(GROUP_BYS))
    format = fields.String(load_default="json", validate=validate.OneOf(REPORT_FORMATS))
    store = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "one store's id: that store's plays only; default every store"},
    )


class VerifyQuerySchema(Schema):
    campaign = BoundedInteger(required=True, minimum=1)
    store = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={
            "description": "one store's id: the verdict for that store (the whole chain must "
            "link; its screens' hourly totals must reconcile); default every store"
        },
    )
    anchor_seq = BoundedInteger(
        minimum=1,
        metadata={
            "description": "the seq of a chain head you were given earlier (a report's "
            "chain_head or a checkpoint); give it with anchor_hash: both or neither"
        },
    )
    anchor_hash = fields.String(
        validate=validate.Regexp(r"^[0-9a-f]{64}$"),
        metadata={
            "description": "that chain head's hash (64 lowercase hex digits); give it with "
            "anchor_seq: both or neither, one alone is a 400"
        },
    )


class StoreProofSchema(Schema):
    store_id = fields.String()
    records = fields.Integer(metadata={"description": "raw records of the campaign there"})
    first_seq = fields.Integer(allow_none=True)
    last_seq = fields.Integer(allow_none=True)
    checkpoints = fields.Integer(metadata={"description": "checkpoints its worker signed"})
    latest_checkpoint_seq = fields.Integer(allow_none=True)
    totals_ok = fields.Boolean(metadata={"description": "its screens' totals reconcile"})
    problems = fields.List(fields.String())


class VerifyResultSchema(Schema):
    ok = fields.Boolean()
    checked = fields.Integer(metadata={"description": "raw records whose hash was recomputed"})
    rolled_up = fields.Integer(metadata={"description": "records replaced by hourly roll-ups"})
    first_bad_seq = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    head_seq = fields.Integer(allow_none=True)
    head_hash = fields.String()
    campaign_id = fields.Integer()
    campaign_records = fields.Integer(metadata={"description": "raw records of this campaign"})
    campaign_first_seq = fields.Integer(allow_none=True)
    campaign_last_seq = fields.Integer(allow_none=True)
    first_bad_store = fields.String(allow_none=True)
    store = fields.String(allow_none=True, metadata={"description": "the store asked for"})
    stores = fields.List(
        fields.Nested(StoreProofSchema),
        metadata={"description": "each store the campaign played in (or the one asked for)"},
    )


class ReportCampaignSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    advertiser_id = fields.Integer()
    starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    status = fields.String()


class ReportCampaignListSchema(Schema):
    items = fields.List(fields.Nested(ReportCampaignSchema))


class ReportScheduleCreateSchema(Schema):
    campaign_id = BoundedInteger(required=True, minimum=1)
    cadence = fields.String(required=True, validate=validate.OneOf(CADENCES))
    format = fields.String(load_default="pdf", validate=validate.OneOf(REPORT_FORMATS))
    group_by = fields.String(load_default="day", validate=validate.OneOf(GROUP_BYS))
    email_to = fields.String(load_default="", validate=validate.Length(max=1000))
    webhook_url = fields.String(load_default="", validate=validate.Length(max=1000))
    webhook_secret_name = fields.String(
        load_default="",
        validate=validate.Length(max=64),
        metadata={"description": "the HMAC key is read from ESL_WEBHOOK_SECRET_<NAME>"},
    )


class ReportScheduleSchema(Schema):
    id = fields.Integer()
    advertiser_id = fields.Integer()
    campaign_id = fields.Integer()
    cadence = fields.String()
    format = fields.String()
    group_by = fields.String()
    email_to = fields.String()
    webhook_url = fields.String()
    webhook_secret_name = fields.String()
    next_run_at = UtcDateTime(allow_none=True)
    active = fields.Boolean()


class ReportScheduleListSchema(Schema):
    items = fields.List(fields.Nested(ReportScheduleSchema))


class ReportDeliveryQuerySchema(PagingSchema):
    status = fields.String(validate=validate.OneOf(("pending", "sent", "failed")))


class ReportDeliverySchema(Schema):
    id = fields.Integer()
    schedule_id = fields.Integer()
    campaign_id = fields.Integer()
    campaign_name = fields.String()
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    status = fields.String()
    period_from = UtcDateTime()
    period_to = UtcDateTime()
    attempts = fields.Integer()
    next_attempt_at = UtcDateTime()
    created_at = UtcDateTime()
    sent_at = UtcDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    body_sha256 = fields.String()


class ReportDeliveryPageSchema(Schema):
    items = fields.List(fields.Nested(ReportDeliverySchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class RevenueQuerySchema(Schema):
    chain = fields.Boolean(
        load_default=False,
        metadata={
            "description": "head office: every store's screens (days local to the current "
            "store); otherwise the current store's only"
        },
    )
    from_ = BoundedDate(
        data_key="from",
        metadata={
            "description": "first store-local day (YYYY-MM-DD, 1970 to 2199), not after `to`; "
            "default 29 days before `to`"
        },
    )
    to = BoundedDate(
        metadata={
            "description": "last store-local day, inclusive (YYYY-MM-DD, 1970 to 2199); "
            f"default today; at most {MAX_REVENUE_DAYS} days from `from` to `to`"
        }
    )


class RevenueLineSchema(Schema):
    key = fields.String()
    label = fields.String()
    currency = fields.String()
    plays = fields.Integer()
    impressions_milli = fields.Integer()
    spend_minor = fields.Integer()


class RevenueSchema(Schema):
    first_day = fields.Date()
    last_day = fields.Date()
    by_campaign = fields.List(fields.Nested(RevenueLineSchema))
    by_screen = fields.List(fields.Nested(RevenueLineSchema))
    by_store = fields.List(fields.Nested(RevenueLineSchema))
    by_day = fields.List(fields.Nested(RevenueLineSchema))
    totals = fields.List(fields.Nested(RevenueLineSchema))


class PublicKeySchema(Schema):
    algorithm = fields.String(metadata={"description": "Ed25519"})
    public_key = fields.String(metadata={"description": "the 32-byte public key, base64"})
    key_id = fields.String(metadata={"description": "first 16 hex digits of its sha256"})
    latest_checkpoint = fields.Dict(allow_none=True, metadata={"description": "CheckpointSchema"})


class CheckpointSchema(Schema):
    format = fields.String(metadata={"description": "esl-checkpoint-v1"})
    store_id = fields.String()
    head_seq = fields.Integer()
    head_hash = fields.String()
    created_at = fields.String(metadata={"description": "UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ"})
    key_id = fields.String()
    public_key = fields.String()
    signature = fields.String(metadata={"description": "Ed25519 over the signed bytes, base64"})


class RecordsQuerySchema(Schema):
    after_seq = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0),
        metadata={"description": "only records after this seq (a checkpoint you already hold)"},
    )


class ExportRecordSchema(Schema):
    seq = fields.Integer()
    prev_hash = fields.String()
    hash = fields.String()
    fields_ = fields.Dict(
        data_key="fields",
        attribute="fields",
        metadata={"description": "your record's billed fields"},
    )
    digest = fields.String(metadata={"description": "another campaign's record: its digest only"})


class RecordsExportSchema(Schema):
    format = fields.String(metadata={"description": "esl-impression-export-v1"})
    chain_version = fields.String()
    campaign_id = fields.Integer()
    billed_fields = fields.List(fields.String())
    public_key = fields.String()
    key_id = fields.String()
    after_seq = fields.Integer()
    prev_hash = fields.String(allow_none=True)
    records = fields.List(fields.Nested(ExportRecordSchema))
    checkpoints = fields.List(fields.Nested(CheckpointSchema))
