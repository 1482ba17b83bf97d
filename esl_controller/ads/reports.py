"""Campaign delivery reports for ad buyers: build (pure) and write as JSON, CSV or PDF.

Every figure is derived from integer sums (plays, play_ms, impressions_milli, spend_basis),
never from rounded parts, so the total is the same to the cent whatever the grouping.
Money: each store bills its own plays, so a store's spend is
`round_half_up(its spend_basis / 1,000,000)` and the total is the sum of the stores'; within
a store, group spends are the group bases floored, plus one minor unit to the groups with
the largest remainders (ties: report order) until they add up to the store's spend (largest
remainder method), and a group's spend is the sum of its stores' shares. One store: one
rounding on the total. A chain campaign's report therefore equals, group by group and to the
cent, the sum of its per-store reports. docs/reports.md describes every field for buyers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from esl_controller.ads.currency import minor_digits, to_major
from esl_controller.ads.impressions import (
    DECLARED,
    MEASURED,
    SPEND_BASIS_PER_MINOR,
    as_utc,
    divide_half_up,
    spend_minor,
)

REPORT_VERSION = 1
GROUP_BYS = ("day", "hour", "store", "player", "zone", "creative")
TIME_GROUPS = ("day", "hour")
GOAL_KINDS = ("plays", "impressions", "budget")
MAX_TIMELINE_DAYS = 1000


@dataclass(frozen=True)
class ReportRow:
    """One raw impression (plays=1) or one hourly roll-up, as a report reads it."""

    started_at: datetime  # UTC; for a roll-up, the start of its hour
    campaign_id: int
    player_id: str
    player_name: str
    zone_id: str
    creative_id: int | None
    creative_name: str
    multiplier_source: str  # measured | declared
    plays: int
    play_ms: int
    impressions_milli: int
    spend_basis: int  # sum of impressions_milli x cpm_minor
    currency: str
    store_id: str = ""  # the screen's store ("" before stores were known: one store)


@dataclass(frozen=True)
class StoreFacts:
    """A store whose screens a report covers; its days and hours are in its time zone."""

    id: str
    name: str
    timezone: str


@dataclass(frozen=True)
class CampaignFacts:
    id: int
    name: str
    advertiser: str
    currency: str
    cpm_minor: int
    goal_kind: str  # plays | impressions | budget
    goal_value: int  # plays, whole impressions, or minor units of money
    starts_at: datetime
    ends_at: datetime
    venue_type: str  # OpenOOH venue taxonomy, e.g. "retail.grocery"


@dataclass(frozen=True)
class Screen:
    player_id: str
    player_name: str
    zone_id: str
    store_id: str = ""


@dataclass(frozen=True)
class ReportGroup:
    key: str
    label: str
    plays: int
    play_ms: int
    impressions_milli: int
    spend_basis: int
    spend_minor: int
    measured_plays: int
    declared_plays: int
    delivery_tenths: int | None  # delivery against the goal, tenths of a percent
    cumulative_delivery_tenths: int | None = None  # time groups only

    @property
    def play_seconds(self) -> Decimal:
        return Decimal(self.play_ms) / 1000

    @property
    def impressions(self) -> Decimal:
        return Decimal(self.impressions_milli) / 1000

    @property
    def ecpm_minor(self) -> int | None:
        """Effective CPM: spend per 1,000 impressions, from the sums (None without impressions)."""
        if self.impressions_milli == 0:
            return None
        return divide_half_up(self.spend_basis, self.impressions_milli)


@dataclass(frozen=True)
class TimelinePoint:
    day: date  # store-local
    plays: int
    impressions_milli: int
    spend_basis: int
    cumulative_delivery_tenths: int | None


@dataclass(frozen=True)
class Report:
    campaign: CampaignFacts
    group_by: str
    tz: str
    generated_at: datetime
    period_from: datetime | None
    period_to: datetime | None
    screens: tuple[Screen, ...]
    groups: tuple[ReportGroup, ...]
    total: ReportGroup
    timeline: tuple[TimelinePoint, ...]
    chain_head: tuple[int, str] | None = None
    version: int = field(default=REPORT_VERSION)
    stores: tuple[StoreFacts, ...] = ()  # the stores the report covers, by id
    store_filter: str | None = None  # the one store asked for, None: every store


# --- rows from storage ----------------------------------------------------------------------


def row_from_impression(row: Any) -> ReportRow:
    """A raw `models.Impression` (or anything with its attributes) as one report row."""
    return ReportRow(
        started_at=as_utc(row.started_at),
        campaign_id=row.campaign_id,
        player_id=row.player_id,
        player_name=row.player_name or "",
        zone_id=row.zone_id or "",
        creative_id=row.creative_id,
        creative_name=row.creative_name or "",
        multiplier_source=row.multiplier_source,
        plays=1,
        play_ms=row.play_ms,
        impressions_milli=row.impressions_milli,
        spend_basis=row.impressions_milli * row.cpm_minor,
        currency=row.currency,
    )


def row_from_hourly(row: Any) -> ReportRow:
    """A `models.ImpressionHourly` roll-up as one report row (at the start of its hour)."""
    return ReportRow(
        started_at=as_utc(row.hour),
        campaign_id=row.campaign_id,
        player_id=row.player_id,
        player_name=row.player_name or "",
        zone_id=row.zone_id or "",
        creative_id=row.creative_id,
        creative_name=row.creative_name or "",
        multiplier_source=row.multiplier_source,
        plays=row.plays,
        play_ms=row.play_ms,
        impressions_milli=row.impressions_milli,
        spend_basis=row.spend_basis,
        currency=row.currency,
    )


# --- building -------------------------------------------------------------------------------


@dataclass
class _Sums:
    label: str
    order: tuple
    plays: int = 0
    play_ms: int = 0
    impressions_milli: int = 0
    spend_basis: int = 0
    measured_plays: int = 0
    declared_plays: int = 0
    basis_by_store: dict[str, int] = field(default_factory=dict)

    def add(self, row: ReportRow) -> None:
        self.plays += row.plays
        self.play_ms += row.play_ms
        self.impressions_milli += row.impressions_milli
        self.spend_basis += row.spend_basis
        self.basis_by_store[row.store_id] = (
            self.basis_by_store.get(row.store_id, 0) + row.spend_basis
        )
        if row.multiplier_source == MEASURED:
            self.measured_plays += row.plays
        else:
            self.declared_plays += row.plays


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}") from None


def _group_key(
    row: ReportRow, group_by: str, zone: ZoneInfo, store_names: Mapping[str, str]
) -> tuple[str, str, tuple]:
    """(key, label, sort order) of the group a row belongs to (`zone`: its store's)."""
    started_at = as_utc(row.started_at)  # a naive time would otherwise be machine-local
    if group_by == "day":
        day = started_at.astimezone(zone).date()  # a play spanning midnight: its start day
        return day.isoformat(), day.isoformat(), (day.isoformat(),)
    if group_by == "hour":
        local = started_at.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        key = local.isoformat(timespec="minutes")  # the offset tells DST's repeated hour apart
        return key, local.strftime("%Y-%m-%d %H:%M %z"), (local.astimezone(UTC).isoformat(),)
    if group_by == "store":
        label = store_names.get(row.store_id) or row.store_id or "(no store)"
        return row.store_id, label, (label.casefold(), row.store_id)
    if group_by == "player":
        label = row.player_name or row.player_id
        return row.player_id, label, (label.casefold(), row.player_id)
    if group_by == "zone":
        return row.zone_id, row.zone_id or "(no zone)", (row.zone_id.casefold(), row.zone_id)
    creative = "" if row.creative_id is None else str(row.creative_id)
    label = row.creative_name or (f"creative {creative}" if creative else "(no creative)")
    return creative, label, (label.casefold(), creative)


def _check_row(row: ReportRow, campaign: CampaignFacts) -> None:
    if row.campaign_id != campaign.id:
        raise ValueError(f"row of campaign {row.campaign_id} in a report of campaign {campaign.id}")
    if row.currency != campaign.currency:
        raise ValueError(
            f"row in {row.currency} in a report in {campaign.currency}: currencies never mix"
        )
    if row.multiplier_source not in (MEASURED, DECLARED):
        raise ValueError(f"unknown multiplier source {row.multiplier_source!r}")
    if min(row.plays, row.play_ms, row.impressions_milli, row.spend_basis) < 0:
        raise ValueError(f"negative figures in a report row: {row}")


def allocate_largest_remainder(bases: Sequence[int], total_minor: int) -> list[int]:
    """Split `total_minor` over groups in proportion to their spend bases, exactly.

    Each group gets its basis floored to minor units; the units left over go one each to the
    groups with the largest remainders, ties to the earlier group.
    """
    floors = [basis // SPEND_BASIS_PER_MINOR for basis in bases]
    left = total_minor - sum(floors)
    if left < 0 or left > len(bases):
        raise ValueError(f"cannot allocate {total_minor} over bases summing to {sum(bases)}")
    by_remainder = sorted(range(len(bases)), key=lambda i: (-(bases[i] % SPEND_BASIS_PER_MINOR), i))
    for index in by_remainder[:left]:
        floors[index] += 1
    return floors


def _goal_tenths(campaign: CampaignFacts) -> Callable[[int, int, int], int | None]:
    """delivered (plays, impressions_milli, spend_minor) -> tenths of a percent of the goal."""
    if campaign.goal_kind not in GOAL_KINDS:
        raise ValueError(f"goal kind must be one of {GOAL_KINDS}, got {campaign.goal_kind!r}")
    goal = campaign.goal_value

    def tenths(plays: int, impressions_milli: int, spent_minor: int) -> int | None:
        if goal <= 0:
            return None
        if campaign.goal_kind == "plays":
            return divide_half_up(plays * 1000, goal)
        if campaign.goal_kind == "impressions":
            return divide_half_up(impressions_milli, goal)  # x1000 / (goal x 1000)
        return divide_half_up(spent_minor * 1000, goal)

    return tenths


def _store_spends(sums: Sequence[_Sums]) -> list[int]:
    """Each group's spend in minor units: every store's own total rounded once and split over
    its groups by largest remainder, then summed per group across stores."""
    spends = [0] * len(sums)
    for store in sorted({store for s in sums for store in s.basis_by_store}):
        bases = [s.basis_by_store.get(store, 0) for s in sums]
        shares = allocate_largest_remainder(bases, spend_minor(sum(bases)))
        spends = [spent + share for spent, share in zip(spends, shares, strict=True)]
    return spends


def _finish_groups(
    sums: list[tuple[str, _Sums]], campaign: CampaignFacts, cumulative: bool
) -> list[ReportGroup]:
    tenths = _goal_tenths(campaign)
    spends = _store_spends([s for _, s in sums])
    groups, running = [], [0, 0, 0]
    for (key, s), spent in zip(sums, spends, strict=True):
        running = [running[0] + s.plays, running[1] + s.impressions_milli, running[2] + spent]
        groups.append(
            ReportGroup(
                key=key,
                label=s.label,
                plays=s.plays,
                play_ms=s.play_ms,
                impressions_milli=s.impressions_milli,
                spend_basis=s.spend_basis,
                spend_minor=spent,
                measured_plays=s.measured_plays,
                declared_plays=s.declared_plays,
                delivery_tenths=tenths(s.plays, s.impressions_milli, spent),
                cumulative_delivery_tenths=tenths(*running) if cumulative else None,
            )
        )
    return groups


def _timeline(
    day_groups: Sequence[ReportGroup], period: tuple[date, date] | None, campaign: CampaignFacts
) -> tuple[TimelinePoint, ...]:
    """Delivery per store-local day, days without plays included, for the PDF chart."""
    by_day = {date.fromisoformat(g.key): g for g in day_groups}
    if period is None and not by_day:
        return ()
    first, last = period or (min(by_day), max(by_day))
    if by_day:
        first, last = min(first, *by_day), max(last, *by_day)
    if (last - first).days >= MAX_TIMELINE_DAYS:
        first = last - timedelta(days=MAX_TIMELINE_DAYS - 1)
    points, day = [], first
    while day <= last:
        group = by_day.get(day)
        points.append(
            TimelinePoint(
                day=day,
                plays=group.plays if group else 0,
                impressions_milli=group.impressions_milli if group else 0,
                spend_basis=group.spend_basis if group else 0,
                cumulative_delivery_tenths=_cumulative_before(day_groups, day, campaign),
            )
        )
        day += timedelta(days=1)
    return tuple(points)


def _cumulative_before(
    day_groups: Sequence[ReportGroup], day: date, campaign: CampaignFacts
) -> int | None:
    latest = None
    for group in day_groups:
        if date.fromisoformat(group.key) <= day:
            latest = group.cumulative_delivery_tenths
    if latest is None and campaign.goal_value > 0:
        return 0
    return latest


def _period_days(
    period_from: datetime | None, period_to: datetime | None, zone: ZoneInfo
) -> tuple[date, date] | None:
    if period_from is None or period_to is None:
        return None
    first = as_utc(period_from).astimezone(zone).date()
    last = (as_utc(period_to) - timedelta(microseconds=1)).astimezone(zone).date()  # to: exclusive
    return (first, max(first, last))


@dataclass(frozen=True)
class _Places:
    """The report's time zone, and each store's zone and name."""

    default: ZoneInfo
    zones: Mapping[str, ZoneInfo]
    names: Mapping[str, str]

    def zone_of(self, row: ReportRow) -> ZoneInfo:
        return self.zones.get(row.store_id, self.default)


def _aggregate(
    rows: Iterable[ReportRow],
    group_by: str,
    places: _Places,
    campaign: CampaignFacts,
    screens: dict[str, Screen],
    also_days: dict[str, _Sums] | None,
) -> list[tuple[str, _Sums]]:
    groups: dict[str, _Sums] = {}
    for row in rows:
        _check_row(row, campaign)
        zone = places.zone_of(row)
        key, label, order = _group_key(row, group_by, zone, places.names)
        groups.setdefault(key, _Sums(label, order)).add(row)
        if also_days is not None:
            day_key, day_label, day_order = _group_key(row, "day", zone, places.names)
            also_days.setdefault(day_key, _Sums(day_label, day_order)).add(row)
        screens.setdefault(
            row.player_id, Screen(row.player_id, row.player_name, row.zone_id, row.store_id)
        )
    return sorted(groups.items(), key=lambda item: item[1].order)


def build_report(
    rows: Iterable[ReportRow],
    group_by: str,
    tz: str,
    campaign: CampaignFacts,
    *,
    generated_at: datetime,
    period_from: datetime | None = None,
    period_to: datetime | None = None,
    chain_head: tuple[int, str] | None = None,
    day_rows: Iterable[ReportRow] | None = None,
    screens: Iterable[Screen] | None = None,
    stores: Sequence[StoreFacts] = (),
    store_filter: str | None = None,
) -> Report:
    """One campaign's delivery, grouped by store-local day or hour, store, player, zone or
    creative.

    `rows` are that campaign's impressions (raw and rolled up) already limited to the
    period [period_from, period_to); `generated_at` and `chain_head` (the impression chain's
    last seq and hash when the rows were read) are stamped on the report as given.

    Rows summed by the database per group (see `report_rows.report_inputs`) carry no
    screens or days of their own: the caller then passes the same figures per hour as
    `day_rows` (for the timeline) and the `screens` that played.

    `stores`: the stores covered, whose own time zones place a row's day and hour (`tz`
    for a row of any other store); `store_filter`: the one store the rows were limited to.
    """
    if group_by not in GROUP_BYS:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BYS)}, got {group_by!r}")
    zone = _zone(tz)
    places = _Places(
        zone, {s.id: _zone(s.timezone) for s in stores}, {s.id: s.name for s in stores}
    )
    found_screens: dict[str, Screen] = {}
    days: dict[str, _Sums] | None = None if group_by == "day" else {}
    sums = _aggregate(
        rows, group_by, places, campaign, found_screens, days if day_rows is None else None
    )
    if day_rows is not None and days is not None:
        days = dict(_aggregate(day_rows, "day", places, campaign, {}, None))
    if screens is not None:
        found_screens = {screen.player_id: screen for screen in screens}
    total = _Sums("Total", ())
    for _, group in sums:
        for name in (
            "plays",
            "play_ms",
            "impressions_milli",
            "spend_basis",
            "measured_plays",
            "declared_plays",
        ):
            setattr(total, name, getattr(total, name) + getattr(group, name))
        for store, basis in group.basis_by_store.items():
            total.basis_by_store[store] = total.basis_by_store.get(store, 0) + basis
    groups = _finish_groups(sums, campaign, group_by in TIME_GROUPS)
    day_sums = sums if days is None else sorted(days.items(), key=lambda item: item[1].order)
    day_groups = groups if days is None else _finish_groups(day_sums, campaign, True)
    (total_group,) = _finish_groups([("total", total)], campaign, False)
    return Report(
        campaign=campaign,
        group_by=group_by,
        tz=tz,
        generated_at=as_utc(generated_at),
        period_from=as_utc(period_from) if period_from else None,
        period_to=as_utc(period_to) if period_to else None,
        screens=tuple(sorted(found_screens.values(), key=lambda s: s.player_name or s.player_id)),
        groups=tuple(groups),
        total=total_group,
        timeline=_timeline(day_groups, _period_days(period_from, period_to, zone), campaign),
        chain_head=chain_head,
        stores=tuple(sorted(stores, key=lambda s: s.id)),
        store_filter=store_filter,
    )


# --- formatting -----------------------------------------------------------------------------


def currency_exponent(currency: str) -> int:
    return minor_digits(currency)


def money(amount_minor: int, currency: str) -> Decimal:
    """Minor units as a Decimal in major units with the currency's decimals (1250 -> 12.50)."""
    return to_major(amount_minor, currency)


def percent(tenths: int | None) -> Decimal | None:
    return None if tenths is None else (Decimal(tenths) / 10).quantize(Decimal("0.1"))


def thousandths(value_milli: int) -> Decimal:
    return (Decimal(value_milli) / 1000).quantize(Decimal("0.001"))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else as_utc(moment).isoformat().replace("+00:00", "Z")


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def group_dict(group: ReportGroup, currency: str) -> dict[str, Any]:
    ecpm = group.ecpm_minor
    return {
        "key": group.key,
        "label": group.label,
        "plays": group.plays,
        "play_ms": group.play_ms,
        "play_seconds": str(thousandths(group.play_ms)),
        "impressions": str(thousandths(group.impressions_milli)),
        "impressions_milli": group.impressions_milli,
        "measured_plays": group.measured_plays,
        "declared_plays": group.declared_plays,
        "ecpm": _text(None if ecpm is None else money(ecpm, currency)),
        "ecpm_minor": ecpm,
        "spend": str(money(group.spend_minor, currency)),
        "spend_minor": group.spend_minor,
        "spend_basis": group.spend_basis,
        "delivery_pct": _text(percent(group.delivery_tenths)),
        "cumulative_delivery_pct": _text(percent(group.cumulative_delivery_tenths)),
    }


def report_dict(report: Report) -> dict[str, Any]:
    campaign, currency = report.campaign, report.campaign.currency
    head = report.chain_head
    return {
        "report_version": report.version,
        "generated_at": _iso(report.generated_at),
        "campaign": {
            "id": campaign.id,
            "name": campaign.name,
            "advertiser": campaign.advertiser,
            "currency": currency,
            "cpm": str(money(campaign.cpm_minor, currency)),
            "cpm_minor": campaign.cpm_minor,
            "flight": {"from": _iso(campaign.starts_at), "to": _iso(campaign.ends_at)},
            "venue_type": campaign.venue_type,
            "goal": {"kind": campaign.goal_kind, "value": campaign.goal_value},
        },
        "period": {
            "from": _iso(report.period_from),
            "to": _iso(report.period_to),
            "time_zone": report.tz,
        },
        "group_by": report.group_by,
        "store": report.store_filter,
        "stores": [{"id": s.id, "name": s.name, "time_zone": s.timezone} for s in report.stores],
        "screens": [
            {"id": s.player_id, "name": s.player_name, "zone": s.zone_id, "store": s.store_id}
            for s in report.screens
        ],
        "groups": [group_dict(g, currency) for g in report.groups],
        "total": group_dict(report.total, currency),
        "chain_head": None if head is None else {"seq": head[0], "hash": head[1]},
    }


def to_json(report: Report) -> bytes:
    """The report as UTF-8 JSON (money and decimals as strings, integers alongside)."""
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


CSV_COLUMNS = (
    "key", "label", "plays", "play_seconds", "impressions", "measured_plays", "declared_plays",
    "ecpm", "spend", "currency", "delivery_pct", "cumulative_delivery_pct",
)  # fmt: skip
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is prefixed with '."""
    text = "" if value is None else str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def csv_comments(report: Report) -> list[str]:
    campaign, head = report.campaign, report.chain_head
    goal = f"{campaign.goal_value} {campaign.goal_kind}" if campaign.goal_value else "none"
    lines = [
        "Proof-of-play report",
        f"campaign: {campaign.id} {campaign.name}",
        f"advertiser: {campaign.advertiser}",
        f"flight: {_iso(campaign.starts_at)} to {_iso(campaign.ends_at)}",
        f"period: {_iso(report.period_from) or 'all'} to {_iso(report.period_to) or 'all'}",
        f"grouped by: {report.group_by} (time zone {report.tz})",
        f"stores: {store_list(report)}",
        f"venue type: {campaign.venue_type}",
        f"screens: {len(report.screens)}",
        f"goal: {goal}",
        f"CPM: {money(campaign.cpm_minor, campaign.currency)} {campaign.currency}",
        f"generated at: {_iso(report.generated_at)}",
        "spend = impressions / 1000 x CPM, rounded half up once on the total; "
        "group spends add up to the total (largest remainder)",
    ]
    if head is not None:
        lines.append(f"impression chain head: seq {head[0]} sha256 {head[1]}")
    return ["# " + _one_line(line) for line in lines]


def store_list(report: Report) -> str:
    """The stores a report covers, for its header lines; "all" when none are known."""
    if report.store_filter is not None:
        return f"{report.store_filter} only"
    if not report.stores:
        return "all"
    return ", ".join(f"{s.id} ({s.timezone})" for s in report.stores)


def to_csv(report: Report) -> bytes:
    """RFC 4180 CSV (CRLF, quoted as needed) after `# ` comment lines; last row: the total."""
    out = io.StringIO()
    for line in csv_comments(report):
        out.write(line + "\r\n")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    currency = report.campaign.currency
    for group in (*report.groups, report.total):
        values = group_dict(group, currency)
        values["currency"] = currency
        writer.writerow([_cell(values[column]) for column in CSV_COLUMNS])
    return out.getvalue().encode("utf-8")


def to_pdf(report: Report) -> bytes:
    """A one-look PDF for the buyer (see report_pdf)."""
    from esl_controller.ads.report_pdf import render_pdf  # fpdf2 is only needed for PDFs

    return render_pdf(report)
