"""Reads behind the reports API and the revenue pages: who may see which campaign, the
delivery log, schedules, revenue over store-local days, and the chain proof."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session

from esl_controller.ads.play_stores import in_store, with_store
from esl_controller.ads.report_rows import hourly_slices, store_timezone
from esl_controller.ads.revenue import Revenue, revenue
from esl_controller.ads.schedules import local_midnight
from esl_controller.ads.verify_cli import prove_impressions
from esl_controller.incidents import record_incident
from esl_controller.models import (
    Campaign,
    Impression,
    ReportDelivery,
    ReportSchedule,
    Store,
)
from esl_controller.web.auth import SessionUser, advertiser_scope

DEFAULT_REVENUE_DAYS = 30
MAX_REVENUE_DAYS = 367  # a year and a day: any leap year with its anniversary
VERIFY_BATCH = 5000


class CampaignForbidden(Exception):
    """A buyer asked for a campaign that is not its advertiser's (logged as an incident)."""


def visible_campaign(session: Session, user: SessionUser, campaign_id: int) -> Campaign | None:
    """The campaign if `user` may see it; None if it does not exist (staff only).

    A buyer gets `CampaignForbidden` both for another advertiser's campaign and for one that
    does not exist, so campaign ids cannot be probed; each refusal is an incident.
    """
    campaign = session.get(Campaign, campaign_id)
    scope = advertiser_scope(user)
    if scope is None:
        return campaign
    if campaign is None or campaign.advertiser_id != scope:
        record_incident(
            session,
            "buyer_forbidden",
            user.username,
            f"buyer {user.username!r} (advertiser #{user.advertiser_id}) asked for campaign "
            f"#{campaign_id}, which is not theirs",
        )
        session.commit()
        raise CampaignForbidden(f"campaign #{campaign_id} is not one of your campaigns")
    return campaign


def visible_campaigns(session: Session, user: SessionUser) -> list[Campaign]:
    query = select(Campaign).order_by(Campaign.starts_at.desc(), Campaign.id)
    scope = advertiser_scope(user)
    if scope is not None:
        query = query.where(Campaign.advertiser_id == scope)
    return list(session.scalars(query))


def list_schedules(session: Session) -> list[ReportSchedule]:
    return list(session.scalars(select(ReportSchedule).order_by(ReportSchedule.id.desc())))


@dataclass(frozen=True)
class DeliveryPage:
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total

    @property
    def has_previous(self) -> bool:
        return self.offset > 0


def list_deliveries(session: Session, status: str | None, limit: int, offset: int) -> DeliveryPage:
    """The delivery log, newest first, with each row's campaign name."""
    query = (
        select(ReportDelivery, ReportSchedule.campaign_id, Campaign.name)
        .join(ReportSchedule, ReportSchedule.id == ReportDelivery.schedule_id)
        .join(Campaign, Campaign.id == ReportSchedule.campaign_id)
    )
    count = select(func.count()).select_from(ReportDelivery)
    if status:
        query = query.where(ReportDelivery.status == status)
        count = count.where(ReportDelivery.status == status)
    rows = session.execute(
        query.order_by(ReportDelivery.id.desc()).limit(limit).offset(offset)
    ).all()
    items = [
        {**delivery.model_dump(), "campaign_id": campaign_id, "campaign_name": name}
        for delivery, campaign_id, name in rows
    ]
    total = session.scalar(count) or 0
    return DeliveryPage(items, total, limit, offset)


def revenue_days(
    session: Session,
    today: datetime,
    first_day: date | None,
    last_day: date | None,
    store_id: str | None = None,
) -> tuple[str, date, date]:
    """(store tz, first day, last day): the last 30 days local to `store_id` unless given."""
    tz = store_timezone(session, store_id)
    last = last_day or today.astimezone(ZoneInfo(tz)).date()
    first = first_day or last - timedelta(days=DEFAULT_REVENUE_DAYS - 1)
    if first > last:
        raise ValueError("from: must not be after to")
    if (last - first).days >= MAX_REVENUE_DAYS:
        raise ValueError(f"to: at most {MAX_REVENUE_DAYS} days at once")
    return tz, first, last


def load_revenue(
    session: Session, tz: str, first_day: date, last_day: date, store_id: str | None
) -> Revenue:
    """The revenue of `store_id`'s screens, or of every store's when None (head office)."""
    start = local_midnight(first_day, tz)
    end = local_midnight(last_day + timedelta(days=1), tz)
    slices = hourly_slices(session, start, end, store_id=store_id)
    names = {store.id: store.name for store in session.scalars(select(Store))}
    return revenue(slices, tz, first_day, last_day, names)


def prove_chain(
    session: Session,
    campaign_id: int,
    anchor: tuple[int, str] | None,
    public_key: str | None = None,
    store_id: str | None = None,
) -> dict[str, Any]:
    """Verify the whole impression chain (records of all campaigns and stores link into one
    chain), its stored checkpoints and the hourly totals reports read, and say where this
    campaign's records sit in it, store by store. `store_id`: the verdict for that store
    (`LookupError` when there is none)."""
    proof = prove_impressions(
        session.get_bind(),
        store_id=store_id,
        campaign_id=campaign_id,
        anchor=anchor,
        public_key=public_key,
    )
    result = proof.result
    query = select(func.count(), func.min(Impression.seq), func.max(Impression.seq)).where(
        Impression.campaign_id == campaign_id
    )
    if store_id is not None:
        query = with_store(query.select_from(Impression), Impression.player_id).where(
            in_store(store_id)
        )
    count, first_seq, last_seq = session.execute(query).one()
    return {
        "ok": result.ok,
        "checked": result.checked,
        "rolled_up": result.rolled_up,
        "first_bad_seq": result.first_bad_seq,
        "first_bad_store": proof.first_bad_store,
        "reason": result.reason,
        "head_seq": result.head_seq,
        "head_hash": result.head_hash,
        "campaign_id": campaign_id,
        "campaign_records": count,
        "campaign_first_seq": first_seq,
        "campaign_last_seq": last_seq,
        "store": store_id,
        "stores": [
            vars(store)
            for store in proof.stores
            if store.records or not store.totals_ok or store_id
        ],
    }
