"""The billing log as report input: the live hourly totals, summed further in SQL.

Reports never load one row per play. Ingest keeps `ImpressionHourTotal` (see
`ads.hour_totals`) per (UTC hour, campaign, player, creative, zone, multiplier source),
covering raw and rolled-up periods alike, and a report asks the database to sum it by the
report's own grouping, so the Python side sees thousands of rows for ten million plays.
Every money figure travels as `spend_basis` (sum of impressions_milli x cpm_minor) and is
rounded only at the end, by the report.

Periods are half-open [start, end) on whole UTC hours: an hour belongs to a period when it
starts inside it (or is the hour `start` falls in).

Stores: a chain's campaign bills plays from many stores into one campaign. A row's store is
its screen's (`ads.play_stores`), and every grouping is also split by store, so a report
can round each store's spend on its own (see `ads.reports`) and be limited to one store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, literal, select, text
from sqlmodel import Session

from esl_controller.ads.hour_totals import NO_CREATIVE
from esl_controller.ads.play_stores import in_store, store_of, with_store
from esl_controller.ads.reports import TIME_GROUPS, ReportRow, Screen, StoreFacts
from esl_controller.ads.schedules import as_utc
from esl_controller.models import ImpressionHourTotal, Store

_T = ImpressionHourTotal
_SUMS = (
    func.sum(_T.plays).label("plays"),
    func.sum(_T.play_ms).label("play_ms"),
    func.sum(_T.impressions_milli).label("impressions_milli"),
    func.sum(_T.spend_basis).label("spend_basis"),
    func.max(_T.currency).label("currency"),
)


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
    store_id: str = ""

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
            store_id=self.store_id,
        )


_STORE = store_of()


def store_facts(session: Session) -> list[StoreFacts]:
    """Every store of the database, by id, with its name and time zone."""
    return [
        StoreFacts(row.id, row.name, row.timezone or "UTC")
        for row in session.execute(select(Store.id, Store.name, Store.timezone).order_by(Store.id))
    ]


def store_timezone(session: Session, store_id: str | None = None) -> str:
    """The IANA time zone of `store_id` (reports group days in it), of the first store when
    none is named; UTC when none is set up."""
    query = select(Store.timezone).order_by(Store.id).limit(1)
    if store_id is not None:
        query = query.where(Store.id == store_id)
    return session.scalars(query).first() or "UTC"


def read_snapshot(session: Session) -> None:
    """Make the session's following reads see one snapshot, so a chain head read first and
    the totals read after it describe the same records (ingest writes both in one
    transaction). Call it before the session's first read."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        if not session.connection().connection.dbapi_connection.in_transaction:
            session.execute(text("BEGIN"))
    elif dialect == "postgresql":
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))


def hourly_slices(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    campaign_id: int | None = None,
    advertiser_id: int | None = None,
    store_id: str | None = None,
) -> list[HourlySlice]:
    """The hourly totals of the hours starting in [start's hour, end), in report order
    (`store_id`: of that store's screens only)."""
    query = _scoped(select(_T, _STORE), start, end, campaign_id, advertiser_id, store_id).order_by(
        _T.hour, _T.campaign_id, _T.player_id, _T.creative_id, _T.multiplier_source
    )
    return [_slice(total, store) for total, store in session.execute(query)]


@dataclass(frozen=True)
class ReportInputs:
    """What `reports.build_report` needs, summed by the database: `rows` per group of the
    report's grouping, `day_rows` per hour (the timeline; None for time groupings, whose
    rows already are per hour) and the screens that played."""

    rows: list[ReportRow]
    day_rows: list[ReportRow] | None
    screens: list[Screen]


def report_inputs(
    session: Session,
    campaign_id: int,
    start: datetime,
    end: datetime,
    group_by: str,
    store_id: str | None = None,
) -> ReportInputs:
    """One campaign's totals over [start, end), grouped in SQL as far as `group_by` allows
    (`store_id`: of that store's screens only)."""
    per_hour = _grouped_rows(session, campaign_id, start, end, "hour", store_id)
    if group_by in TIME_GROUPS:
        rows, day_rows = per_hour, None
    else:
        rows = _grouped_rows(session, campaign_id, start, end, group_by, store_id)
        day_rows = per_hour
    screens = session.execute(
        _scoped(
            select(_T.player_id, func.max(_T.player_name), func.max(_T.zone_id), _STORE),
            start,
            end,
            campaign_id,
            None,
            store_id,
        ).group_by(_T.player_id, _STORE)
    )
    return ReportInputs(rows, day_rows, [Screen(*screen) for screen in screens])


def _grouped_rows(
    session: Session,
    campaign_id: int,
    start: datetime,
    end: datetime,
    group_by: str,
    store_id: str | None,
) -> list[ReportRow]:
    """Rows summed per (store, group, multiplier source); fields outside the group are
    stand-ins (the report reads only the group's own fields, the store and the figures)."""
    hour = func.min(_T.hour).label("hour")
    player = [literal("").label("player_id"), literal("").label("player_name")]
    zone = literal("").label("zone_id")
    creative = [literal(NO_CREATIVE).label("creative_id"), literal("").label("creative_name")]
    keys: list = [_STORE, _T.multiplier_source]
    if group_by == "store":
        pass  # the store is in every grouping's keys
    elif group_by == "hour":
        hour, keys = _T.hour, [_T.hour, *keys]
    elif group_by == "player":
        player = [_T.player_id, func.max(_T.player_name).label("player_name")]
        keys.append(_T.player_id)
    elif group_by == "zone":
        zone = _T.zone_id
        keys.append(_T.zone_id)
    elif group_by == "creative":
        creative = [_T.creative_id, func.max(_T.creative_name).label("creative_name")]
        keys.append(_T.creative_id)
    else:
        raise ValueError(f"cannot group report rows by {group_by!r}")
    query = select(hour, *player, zone, *creative, _T.multiplier_source, _STORE, *_SUMS)
    query = _scoped(query, start, end, campaign_id, None, store_id).group_by(*keys)
    return [
        ReportRow(
            started_at=_parse_hour(row.hour),
            campaign_id=campaign_id,
            player_id=row.player_id or "",
            player_name=row.player_name or "",
            zone_id=row.zone_id or "",
            creative_id=None if row.creative_id == NO_CREATIVE else row.creative_id,
            creative_name=row.creative_name or "",
            multiplier_source=row.multiplier_source,
            plays=int(row.plays),
            play_ms=int(row.play_ms),
            impressions_milli=int(row.impressions_milli),
            spend_basis=int(row.spend_basis),
            currency=row.currency,
            store_id=row.store_id or "",
        )
        for row in session.execute(query)
    ]


def iter_slices_by_month(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    campaign_id: int | None = None,
    advertiser_id: int | None = None,
    store_id: str | None = None,
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
                store_id=store_id,
            ),
        )
        chunk_start = chunk_end


def _next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def _scoped(query, start: datetime, end: datetime, campaign_id, advertiser_id, store_id=None):
    query = with_store(query, _T.player_id)
    query = query.where(_T.hour >= _hour_floor(start), _T.hour < as_utc(end))
    if store_id is not None:
        query = query.where(in_store(store_id))
    if campaign_id is not None:
        query = query.where(_T.campaign_id == campaign_id)
    if advertiser_id is not None:
        query = query.where(_T.advertiser_id == advertiser_id)
    return query


def _hour_floor(moment: datetime) -> datetime:
    return as_utc(moment).replace(minute=0, second=0, microsecond=0)


def _parse_hour(value: object) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    stamp = str(value)  # "YYYY-MM-DD HH:..." (SQLite text from an aggregate)
    return datetime.strptime(stamp[:13], "%Y-%m-%d %H").replace(tzinfo=UTC)


def _slice(row, store_id: str | None = None) -> HourlySlice:
    return HourlySlice(
        hour=_parse_hour(row.hour),
        campaign_id=int(row.campaign_id),
        campaign_name=row.campaign_name or "",
        advertiser_id=int(row.advertiser_id),
        creative_id=None if row.creative_id == NO_CREATIVE else row.creative_id,
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
        store_id=store_id or "",
    )
