"""The campaigns a trigger can be matched against, read from the database in one go.

In a chain, one database holds every store's campaigns: a worker takes only those that run
in its store (targeting `stores`, empty: every store), with its zones' kinds, so a chain
campaign aimed at "dairy" finds each store's dairy zone.

The trigger pipeline keeps the result and a background thread refreshes it, so a trigger
never waits for these queries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.models import Advertiser, Campaign, Creative, Store, Zone
from esl_controller.signage.targeting import CampaignInfo, CreativeInfo, parse_targeting

log = logging.getLogger(__name__)

PACING_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class CampaignSnapshot:
    campaigns: tuple[CampaignInfo, ...] = ()
    timezone: str = "UTC"
    zone_kinds: Mapping[str, str] = field(default_factory=dict)  # the store's zone id -> kind


def load_campaigns(session: Session, store_id: str, now: datetime) -> CampaignSnapshot:
    """Campaigns in flight (or starting within the hour) that run in `store_id`, with their
    live creatives."""
    store = session.get(Store, store_id)
    rows = session.execute(
        select(Campaign, Advertiser.name)
        .join(Advertiser, Advertiser.id == Campaign.advertiser_id)
        .where(
            Campaign.status == "active",
            Campaign.ends_at > now,
            Campaign.starts_at <= now + PACING_WINDOW,
        )
    ).all()
    creatives: dict[int, list[CreativeInfo]] = {}
    if rows:
        for creative in session.scalars(
            select(Creative).where(
                Creative.campaign_id.in_([c.id for c, _ in rows]),
                Creative.archived.is_(False),
            )
        ).all():
            creatives.setdefault(creative.campaign_id, []).append(
                CreativeInfo(
                    id=creative.id,
                    name=creative.name,
                    kind=creative.kind,
                    duration_s=creative.duration_s,
                    media_sha256=creative.media_sha256,
                    url=creative.url,
                    gtin=creative.gtin,
                )
            )
    campaigns = []
    for campaign, advertiser in rows:
        try:
            targeting = parse_targeting(campaign.targeting)
        except ValueError as exc:
            log.warning("campaign %s skipped: %s", campaign.id, exc)
            continue
        if not targeting.runs_in_store(store_id):
            continue
        campaigns.append(
            CampaignInfo(
                id=campaign.id,
                name=campaign.name,
                advertiser=advertiser,
                priority=campaign.priority,
                starts_at=campaign.starts_at,
                ends_at=campaign.ends_at,
                targeting=targeting,
                frequency_cap_per_hour=campaign.frequency_cap_per_hour,
                share_of_voice=campaign.share_of_voice,
                creatives=tuple(creatives.get(campaign.id, ())),
            )
        )
    zones = session.execute(select(Zone.id, Zone.kind).where(Zone.store_id == store_id)).all()
    zone_kinds = {zone_id: kind for zone_id, kind in zones}
    return CampaignSnapshot(tuple(campaigns), store.timezone if store else "UTC", zone_kinds)
