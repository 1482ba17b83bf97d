"""The reports part of the JSON API under /api/v1: campaign reports (JSON, CSV, PDF), the
impression chain proof, report schedules, the delivery log and revenue.

Ad buyers (role "buyer", tied to one advertiser) may call the report, proof and campaign
list endpoints, for their own campaigns only: another advertiser's campaign is a 403 and
an incident ("buyer_forbidden"). Managers and admins see everything. Same conventions as
`api.py`: each docstring carries its OpenAPI operation.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, jsonify, request
from marshmallow import ValidationError

from esl_controller.ads import campaign_reports, checkpoints, records_export
from esl_controller.ads.delivery import ScheduleError, create_schedule
from esl_controller.clock import utcnow
from esl_controller.web import auth, report_queries
from esl_controller.web.api import ApiError, api_blueprint, load_body, load_query
from esl_controller.web.database import get_session, get_settings
from esl_controller.web.report_queries import CampaignForbidden
from esl_controller.web.report_schemas import (
    CheckpointSchema,
    PublicKeySchema,
    RecordsExportSchema,
    RecordsQuerySchema,
    ReportCampaignListSchema,
    ReportDeliveryPageSchema,
    ReportDeliveryQuerySchema,
    ReportQuerySchema,
    ReportScheduleCreateSchema,
    ReportScheduleListSchema,
    ReportScheduleSchema,
    RevenueQuerySchema,
    RevenueSchema,
    VerifyQuerySchema,
    VerifyResultSchema,
)
from esl_controller.web.store_scope import current_store_id, current_store_or_chain

REPORT_READERS = (*auth.STAFF_ROLES, auth.BUYER_ROLE)

bp = api_blueprint("reports_api", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.errorhandler(CampaignForbidden)
def forbidden_campaign(error: CampaignForbidden) -> tuple[Response, int]:
    return jsonify(error=str(error)), 403


def report_store() -> str | None:
    """The one store a report or proof is limited to (`?store=`), judged by the report:
    the request-wide store switch leaves it out of the query schemas."""
    return request.args.get("store", "").strip() or None


def _campaign(campaign_id: int):
    campaign = report_queries.visible_campaign(get_session(), g.api_user, campaign_id)
    if campaign is None:
        raise ApiError(404, f"there is no campaign #{campaign_id}")
    return campaign


@bp.get("/reports")
@auth.api_auth(roles=REPORT_READERS)
def get_report() -> Any:
    """A campaign's delivery report.
    ---
    get:
      tags: [reports]
      summary: Plays, impressions, spend and delivery of one campaign, grouped
      description: >
        Buyers may only ask for their own advertiser's campaigns (403 otherwise, logged).
        Figures are exact integer sums; spend is rounded half up once per store, from the
        store's total. `store` limits the report to one store's screens.
      parameters:
        - in: query
          schema: ReportQuerySchema
      responses:
        200:
          description: the report as JSON, CSV (RFC 4180 with comment lines) or PDF
          content:
            application/json: {schema: {type: object}}
            text/csv: {schema: {type: string}}
            application/pdf: {schema: {type: string, format: binary}}
        400: BadRequest
        401: Unauthorized
        403: Forbidden
        404: NotFound
    """
    args = load_query(ReportQuerySchema())
    session = get_session()
    campaign = _campaign(args["campaign"])
    store_id = report_store()
    try:
        _, tz = campaign_reports.report_stores(session, campaign, store_id)
    except campaign_reports.UnknownStoreError as exc:
        raise ValidationError({"store": [str(exc)]}) from None
    try:
        start, end = campaign_reports.report_period(campaign, args.get("from_"), args.get("to"), tz)
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        raise ValidationError({field: [message]}) from None
    rendered = campaign_reports.render_campaign_report(
        session,
        campaign.id,
        start,
        end,
        group_by=args["group_by"],
        fmt=args["format"],
        generated_at=utcnow(),
        store_id=store_id,
    )
    response = Response(rendered.body, content_type=rendered.content_type)
    disposition = "inline" if args["format"] == "json" else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{rendered.filename}"'
    response.headers["Cache-Control"] = "no-store"  # late plays change yesterday's figures
    return response


@bp.get("/reports/campaigns")
@auth.api_auth(roles=REPORT_READERS)
def list_report_campaigns() -> Any:
    """The campaigns the caller may report on.
    ---
    get:
      tags: [reports]
      summary: A buyer's own campaigns (staff see all), newest flight first
      responses:
        200:
          description: the campaigns
          content:
            application/json:
              schema: ReportCampaignListSchema
        401: Unauthorized
    """
    items = report_queries.visible_campaigns(get_session(), g.api_user)
    return ReportCampaignListSchema().dump({"items": items})


@bp.get("/impressions/verify")
@auth.api_auth(roles=REPORT_READERS)
def verify_impressions() -> Any:
    """Prove the impression log was not altered.
    ---
    get:
      tags: [reports]
      summary: Recompute the impression hash chain and locate the campaign's records in it
      description: >
        Every impression record carries the hash of the one before it. `ok` means every raw
        record's hash matches its billed fields and links to its predecessor, and roll-ups
        tile the older part without a hole. Pass a chain head you kept from an earlier report
        (`anchor_seq`, `anchor_hash`) to prove no record was removed since. Every store of
        a chain appends to the one chain; `stores` says where the campaign's records sit
        store by store, and `store` gives the verdict for one store.
      parameters:
        - in: query
          schema: VerifyQuerySchema
      responses:
        200:
          description: the verification result
          content:
            application/json:
              schema: VerifyResultSchema
        400: BadRequest
        401: Unauthorized
        403: Forbidden
        404: NotFound
    """
    args = load_query(VerifyQuerySchema())
    if ("anchor_seq" in args) != ("anchor_hash" in args):
        raise ValidationError({"anchor_hash": ["give anchor_seq and anchor_hash together"]})
    campaign = _campaign(args["campaign"])
    anchor = (args["anchor_seq"], args["anchor_hash"]) if "anchor_seq" in args else None
    try:
        proof = report_queries.prove_chain(
            get_session(), campaign.id, anchor, _public_key(), store_id=report_store()
        )
    except LookupError as exc:
        raise ValidationError({"store": [str(exc)]}) from None
    return VerifyResultSchema().dump(proof)


def _public_key() -> str:
    return checkpoints.public_key_text(checkpoints.signing_key(get_settings()))


@bp.get("/impressions/public-key")
@auth.api_auth(roles=REPORT_READERS)
def get_public_key() -> Any:
    """The key that signs the impression chain's checkpoints.
    ---
    get:
      tags: [reports]
      summary: The store's Ed25519 public key and its newest signed checkpoint
      description: >
        Pin this key: a checkpoint signed with it states the chain's head (seq and hash) at
        a moment, and `verify-impressions --anchor` or your own verifier (docs/reports.md)
        holds the log to it.
      responses:
        200:
          description: the key
          content:
            application/json:
              schema: PublicKeySchema
        401: Unauthorized
    """
    public = _public_key()
    newest = checkpoints.latest(get_session())
    return PublicKeySchema().dump(
        {
            "algorithm": "Ed25519",
            "public_key": public,
            "key_id": checkpoints.key_id(public),
            "latest_checkpoint": None if newest is None else newest.document(public),
        }
    )


@bp.post("/impressions/checkpoints")
@auth.api_auth(roles=auth.STAFF_ROLES)
def create_checkpoint() -> Any:
    """Sign the impression chain's head now.
    ---
    post:
      tags: [reports]
      summary: Take a signed checkpoint of the chain head (the newest one if it has not moved)
      responses:
        201:
          description: the checkpoint
          content:
            application/json:
              schema: CheckpointSchema
        401: Unauthorized
        403: Forbidden
        409:
          description: the chain is empty
    """
    engine = get_session().get_bind()
    checkpoint = checkpoints.take_checkpoint(engine, get_settings(), utcnow())
    if checkpoint is None:
        raise ApiError(409, "the impression chain is empty: nothing to sign yet")
    return CheckpointSchema().dump(checkpoint.document(_public_key())), 201


@bp.get("/campaigns/<int:campaign_id>/impression-records")
@auth.api_auth(roles=REPORT_READERS)
def export_impression_records(campaign_id: int) -> Any:
    """A campaign's impression records, provable with the public key alone.
    ---
    get:
      tags: [reports]
      summary: The campaign's records in full, other records as digests, and the checkpoints
      description: >
        Buyers may only export their own advertiser's campaigns (403 otherwise, logged).
        The export runs up to the newest signed checkpoint; the format and how to verify it
        yourself are in docs/reports.md.
      parameters:
        - in: path
          name: campaign_id
          required: true
          schema: {type: integer}
        - in: query
          schema: RecordsQuerySchema
      responses:
        200:
          description: the export
          content:
            application/json:
              schema: RecordsExportSchema
        400: BadRequest
        401: Unauthorized
        403: Forbidden
        404: NotFound
    """
    args = load_query(RecordsQuerySchema())
    campaign = _campaign(campaign_id)
    export = records_export.export_records(
        get_session(), campaign.id, _public_key(), after_seq=args["after_seq"]
    )
    response = jsonify(RecordsExportSchema().dump(export))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/report-schedules")
@auth.api_auth()
def list_report_schedules() -> Any:
    """Report schedules.
    ---
    get:
      tags: [reports]
      summary: Every scheduled report delivery (daily, weekly, at flight end)
      responses:
        200:
          description: the schedules, newest first
          content:
            application/json:
              schema: ReportScheduleListSchema
        401: Unauthorized
    """
    return ReportScheduleListSchema().dump({"items": report_queries.list_schedules(get_session())})


@bp.post("/report-schedules")
@auth.api_auth()
def create_report_schedule() -> Any:
    """Schedule a report.
    ---
    post:
      tags: [reports]
      summary: Deliver a campaign's report daily, weekly or at flight end by e-mail/webhook
      requestBody:
        required: true
        content:
          application/json:
            schema: ReportScheduleCreateSchema
      responses:
        201:
          description: the schedule
          content:
            application/json:
              schema: ReportScheduleSchema
        400: BadRequest
        401: Unauthorized
    """
    args = load_body(ReportScheduleCreateSchema())
    session = get_session()
    try:
        schedule = create_schedule(
            session,
            campaign_id=args["campaign_id"],
            cadence=args["cadence"],
            report_format=args["format"],
            group_by=args["group_by"],
            email_to=args["email_to"],
            webhook_url=args["webhook_url"],
            webhook_secret_name=args["webhook_secret_name"],
            now=utcnow(),
        )
    except ScheduleError as exc:
        session.rollback()
        raise ValidationError({exc.field: [exc.message]}) from None
    session.commit()
    return ReportScheduleSchema().dump(schedule), 201


@bp.get("/report-deliveries")
@auth.api_auth()
def list_report_deliveries() -> Any:
    """The report delivery log.
    ---
    get:
      tags: [reports]
      summary: Every report sent or being retried, with attempts and the last error
      parameters:
        - in: query
          schema: ReportDeliveryQuerySchema
      responses:
        200:
          description: one page of deliveries, newest first
          content:
            application/json:
              schema: ReportDeliveryPageSchema
        400: BadRequest
        401: Unauthorized
    """
    args = load_query(ReportDeliveryQuerySchema())
    page = report_queries.list_deliveries(
        get_session(), args.get("status"), args["limit"], args["offset"]
    )
    return ReportDeliveryPageSchema().dump(page)


@bp.get("/revenue")
@auth.api_auth()
def get_revenue() -> Any:
    """Ad revenue.
    ---
    get:
      tags: [reports]
      summary: Billed spend by campaign, screen, store and store-local day (default 30 days);
        the current store's screens, or with `chain` (head office) every store's
      parameters:
        - in: query
          schema: RevenueQuerySchema
      responses:
        200:
          description: revenue, per currency
          content:
            application/json:
              schema: RevenueSchema
        400: BadRequest
        401: Unauthorized
    """
    args = load_query(RevenueQuerySchema())
    session = get_session()
    store_id = current_store_or_chain(args["chain"])
    try:
        tz, first, last = report_queries.revenue_days(
            session, utcnow(), args.get("from_"), args.get("to"), current_store_id()
        )
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        raise ValidationError({field: [message]}) from None
    result = report_queries.load_revenue(session, tz, first, last, store_id)
    return RevenueSchema().dump(
        {
            "first_day": first,
            "last_day": last,
            "by_campaign": result.by_campaign,
            "by_screen": result.by_screen,
            "by_store": result.by_store,
            "by_day": result.by_day,
            "totals": result.totals,
        }
    )
