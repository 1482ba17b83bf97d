"""`esl-controller verify-impressions`: prove the impression log was not altered.

Walks the whole chain in seq order (roll-up segments first, then every raw row, streamed
in pages so ten million rows never sit in memory) with `chain.verify`. The lead's click
command prints `describe(result)` and exits non-zero when the chain is broken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.ads import chain
from esl_controller.models import Impression, ImpressionHourly

PAGE_ROWS = 10_000
_COLUMNS = [Impression.seq, Impression.prev_hash, Impression.hash] + [
    getattr(Impression, name) for name in chain.BILLED_FIELDS
]


def verify_impressions(
    engine: Engine,
    *,
    campaign_id: int | None = None,
    anchor: tuple[int, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> chain.VerifyResult:
    """Verify the impression chain. `campaign_id` is accepted for the API's call shape but
    the whole chain is always walked: a campaign's rows are only provable through their
    neighbours. `anchor` is a (seq, hash) from an earlier report; `progress` gets the rows
    checked so far after each page."""
    del campaign_id  # see the docstring: verification is of the whole chain
    with Session(engine) as session:
        segments = chain.segments_from_rollups(
            session.execute(
                select(
                    ImpressionHourly.first_seq,
                    ImpressionHourly.last_seq,
                    ImpressionHourly.segment_hash,
                ).distinct()
            )
        )
        return chain.verify(_raw_rows(session, progress), segments, anchor=anchor)


def _raw_rows(session: Session, progress: Callable[[int], None] | None) -> Iterator[Any]:
    """Raw rows by seq, a page at a time (keyset paging: each page starts after the last)."""
    after, done = 0, 0
    while True:
        page = session.execute(
            select(*_COLUMNS)
            .where(Impression.seq > after)
            .order_by(Impression.seq)
            .limit(PAGE_ROWS)
        ).all()
        if not page:
            return
        yield from page
        after = page[-1].seq
        done += len(page)
        if progress:
            progress(done)


def describe(result: chain.VerifyResult) -> str:
    """One line for the CLI and logs."""
    if result.ok:
        head = (
            f"head seq {result.head_seq} {result.head_hash[:16]}…" if result.head_seq else "empty"
        )
        return (
            f"impression chain OK: {result.checked:,} records verified, "
            f"{result.rolled_up:,} in hourly roll-ups; {head}"
        )
    return (
        f"impression chain BROKEN at seq {result.first_bad_seq}: {result.reason} "
        f"({result.checked:,} records verified before it)"
    )
