"""Live hourly impression totals: what every report reads.

Ingest adds each batch's impressions here in the batch's own transaction, summed in Python
per (hour, campaign, advertiser, player, creative, zone, multiplier source) and written with
one upsert per group (`INSERT ... ON CONFLICT DO UPDATE SET plays = plays + excluded.plays`).
So a report over ten million plays reads a few thousand rows, and retention, which replaces
old raw rows with roll-ups, never has to touch this table: those plays are already counted.
Filling the table from history (the v5 migration) is `db.fill_impression_hour_totals`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from esl_controller.ads.impressions import as_utc
from esl_controller.models import NO_CREATIVE, ImpressionHourTotal

KEY_COLUMNS = (
    "hour",
    "campaign_id",
    "advertiser_id",
    "player_id",
    "creative_id",
    "zone_id",
    "multiplier_source",
)
SUMMED_COLUMNS = ("plays", "play_ms", "impressions_milli", "spend_basis")
NAME_COLUMNS = ("campaign_name", "creative_name", "player_name", "currency")
_TABLE = ImpressionHourTotal.__table__


def group_impressions(impressions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Impression rows (as ingest builds them) summed per hourly key; names: the last seen."""
    groups: dict[tuple, dict[str, Any]] = {}
    for row in impressions:
        hour = as_utc(row["started_at"]).replace(minute=0, second=0, microsecond=0)
        creative = row["creative_id"] if row["creative_id"] is not None else NO_CREATIVE
        key = (
            hour,
            row["campaign_id"],
            row["advertiser_id"],
            row["player_id"],
            creative,
            row["zone_id"] or "",
            row["multiplier_source"],
        )
        group = groups.get(key)
        if group is None:
            group = groups[key] = dict(zip(KEY_COLUMNS, key, strict=True))
            group.update(plays=0, play_ms=0, impressions_milli=0, spend_basis=0)
        group["plays"] += 1
        group["play_ms"] += row["play_ms"]
        group["impressions_milli"] += row["impressions_milli"]
        group["spend_basis"] += row["impressions_milli"] * row["cpm_minor"]
        for name in NAME_COLUMNS:
            group[name] = row[name] or ""
    return list(groups.values())


def add_impressions(session: Session, impressions: Iterable[Mapping[str, Any]]) -> int:
    """Add impression rows to the live totals inside the caller's transaction; returns the
    number of hourly groups written."""
    groups = group_impressions(impressions)
    if groups:
        session.execute(_upsert(session.get_bind().dialect.name), groups)
    return len(groups)


def _upsert(dialect: str):
    if dialect == "sqlite":
        statement = sqlite.insert(_TABLE)
    elif dialect == "postgresql":
        statement = postgresql.insert(_TABLE)
    else:
        raise ValueError(f"no upsert for database dialect {dialect!r}")
    excluded = statement.excluded
    updates = {name: _TABLE.c[name] + excluded[name] for name in SUMMED_COLUMNS}
    updates.update({name: excluded[name] for name in NAME_COLUMNS})
    return statement.on_conflict_do_update(index_elements=list(KEY_COLUMNS), set_=updates)
