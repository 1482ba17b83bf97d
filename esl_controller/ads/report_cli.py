"""`esl-controller report --campaign … --from … --to … --format csv`: the same report as the
API, from the command line, reading the billing log a month at a time so a long range shows
progress. The click command (in cli.py) only parses options and calls `write_report`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.ads.campaign_reports import (
    build_campaign_report,
    chain_head,
    encode_report,
    report_period,
    report_stores,
)
from esl_controller.ads.report_rows import (
    HourlySlice,
    iter_slices_by_month,
    read_snapshot,
)
from esl_controller.clock import utcnow
from esl_controller.models import Campaign

# progress(days read so far, days in the range): called after every chunk.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class WrittenReport:
    path: str  # "-" for standard output
    filename: str  # the name the API would give it
    plays: int
    spend_minor: int
    currency: str
    size: int


def write_report(
    engine: Engine,
    campaign_id: int,
    from_text: str | None,
    to_text: str | None,
    fmt: str,
    group_by: str,
    out: str | Path | BinaryIO,
    progress: Progress | None = None,
    *,
    store_id: str | None = None,
) -> WrittenReport:
    """Build one campaign's report and write it to `out` (a path, "-" or a binary stream).

    `from_text`/`to_text` are a store-local date (`to` inclusive) or an ISO date-time with
    offset, as in the API; None means the flight's start/end. A path is written atomically
    (never a half-written report). `LookupError` for an unknown campaign, `ValueError` for
    a bad period, format or grouping. `store_id`: one store's plays only (`LookupError`
    when there is no such store).
    """
    with Session(engine) as session:
        read_snapshot(session)  # the chain head and the totals: one snapshot
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise LookupError(f"there is no campaign #{campaign_id}")
        _, tz = report_stores(session, campaign, store_id)
        start, end = report_period(campaign, from_text, to_text, tz)
        head = chain_head(session)
        total_days = max(1, -(-(end - start).total_seconds() // 86400))
        slices: list[HourlySlice] = []
        chunks = iter_slices_by_month(
            session, start, end, campaign_id=campaign_id, store_id=store_id
        )
        for chunk_end, chunk in chunks:
            slices.extend(chunk)
            if progress:
                done = -(-(chunk_end - start).total_seconds() // 86400)
                progress(int(min(done, total_days)), int(total_days))
        report = build_campaign_report(
            session,
            campaign_id,
            start,
            end,
            group_by=group_by,
            generated_at=utcnow(),
            slices=slices,
            head=head,
            store_id=store_id,
        )
    rendered = encode_report(report, fmt)
    path = _write(out, rendered.body)
    return WrittenReport(
        path=path,
        filename=rendered.filename,
        plays=report.total.plays,
        spend_minor=report.total.spend_minor,
        currency=report.campaign.currency,
        size=len(rendered.body),
    )


def tqdm_progress(description: str = "reading impressions") -> Progress:
    """A progress callback drawing a tqdm bar (in days) on standard error."""
    from tqdm import tqdm

    bar: tqdm | None = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="day", desc=description, file=sys.stderr)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def _write(out: str | Path | BinaryIO, body: bytes) -> str:
    if not isinstance(out, str | Path):
        out.write(body)
        return getattr(out, "name", "<stream>")
    if str(out) == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return "-"
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return str(target)
