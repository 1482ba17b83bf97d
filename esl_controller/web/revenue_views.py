"""The manager's ad revenue pages: revenue by campaign, screen and day with SVG bar charts,
report schedules (list, create) and the report delivery log. Server-rendered, no scripts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from esl_controller.ads import checkpoints
from esl_controller.ads.campaign_reports import REPORT_FORMATS
from esl_controller.ads.delivery import ScheduleError, create_schedule
from esl_controller.ads.reports import GROUP_BYS, money
from esl_controller.ads.revenue import Revenue, RevenueLine
from esl_controller.ads.schedules import CADENCES
from esl_controller.clock import utcnow
from esl_controller.models import Campaign
from esl_controller.web import report_queries
from esl_controller.web.auth import login_required
from esl_controller.web.bar_chart import Chart, column_bars, horizontal_bars
from esl_controller.web.dashboard import load_filters
from esl_controller.web.database import get_session, get_settings
from esl_controller.web.i18n import gettext_ as _
from esl_controller.web.report_schemas import ReportDeliveryQuerySchema, RevenueQuerySchema
from esl_controller.web.store_scope import (
    current_store_id,
    current_store_or_chain,
    is_head_office,
)

DELIVERIES_PER_PAGE = 50
TOP_BARS = 15  # campaigns / screens drawn; the tables list them all

bp = Blueprint("revenue", __name__, url_prefix="/revenue")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_filter(format_money, "money")


def format_money(amount_minor: int, currency: str) -> str:
    return f"{money(amount_minor, currency):,} {currency}".strip()


@bp.get("")
@login_required
def overview() -> str:
    args = _revenue_dates()
    whole_chain = request.args.get("chain") == "1"
    store_id = current_store_or_chain(whole_chain)
    session = get_session()
    home = current_store_id()
    try:
        tz, first, last = report_queries.revenue_days(
            session, utcnow(), args.get("from_"), args.get("to"), home
        )
    except ValueError as exc:
        flash(_("Ignored the dates: %(reason)s") % {"reason": exc}, "error")
        tz, first, last = report_queries.revenue_days(session, utcnow(), None, None, home)
    result = report_queries.load_revenue(session, tz, first, last, store_id)
    public_key = checkpoints.public_key_text(checkpoints.signing_key(get_settings()))
    return render_template(
        "revenue.html",
        revenue=result,
        first_day=first,
        last_day=last,
        tz=tz,
        charts=_charts(result),
        public_key=public_key,
        key_id=checkpoints.key_id(public_key),
        checkpoint=checkpoints.latest(session),
        whole_chain=whole_chain,
        head_office=is_head_office(),
    )


def _charts(result: Revenue) -> dict[str, Chart]:
    """Charts of the main currency (the one with the most spend); the tables show all."""
    main = max(result.totals, key=lambda line: line.spend_basis).currency if result.totals else ""

    def bars(lines: tuple[RevenueLine, ...], label=lambda line: line.label):
        return [
            (label(line), line.spend_basis, format_money(line.spend_minor, line.currency))
            for line in lines
            if line.currency == main
        ]

    return {
        "campaign": horizontal_bars(bars(result.by_campaign)[:TOP_BARS]),
        "screen": horizontal_bars(bars(result.by_screen)[:TOP_BARS]),
        "day": column_bars(bars(result.by_day, label=lambda line: line.key[5:])),
    }


def _revenue_dates() -> dict[str, Any]:
    raw = {key: value for key, value in request.args.items() if key in ("from", "to") and value}
    try:
        return RevenueQuerySchema().load(raw)
    except ValidationError as exc:
        flash(_("Ignored the dates: %(reason)s") % {"reason": exc.messages}, "error")
        return {}


@bp.get("/schedules")
@login_required
def schedules() -> str:
    session = get_session()
    campaigns = list(session.scalars(select(Campaign).order_by(Campaign.name)))
    return render_template(
        "report_schedules.html",
        schedules=report_queries.list_schedules(session),
        campaigns=campaigns,
        names={campaign.id: campaign.name for campaign in campaigns},
        cadences=CADENCES,
        formats=REPORT_FORMATS,
        group_bys=GROUP_BYS,
        form=request.args,
    )


@bp.post("/schedules")
@login_required
def create() -> Any:
    form = request.form
    session = get_session()
    campaign_id = form.get("campaign_id", "")
    try:
        schedule = create_schedule(
            session,
            campaign_id=int(campaign_id) if campaign_id.isdigit() else 0,
            cadence=form.get("cadence", ""),
            report_format=form.get("format", ""),
            group_by=form.get("group_by", ""),
            email_to=form.get("email_to", ""),
            webhook_url=form.get("webhook_url", ""),
            webhook_secret_name=form.get("webhook_secret_name", ""),
            now=utcnow(),
        )
    except ScheduleError as exc:
        session.rollback()
        flash(_("Not scheduled: %(reason)s") % {"reason": exc}, "error")
        return redirect(url_for("revenue.schedules"))
    session.commit()
    first = f"{schedule.next_run_at:%Y-%m-%d %H:%M} UTC" if schedule.next_run_at else _("never")
    created = {"id": schedule.id, "first": first}
    flash(_("Report schedule #%(id)s created; first delivery %(first)s.") % created, "success")
    return redirect(url_for("revenue.schedules"))


@bp.get("/deliveries")
@login_required
def deliveries() -> str:
    args, errors = load_filters(ReportDeliveryQuerySchema(), DELIVERIES_PER_PAGE)
    for error in errors:
        flash(_("Ignored filter %(filter)s") % {"filter": error}, "error")
    page = report_queries.list_deliveries(
        get_session(), args.get("status"), args["limit"], args["offset"]
    )
    return render_template(
        "report_deliveries.html",
        page=page,
        status=args.get("status"),
        statuses=("pending", "sent", "failed"),
    )
