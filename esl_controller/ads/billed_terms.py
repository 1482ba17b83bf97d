"""What may not change on a campaign once it has billed: its currency and its advertiser.

An impression row keeps the currency and advertiser it was billed under, and reports read a
campaign's figures in its currency for its advertiser; changing either afterwards would turn
the history into another currency's amounts or another buyer's bill.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.models import Campaign, Impression, ImpressionHourTotal

FROZEN_FIELDS = ("currency", "advertiser_id")


def has_billed(session: Session, campaign_id: int) -> bool:
    """Whether any impression was ever billed to the campaign (raw or already rolled up)."""
    for table in (Impression, ImpressionHourTotal):
        found = session.execute(
            select(table.campaign_id).where(table.campaign_id == campaign_id).limit(1)
        ).first()
        if found is not None:
            return True
    return False


def frozen_change(session: Session, campaign: Campaign, values: Mapping[str, Any]) -> str | None:
    """Why `values` may not be applied to a campaign that has billed, or None."""
    changed = [
        name for name in FROZEN_FIELDS if name in values and values[name] != getattr(campaign, name)
    ]
    if not changed or campaign.id is None or not has_billed(session, campaign.id):
        return None
    names = " and ".join(changed)
    return (
        f"campaign #{campaign.id} has billed impressions: its {names} cannot change "
        "(create a new campaign instead)"
    )
