"""The buyer portal: an ad buyer's own campaigns, their delivery against the goal, plays and
impressions by day, screen and hour (and by store, for a campaign of several stores), report
downloads and the proof that the impression log was not altered.

The figures are the campaign report's (ads/campaign_reports.py), so the page, the CSV, the
PDF and the JSON always agree. A buyer reaches only their advertiser's campaigns: any other
campaign id is a 404 (and an incident), never a hint that it exists. Staff may open the
portal too, to see what a buyer sees.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, render_template
from flask_login import current_user
from werkzeug.exceptions import NotFound

from esl_controller.ads import campaign_reports, checkpoints
from esl_controller.ads.reports import Report, percent
from esl_controller.clock import utcnow
from esl_controller.models import Campaign
from esl_controller.web import auth, report_queries
from esl_controller.web.database import get_session, get_settings
from esl_controller.web.i18n import N_
from esl_controller.web.report_queries import CampaignForbidden

PORTAL_ROLES = (*auth.STAFF_ROLES, auth.BUYER_ROLE)
BREAKDOWNS = (("day", N_("By day")), ("player", N_("By screen")), ("hour", N_("By hour")))
BY_STORE = ("store", N_("By store"))

bp = Blueprint("portal", __name__, url_prefix="/portal")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_filter(format_percent, "percent")


def format_percent(tenths: int | None) -> str:
    value = percent(tenths)
    return "–" if value is None else f"{value}%"


def _report(campaign: Campaign, group_by: str) -> Report:
    assert campaign.id is not None
    return campaign_reports.build_campaign_report(
        get_session(),
        campaign.id,
        campaign.starts_at,
        campaign.ends_at,
        group_by=group_by,
        generated_at=utcnow(),
    )


def _own_campaign(campaign_id: int) -> Campaign:
    try:
        campaign = report_queries.visible_campaign(get_session(), current_user, campaign_id)
    except CampaignForbidden:
        campaign = None
    if campaign is None:
        raise NotFound(f"You have no campaign #{campaign_id}.")
    return campaign


@bp.get("/")
@auth.roles_required(PORTAL_ROLES)
def campaigns() -> str:
    session = get_session()
    rows: list[dict[str, Any]] = []
    for campaign in report_queries.visible_campaigns(session, current_user):
        rows.append({"campaign": campaign, "report": _report(campaign, "day")})
    return render_template("portal_campaigns.html", rows=rows)


@bp.get("/campaigns/<int:campaign_id>")
@auth.roles_required(PORTAL_ROLES)
def campaign(campaign_id: int) -> str:
    chosen = _own_campaign(campaign_id)
    breakdowns = [(key, title, _report(chosen, key)) for key, title in BREAKDOWNS]
    by_store = _report(chosen, BY_STORE[0])
    if len(by_store.stores) > 1:
        breakdowns.insert(1, (*BY_STORE, by_store))
    return render_template(
        "portal_campaign.html",
        campaign=chosen,
        report=breakdowns[0][2],
        breakdowns=breakdowns,
        formats=campaign_reports.REPORT_FORMATS,
    )


@bp.get("/campaigns/<int:campaign_id>/verify")
@auth.roles_required(PORTAL_ROLES)
def verify(campaign_id: int) -> str:
    chosen = _own_campaign(campaign_id)
    session = get_session()
    public_key = checkpoints.public_key_text(checkpoints.signing_key(get_settings()))
    assert chosen.id is not None
    proof = report_queries.prove_chain(session, chosen.id, None, public_key)
    checkpoint = checkpoints.latest(session)
    return render_template(
        "portal_verify.html",
        campaign=chosen,
        proof=proof,
        checkpoint=checkpoint,
        signature_problem=checkpoints.signature_problem(checkpoint, public_key)
        if checkpoint
        else None,
        public_key=public_key,
        key_id=checkpoints.key_id(public_key),
    )
