"""The billing log as report input: raw impressions and hourly roll-ups, summed per hour.

Reports never load one row per play. The database sums the raw `Impression` rows per
(UTC hour, creative, player, zone, multiplier source) and the `ImpressionHourly` roll-ups
already have that shape, so both arrive as the same `HourlySlice`s and a report over ten
million plays reads a few thousand rows. Every money figure travels as `spend_basis`
(sum of impressions_milli x cpm_minor) and is rounded only at the end, by the report.

Periods are half-open [start, end) on the play's start time. Roll-ups are whole UTC hours,
so a period that starts or ends inside an hour includes that hour's roll-ups whole when the
hour starts inside the period.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, union_all
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from esl_controller.ads.reports import ReportRow
from esl_controller.ads.schedules import as_utc
from esl_controller.models import Impression, ImpressionHourly, Store


@dataclass(frozen=True)
class HourlySlice:
    """Impressions of one campaign in one UTC hour on one screen with one creative."""

    hour: datetime  # UTC, aware, start of the hour
    campaign_id: int
    campaign_name: str
    advertiser_id: int
    creative_id: int | None
    creative_name: str
    player_id: str
    player_name: str
    zone_id: str
    multiplier_source: str  # measured | declared
    plays: int
    play_ms: int
    impressions_milli: int
    spend_basis: int  # sum of impressions_milli x cpm_minor
    currency: str

    def as_report_row(self) -> ReportRow:
        return ReportRow(
            started_at=self.hour,
            campaign_id=self.campaign_id,
            player_id=self.player_id,
            player_name=self.player_name,
            zone_id=self.zone_id,
            creative_id=self.creative_id,
            creative_name=self.creative_name,
            multiplier_source=self.multiplier_source,
            plays=self.plays,
            play_ms=self.play_ms,
            impressions_milli=self.impressions_milli,
            spend_basis=self.spend_basis,
            currency=self.currency,
        )


def store_timezone(session: Session) -> str:
    """The store's IANA time zone (reports group days in it); UTC when none is set up."""
    zone = session.scalars(select(Store.timezone).order_by(Store.id).limit(1)).first()
    return zone or "UTC"


def hourly_slices(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    campaign_id: int | None = None,
    advertiser_id: int | None = None,
    max_seq: int | None = None,
) -> list[HourlySlice]:
    """Raw impressions and roll-ups with start <= play start < end, summed per hour.

    `max_seq` leaves out raw rows appended after a chain head the caller read first, so a
    report's figures and the chain head stamped on it describe the same records.
    """
    raw_hour = _hour_bucket(session, Impression.started_at)
    raw = select(
        raw_hour.label("hour"),
        Impression.campaign_id,
        func.max(Impression.campaign_name).label("campaign_name"),
        func.max(Impression.advertiser_id).label("advertiser_id"),
        Impression.creative_id,
        func.max(Impression.creative_name).label("creative_name"),
        Impression.player_id,
        func.max(Impression.player_name).label("player_name"),
        Impression.zone_id,
        Impression.multiplier_source,
        func.count().label("plays"),
        func.sum(Impression.play_ms).label("play_ms"),
        func.sum(Impression.impressions_milli).label("impressions_milli"),
        func.sum(Impression.impressions_milli * Impression.cpm_minor).label("spend_basis"),
        func.max(Impression.currency).label("currency"),
    ).where(Impression.started_at >= start, Impression.started_at < end)
    if max_seq is not None:
        raw = raw.where(Impression.seq <= max_seq)
    raw = _scope(raw, Impression, campaign_id, advertiser_id).group_by(
        raw_hour,
        Impression.campaign_id,
        Impression.creative_id,
        Impression.player_id,
        Impression.zone_id,
        Impression.multiplier_source,
    )
    rolled = select(
        _hour_text(session, ImpressionHourly.hour).label("hour"),
        ImpressionHourly.campaign_id,
        ImpressionHourly.campaign_name,
        ImpressionHourly.advertiser_id,
        ImpressionHourly.creative_id,
        ImpressionHourly.creative_name,
        ImpressionHourly.player_id,
        ImpressionHourly.player_name,
        ImpressionHourly.zone_id,
        ImpressionHourly.multiplier_source,
        ImpressionHourly.plays,
        ImpressionHourly.play_ms,
        ImpressionHourly.impressions_milli,
        ImpressionHourly.spend_basis,
        ImpressionHourly.currency,
    ).where(ImpressionHourly.hour >= _hour_floor(start), ImpressionHourly.hour < end)
    rolled = _scope(rolled, ImpressionHourly, campaign_id, advertiser_id)
    rows = session.execute(union_all(raw, rolled)).all()
    return sorted(
        (_slice(row) for row in rows),
        key=lambda item: (item.hour, item.campaign_id, item.player_id, item.creative_id or 0),
    )


def iter_slices_by_month(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    campaign_id: int | None = None,
    advertiser_id: int | None = None,
    max_seq: int | None = None,
) -> Iterator[tuple[datetime, list[HourlySlice]]]:
    """The same slices a month at a time, for callers that show progress on long ranges;
    yields (end of the chunk, its slices)."""
    chunk_start = as_utc(start)
    end = as_utc(end)
    while chunk_start < end:
        chunk_end = min(_next_month(chunk_start), end)
        yield (
            chunk_end,
            hourly_slices(
                session,
                chunk_start,
                chunk_end,
                campaign_id=campaign_id,
                advertiser_id=advertiser_id,
                max_seq=max_seq,
            ),
        )
        chunk_start = chunk_end


def _next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def _scope(query, table, campaign_id: int | None, advertiser_id: int | None):
    if campaign_id is not None:
        query = query.where(table.campaign_id == campaign_id)
    if advertiser_id is not None:
        query = query.where(table.advertiser_id == advertiser_id)
    return query


def _hour_bucket(session: Session, column) -> ColumnElement:
    """The start of the column's UTC hour, as text on SQLite (cheap: a prefix of the stored
    'YYYY-MM-DD HH:MM:SS' string) and as a timestamp on PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        return func.substr(column, 1, 13)
    return func.date_trunc("hour", column)


def _hour_text(session: Session, column) -> ColumnElement:
    if session.get_bind().dialect.name == "sqlite":
        return func.substr(column, 1, 13)
    return column


def _hour_floor(moment: datetime) -> datetime:
    return as_utc(moment).replace(minute=0, second=0, microsecond=0)


def _parse_hour(value: object) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    text = str(value)  # "YYYY-MM-DD HH" (SQLite prefix)
    return datetime.strptime(text[:13], "%Y-%m-%d %H").replace(tzinfo=UTC)


def _slice(row) -> HourlySlice:
    return HourlySlice(
        hour=_parse_hour(row.hour),
        campaign_id=int(row.campaign_id),
        campaign_name=row.campaign_name or "",
        advertiser_id=int(row.advertiser_id),
        creative_id=row.creative_id,
        creative_name=row.creative_name or "",
        player_id=row.player_id or "",
        player_name=row.player_name or "",
        zone_id=row.zone_id or "",
        multiplier_source=row.multiplier_source,
        plays=int(row.plays or 0),
        play_ms=int(row.play_ms or 0),
        impressions_milli=int(row.impressions_milli or 0),
        spend_basis=int(row.spend_basis or 0),
        currency=row.currency or "",
    )
