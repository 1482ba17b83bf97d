"""`esl-controller verify-impressions`: prove the impression log was not altered.

Walks the whole chain in seq order (roll-up segments first, then every raw row, streamed
in pages so ten million rows never sit in memory) with `chain.verify`, holding it to every
anchor it is given: a checkpoint file the buyer kept (`--anchor`), and the stored signed
checkpoints whose signature holds for the store's public key. Then it reconciles: the
hourly totals every report reads must equal the sums of the chained rows and roll-ups
(`reconcile`), so an edited total fails even when the chain is intact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.ads import chain, checkpoints, reconcile
from esl_controller.models import Impression, ImpressionHourly, ImpressionHourTotal

PAGE_ROWS = 10_000
_COLUMNS = [Impression.seq, Impression.prev_hash, Impression.hash] + [
    getattr(Impression, name) for name in chain.BILLED_FIELDS
]


def verify_impressions(
    engine: Engine,
    *,
    campaign_id: int | None = None,
    anchor: tuple[int, str] | None = None,
    public_key: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> chain.VerifyResult:
    """Verify the impression chain and the totals reports read. `campaign_id` is accepted
    for the API's call shape but the whole chain is always walked: a campaign's rows are only
    provable through their neighbours. `anchor`: a (seq, hash) the caller trusts (a verified
    checkpoint, an earlier report's chain head). `public_key`: the store's key (base64); the
    stored checkpoints signed with it become anchors too, and one whose signature fails is
    itself a failure. `progress` gets the rows checked so far after each page."""
    del campaign_id  # see the docstring: verification is of the whole chain
    with Session(engine) as session:
        held, problem = _stored_anchors(session, public_key)
        if problem:
            return chain.VerifyResult(False, 0, None, problem)
        rollups = session.execute(
            select(
                ImpressionHourly.first_seq,
                ImpressionHourly.last_seq,
                ImpressionHourly.segment_hash,
            ).distinct()
        )
        segments = chain.segments_from_rollups(rollups)
        sums = reconcile.TotalsAccumulator()
        result = chain.verify(
            sums.passing(_raw_rows(session, progress)),
            segments,
            anchor=anchor,
            anchors=held,
        )
        if not result.ok:
            return result
        for rollup in session.scalars(select(ImpressionHourly)):
            sums.add_rollup(rollup)
        differences = reconcile.problems(sums, session.scalars(select(ImpressionHourTotal)))
    if differences:
        shown = "; ".join(differences[: reconcile.MAX_PROBLEMS])
        more = len(differences) - reconcile.MAX_PROBLEMS
        tail = f" (and {more} more)" if more > 0 else ""
        reason = f"hourly totals do not reconcile with the chained records: {shown}{tail}"
        return replace(result, ok=False, reason=reason)
    return result


def _stored_anchors(
    session: Session, public_key: str | None
) -> tuple[list[tuple[int, str]], str | None]:
    if public_key is None:
        return [], None
    held = []
    for checkpoint in checkpoints.stored(session):
        problem = checkpoints.signature_problem(checkpoint, public_key)
        if problem:
            return [], f"stored {problem}"
        held.append(checkpoint.anchor)
    return held, None


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


def anchor_from_file(document: Any, public_key: str | None) -> tuple[checkpoints.Checkpoint, str]:
    """A checkpoint file's anchor once its signature holds; (checkpoint, the key used).

    Without `public_key` the key named in the file is used; the caller shows its key id so
    the buyer can compare it with the one they pinned."""
    checkpoint = checkpoints.parse_document(document)
    key = public_key or (document.get("public_key") if isinstance(document, dict) else None)
    if not isinstance(key, str) or not key:
        raise checkpoints.CheckpointError("no public key: pass --public-key")
    problem = checkpoints.signature_problem(checkpoint, key)
    if problem:
        raise checkpoints.CheckpointError(problem)
    return checkpoint, key


def describe(result: chain.VerifyResult) -> str:
    """One line for the CLI and logs."""
    if result.ok:
        head = (
            f"head seq {result.head_seq} {result.head_hash[:16]}…" if result.head_seq else "empty"
        )
        return (
            f"impression chain OK: {result.checked:,} records verified, "
            f"{result.rolled_up:,} in hourly roll-ups, hourly totals reconcile; {head}"
        )
    where = f"at seq {result.first_bad_seq}" if result.first_bad_seq is not None else ""
    return (
        f"impression chain BROKEN {where}: {result.reason} ({result.checked:,} records verified)"
    ).replace("BROKEN :", "BROKEN:")
