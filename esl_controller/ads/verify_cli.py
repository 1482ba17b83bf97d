"""`esl-controller verify-impressions`: prove the impression log was not altered.

Walks the whole chain in seq order (roll-up segments first, then every raw row, streamed
in pages so ten million rows never sit in memory) with `chain.verify`, holding it to every
anchor it is given: a checkpoint file the buyer kept (`--anchor`), and the stored signed
checkpoints whose signature holds for the store's public key. Then it reconciles: the
hourly totals every report reads must equal the sums of the chained rows and roll-ups
(`reconcile`), so an edited total fails even when the chain is intact.

A chain of stores shares one database, so one log: every store's worker appends to the same
chain (under one lock) and signs its head with the chain's key. A store's records are
provable only through their neighbours of every store, so verifying one store still walks
the whole chain; what is per store is the reconciliation (its screens' hourly totals), where
its records sit in the chain, and the checkpoints its worker signed (`prove_impressions`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.ads import chain, checkpoints, reconcile
from esl_controller.ads.play_stores import store_of, with_store
from esl_controller.models import (
    Impression,
    ImpressionCheckpoint,
    ImpressionHourly,
    ImpressionHourTotal,
    Player,
    Store,
)

PAGE_ROWS = 10_000
_COLUMNS = [Impression.seq, Impression.prev_hash, Impression.hash] + [
    getattr(Impression, name) for name in chain.BILLED_FIELDS
]


@dataclass(frozen=True)
class StoreProof:
    """One store's part of the chain: its records (of the campaign, when one was asked
    for), the checkpoints its worker signed, and whether its screens' totals reconcile."""

    store_id: str
    records: int
    first_seq: int | None
    last_seq: int | None
    checkpoints: int
    latest_checkpoint_seq: int | None
    totals_ok: bool
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChainProof:
    """`result`: the chain walk, failed too when the totals of the scope (one store, or
    every store) do not reconcile. `first_bad_store`: the store of the record the walk
    stopped at, when it still exists."""

    result: chain.VerifyResult
    stores: tuple[StoreProof, ...]
    store_id: str | None = None
    campaign_id: int | None = None
    first_bad_store: str | None = None


def verify_impressions(
    engine: Engine,
    *,
    campaign_id: int | None = None,
    anchor: tuple[int, str] | None = None,
    public_key: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> chain.VerifyResult:
    """Verify the impression chain and the totals reports read, of every store.
    `campaign_id` is accepted for the API's call shape but the whole chain is always walked:
    a campaign's rows are only provable through their neighbours. `anchor`: a (seq, hash)
    the caller trusts (a verified checkpoint, an earlier report's chain head). `public_key`:
    the store's key (base64); the stored checkpoints signed with it become anchors too, and
    one whose signature fails is itself a failure. `progress` gets the rows checked so far
    after each page."""
    proof = prove_impressions(
        engine, campaign_id=campaign_id, anchor=anchor, public_key=public_key, progress=progress
    )
    return proof.result


def prove_impressions(
    engine: Engine,
    *,
    store_id: str | None = None,
    campaign_id: int | None = None,
    anchor: tuple[int, str] | None = None,
    public_key: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ChainProof:
    """`verify_impressions`, with each store's part: `store_id` limits the verdict to that
    store (the whole chain must still link; only its screens' totals must reconcile) and
    `campaign_id` the records counted per store. `LookupError` for an unknown store."""
    with Session(engine) as session:
        if store_id is not None and session.get(Store, store_id) is None:
            known = ", ".join(session.scalars(select(Store.id).order_by(Store.id))) or "none"
            raise LookupError(f"there is no store {store_id!r} (the stores are {known})")
        held, problem = _stored_anchors(session, public_key)
        if problem:
            broken = chain.VerifyResult(False, 0, None, problem)
            return ChainProof(broken, (), store_id, campaign_id)
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
        player_stores = dict(session.execute(select(Player.id, Player.store_id)).all())
        found: list[tuple[str, str]] = []  # (store, difference)
        if result.ok:
            for rollup in session.scalars(select(ImpressionHourly)):
                sums.add_rollup(rollup)
            totals = session.scalars(select(ImpressionHourTotal))
            for key, message in reconcile.differences(sums, totals):
                found.append((player_stores.get(reconcile.player_of(key), ""), message))
        by_store: dict[str, list[str]] = {}
        for store, message in found:
            by_store.setdefault(store, []).append(message)
        stores = _store_proofs(session, campaign_id, by_store)
        first_bad_store = _store_at(session, result.first_bad_seq)
    scoped = [message for store, message in found if store_id in (None, store)]
    if result.ok and scoped:
        shown = "; ".join(scoped[: reconcile.MAX_PROBLEMS])
        more = len(scoped) - reconcile.MAX_PROBLEMS
        tail = f" (and {more} more)" if more > 0 else ""
        reason = f"hourly totals do not reconcile with the chained records: {shown}{tail}"
        result = replace(result, ok=False, reason=reason)
    if store_id is not None:
        stores = tuple(proof for proof in stores if proof.store_id == store_id)
    return ChainProof(result, stores, store_id, campaign_id, first_bad_store)


def _store_proofs(
    session: Session, campaign_id: int | None, problems: dict[str, list[str]]
) -> tuple[StoreProof, ...]:
    """Every store's records, checkpoints and reconciliation, by store id."""
    store = store_of()
    query = with_store(
        select(store, func.count(), func.min(Impression.seq), func.max(Impression.seq)).select_from(
            Impression
        ),
        Impression.player_id,
    )
    if campaign_id is not None:
        query = query.where(Impression.campaign_id == campaign_id)
    records = {row[0]: row[1:] for row in session.execute(query.group_by(store))}
    signed = {
        row[0]: row[1:]
        for row in session.execute(
            select(
                ImpressionCheckpoint.store_id,
                func.count(),
                func.max(ImpressionCheckpoint.head_seq),
            ).group_by(ImpressionCheckpoint.store_id)
        )
    }
    ids = sorted({*session.scalars(select(Store.id)), *records, *problems})
    proofs = []
    for store_id in ids:
        count, first, last = records.get(store_id, (0, None, None))
        taken, latest = signed.get(store_id, (0, None))
        found = tuple(problems.get(store_id, ()))
        proofs.append(StoreProof(store_id, count, first, last, taken, latest, not found, found))
    return tuple(proofs)


def _store_at(session: Session, seq: int | None) -> str | None:
    if seq is None:
        return None
    query = with_store(select(store_of()).select_from(Impression), Impression.player_id)
    query = query.where(Impression.seq == seq)
    return session.scalars(query).first()


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


def describe_store(store: StoreProof) -> str:
    """One line per store for the CLI."""
    where = f"seq {store.first_seq}..{store.last_seq}" if store.first_seq is not None else "no seq"
    signed = (
        f"{store.checkpoints} checkpoints, newest at seq {store.latest_checkpoint_seq}"
        if store.checkpoints
        else "no checkpoint"
    )
    totals = "totals reconcile" if store.totals_ok else f"{len(store.problems)} totals differ"
    return f"store {store.store_id}: {store.records:,} records ({where}), {signed}, {totals}"


def describe(result: chain.VerifyResult, store_id: str | None = None) -> str:
    """One line for the CLI and logs (`store_id`: the store of the record it stopped at)."""
    if result.ok:
        head = (
            f"head seq {result.head_seq} {result.head_hash[:16]}…" if result.head_seq else "empty"
        )
        return (
            f"impression chain OK: {result.checked:,} records verified, "
            f"{result.rolled_up:,} in hourly roll-ups, hourly totals reconcile; {head}"
        )
    where = f"at seq {result.first_bad_seq}" if result.first_bad_seq is not None else ""
    if where and store_id:
        where += f" (store {store_id})"
    return (
        f"impression chain BROKEN {where}: {result.reason} ({result.checked:,} records verified)"
    ).replace("BROKEN :", "BROKEN:")
