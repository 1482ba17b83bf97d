"""One campaign's report from the database, encoded as JSON, CSV or PDF.

The thin shell around the pure `reports.build_report`: it reads the campaign's facts and
the chain head, then the billing log's hourly slices up to that head, so the figures and
the chain head stamped on the report describe exactly the same records. Used by the
reports API, scheduled delivery and the `esl-controller report` command.

A chain campaign's report covers the stores its targeting names (none: every store), or
the one store asked for (`store_id`); each store's days and hours are in its time zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.ads import reports
from esl_controller.ads.report_rows import (
    HourlySlice,
    read_snapshot,
    report_inputs,
    store_facts,
    store_timezone,
)
from esl_controller.ads.schedules import as_utc, local_midnight
from esl_controller.models import Advertiser, Campaign, Impression, ImpressionHourly
from esl_controller.signage.targeting import parse_targeting

REPORT_FORMATS = ("json", "csv", "pdf")
# A period bound: a calendar date, or a date-time with its UTC offset (Z or +HH:MM), to the
# minute, second or microsecond. Python's fromisoformat takes more (20260301T0000Z, a space
# for the T), which the API document could not state.
PERIOD_BOUND_PATTERN = (
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    "(T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2}))?$"
)
# The years 1970 to 2199 in any time zone: wide enough for any flight, narrow enough that
# every bound converts to UTC and back.
FIRST_BOUND_YEAR, LAST_BOUND_YEAR = 1970, 2199
EARLIEST_BOUND = datetime(FIRST_BOUND_YEAR - 1, 12, 31, tzinfo=UTC)
LATEST_BOUND = datetime(LAST_BOUND_YEAR + 1, 1, 2, tzinfo=UTC)
CONTENT_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
}
ENCODERS: dict[str, Callable[[reports.Report], bytes]] = {
    "json": reports.to_json,
    "csv": reports.to_csv,
    "pdf": reports.to_pdf,
}


@dataclass(frozen=True)
class RenderedReport:
    body: bytes
    content_type: str
    filename: str
    report: reports.Report


def campaign_facts(session: Session, campaign: Campaign) -> reports.CampaignFacts:
    advertiser = session.get(Advertiser, campaign.advertiser_id)
    assert campaign.id is not None
    return reports.CampaignFacts(
        id=campaign.id,
        name=campaign.name,
        advertiser=advertiser.name if advertiser else f"#{campaign.advertiser_id}",
        currency=campaign.currency,
        cpm_minor=campaign.cpm_minor,
        goal_kind=campaign.goal_kind,
        goal_value=campaign.goal_value,
        starts_at=as_utc(campaign.starts_at),
        ends_at=as_utc(campaign.ends_at),
        venue_type=campaign.venue_type,
    )


def chain_head(session: Session) -> tuple[int, str] | None:
    """The impression chain's last (seq, hash): the newest raw row, else the newest roll-up."""
    raw = session.execute(
        select(Impression.seq, Impression.hash).order_by(Impression.seq.desc()).limit(1)
    ).first()
    if raw is not None:
        return int(raw.seq), raw.hash
    rolled = session.execute(
        select(ImpressionHourly.last_seq, ImpressionHourly.segment_hash)
        .where(ImpressionHourly.last_seq > 0)
        .order_by(ImpressionHourly.last_seq.desc())
        .limit(1)
    ).first()
    return (int(rolled.last_seq), rolled.segment_hash) if rolled else None


class UnknownStoreError(LookupError):
    """A report asked for a store that does not exist."""


def report_stores(
    session: Session, campaign: Campaign, store_id: str | None
) -> tuple[list[reports.StoreFacts], str]:
    """The stores a campaign's report covers and the time zone it is stamped with: the
    store asked for, else the stores its targeting names (none: every store). The zone is
    theirs when they share one, else the first store's (each store's rows still group in
    its own). `UnknownStoreError` for a store that does not exist."""
    every = store_facts(session)
    if store_id is not None:
        covered = [store for store in every if store.id == store_id]
        if not covered:
            known = ", ".join(store.id for store in every) or "none"
            raise UnknownStoreError(f"there is no store {store_id!r} (the stores are {known})")
    else:
        try:
            named = parse_targeting(campaign.targeting).stores
        except ValueError:
            named = frozenset()
        covered = [store for store in every if not named or store.id in named]
    if not covered:
        return [], store_timezone(session)
    zones = {store.timezone for store in covered}
    return covered, zones.pop() if len(zones) == 1 else covered[0].timezone


def build_campaign_report(
    session: Session,
    campaign_id: int,
    start: datetime,
    end: datetime,
    *,
    group_by: str,
    generated_at: datetime,
    slices: Iterable[HourlySlice] | None = None,
    head: tuple[int, str] | None = None,
    store_id: str | None = None,
) -> reports.Report:
    """The report of one campaign over [start, end), of every store it ran in or of
    `store_id` alone. `LookupError` for an unknown campaign or store.

    Callers that read the hourly slices themselves (the CLI, in chunks with progress) pass
    them with the chain head they read first (already limited to `store_id`); otherwise
    the database sums the live totals by the report's grouping.
    """
    if slices is None:
        read_snapshot(session)  # the chain head and the totals: one snapshot
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(f"there is no campaign #{campaign_id}")
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        raise ValueError(
            f"the period must end after it starts ({start:%Y-%m-%d} .. {end:%Y-%m-%d})"
        )
    facts = campaign_facts(session, campaign)
    stores, tz = report_stores(session, campaign, store_id)
    if slices is not None:
        return reports.build_report(
            (item.as_report_row() for item in slices),
            group_by,
            tz,
            facts,
            generated_at=generated_at,
            period_from=start,
            period_to=end,
            chain_head=head,
            stores=stores,
            store_filter=store_id,
        )
    if group_by not in reports.GROUP_BYS:  # checked before any SQL is built from it
        raise ValueError(
            f"group_by must be one of {', '.join(reports.GROUP_BYS)}, got {group_by!r}"
        )
    head = chain_head(session)
    inputs = report_inputs(session, campaign_id, start, end, group_by, store_id)
    return reports.build_report(
        inputs.rows,
        group_by,
        tz,
        facts,
        generated_at=generated_at,
        period_from=start,
        period_to=end,
        chain_head=head,
        day_rows=inputs.day_rows,
        screens=inputs.screens,
        stores=stores,
        store_filter=store_id,
    )


def encode_report(report: reports.Report, fmt: str) -> RenderedReport:
    if fmt not in ENCODERS:
        raise ValueError(f"format must be one of {', '.join(REPORT_FORMATS)}, got {fmt!r}")
    start = f"{report.period_from:%Y%m%d}" if report.period_from else "start"
    end = f"{report.period_to:%Y%m%d}" if report.period_to else "end"
    store = f"-store-{report.store_filter}" if report.store_filter is not None else ""
    name = f"report-campaign-{report.campaign.id}{store}-{start}-{end}-{report.group_by}"
    filename = f"{re.sub(r'[^A-Za-z0-9._-]', '_', name)}.{fmt}"
    return RenderedReport(ENCODERS[fmt](report), CONTENT_TYPES[fmt], filename, report)


def render_campaign_report(
    session: Session,
    campaign_id: int,
    start: datetime,
    end: datetime,
    *,
    group_by: str,
    fmt: str,
    generated_at: datetime,
    store_id: str | None = None,
) -> RenderedReport:
    """`build_campaign_report` then `encode_report`, for the API and scheduled delivery."""
    report = build_campaign_report(
        session,
        campaign_id,
        start,
        end,
        group_by=group_by,
        generated_at=generated_at,
        store_id=store_id,
    )
    return encode_report(report, fmt)


def report_period(
    campaign: Campaign, from_text: str | None, to_text: str | None, tz: str
) -> tuple[datetime, datetime]:
    """[start, end) from the API's `from`/`to`: a store-local date (`to` includes the whole
    day) or an ISO-8601 date-time with offset; absent bounds are the flight's.
    `ValueError` names the bad bound."""
    start = _bound("from", from_text, tz, end_of_day=False) or as_utc(campaign.starts_at)
    end = _bound("to", to_text, tz, end_of_day=True) or as_utc(campaign.ends_at)
    if end <= start:
        raise ValueError(f"to: must be after from ({start.isoformat()})")
    return start, end


def _bound(name: str, text: str | None, tz: str, *, end_of_day: bool) -> datetime | None:
    if not text:
        return None
    if not re.fullmatch(PERIOD_BOUND_PATTERN, text):
        raise ValueError(
            f"{name}: {text!r} is neither a date (YYYY-MM-DD) nor an ISO-8601 date-time "
            "with its offset (YYYY-MM-DDTHH:MM[:SS[.ffffff]] then Z or +HH:MM)"
        )
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = local_midnight(day + timedelta(days=1) if end_of_day else day, tz)
        else:
            moment = datetime.fromisoformat(text).astimezone(UTC)
        in_range = EARLIEST_BOUND <= moment <= LATEST_BOUND
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a real date or time") from None
    except OverflowError:
        in_range = False
    if not in_range:
        raise ValueError(f"{name}: must lie in the years {FIRST_BOUND_YEAR} to {LAST_BOUND_YEAR}")
    return moment
