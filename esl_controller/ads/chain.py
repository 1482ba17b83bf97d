"""The impression log's hash chain: tamper evidence a buyer can check. Pure.

Each Impression row carries `prev_hash` (the hash of the row before it in `seq` order, or
GENESIS_HASH for the first) and `hash = record_hash(prev_hash, billed_fields(row))`, which is
`sha256(prev_hash + "\n" + content_digest)` with `content_digest` the sha256 of a canonical,
versioned serialisation of every billed field. Altering a billed field breaks that row's
hash; removing or reordering rows breaks the next row's link. Because the link hashes only a
row's digest, a buyer can walk the whole chain from an export holding their own rows in full
and every other row as its digest alone (docs/reports.md).

Removing rows at the very end, or re-hashing everything after an edit, is only visible
against a head the buyer kept (`anchor`): the signed checkpoints (`ads.checkpoints`) are
those heads.

Roll-ups. Past retention, raw rows are replaced by ImpressionHourly aggregates. A retention
run replaces one contiguous stretch of the chain, `first_seq..last_seq`, where `first_seq`
is the previous roll-up's `last_seq + 1` (1 for the first) and `segment_hash` is the hash
of the raw row at `last_seq`; every hourly row written by that run carries the same three
values. `verify` then checks that the segments tile the chain from its start without a
hole, and that the first raw row after them links to the last segment's hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from esl_controller.ads.impressions import as_utc

CHAIN_VERSION = "esl-impression-v2"
GENESIS_HASH = "0" * 64
BILLED_FIELDS = (
    "play_id",
    "campaign_id",
    "advertiser_id",
    "creative_id",
    "player_id",
    "zone_id",
    "started_at",
    "play_ms",
    "multiplier_milli",
    "multiplier_source",
    "impressions_milli",
    "cpm_minor",
    "currency",
)


@dataclass(frozen=True)
class ChainSegment:
    """A stretch of the chain replaced by roll-ups: seqs first..last, ending in end_hash."""

    first_seq: int
    last_seq: int
    end_hash: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int  # raw rows whose hash was recomputed
    first_bad_seq: int | None
    reason: str | None
    rolled_up: int = 0  # seqs covered by roll-up segments (linked, not recomputable)
    head_seq: int | None = None
    head_hash: str = GENESIS_HASH


def canonical_value(name: str, value: Any) -> Any:
    """A billed field as it is serialised (datetimes as UTC text with microseconds and Z)."""
    if isinstance(value, datetime):
        return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if (
        value is None
        or isinstance(value, str)
        or (isinstance(value, int) and not isinstance(value, bool))
    ):
        return value
    raise ValueError(f"billed field {name!r}: cannot hash a {type(value).__name__} ({value!r})")


def canonical_bytes(fields: Mapping[str, Any]) -> bytes:
    """The versioned serialisation that is hashed: the version, then every billed field in a
    fixed order, as compact JSON (UTF-8; datetimes as UTC ISO-8601 with microseconds and Z)."""
    missing = [name for name in BILLED_FIELDS if name not in fields]
    if missing:
        raise ValueError(f"billed fields missing: {', '.join(missing)}")
    values = [CHAIN_VERSION] + [canonical_value(n, fields[n]) for n in BILLED_FIELDS]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def content_digest(fields: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical serialisation of one row's billed fields."""
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


def link_hash(prev_hash: str, digest: str) -> str:
    """sha256 hex of `prev_hash` + newline + a row's content digest (ASCII hex both)."""
    if len(prev_hash) != 64:
        raise ValueError(f"prev_hash must be 64 hex characters, got {prev_hash!r}")
    return hashlib.sha256(f"{prev_hash}\n{digest}".encode("ascii")).hexdigest()


def record_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """The chain hash of a row: its link from `prev_hash` over its billed fields' digest."""
    return link_hash(prev_hash, content_digest(fields))


def billed_fields(row: Any) -> dict[str, Any]:
    """The billed fields of an Impression row (any object with those attributes, or a Mapping)."""
    if isinstance(row, Mapping):
        return {name: row.get(name) for name in BILLED_FIELDS}
    return {name: getattr(row, name) for name in BILLED_FIELDS}


def segments_from_rollups(rollups: Iterable[Any]) -> list[ChainSegment]:
    """Distinct (first_seq, last_seq, segment_hash) of ImpressionHourly rows, by seq.

    Rows of one retention run share one segment; rows merged over later runs may span
    several (e.g. 1..100 and 1..200): both are kept, and `verify` checks they agree.
    """
    seen = {
        ChainSegment(r.first_seq, r.last_seq, r.segment_hash)
        for r in rollups
        if r.last_seq  # 0: a roll-up made before chains existed (nothing to link)
    }
    return sorted(seen, key=lambda s: (s.first_seq, s.last_seq))


def _check_segments(segments: list[ChainSegment]) -> tuple[int, str, str | None]:
    """(last covered seq, its hash, problem or None) for segments tiling 1..last."""
    covered, end_hash = 0, GENESIS_HASH
    ends: dict[int, str] = {}
    for segment in sorted(segments, key=lambda s: (s.first_seq, s.last_seq)):
        if segment.first_seq < 1 or segment.last_seq < segment.first_seq:
            span = f"{segment.first_seq}..{segment.last_seq}"
            return covered, end_hash, f"roll-up segment {span} is malformed"
        if ends.setdefault(segment.last_seq, segment.end_hash) != segment.end_hash:
            return covered, end_hash, f"roll-ups disagree on the hash of seq {segment.last_seq}"
        if segment.first_seq > covered + 1:
            return (
                covered,
                end_hash,
                (f"seqs {covered + 1}..{segment.first_seq - 1} are missing between roll-ups"),
            )
        if segment.last_seq > covered:
            covered, end_hash = segment.last_seq, segment.end_hash
    return covered, end_hash, None


def verify(
    rows: Iterable[Any],
    segments: Iterable[ChainSegment] = (),
    *,
    anchor: tuple[int, str] | None = None,
    anchors: Iterable[tuple[int, str]] = (),
) -> VerifyResult:
    """Walk the chain in seq order: roll-up segments first, then the raw Impression rows.

    `rows` must come ordered by seq (objects with `seq`, `prev_hash`, `hash` and the billed
    fields). `anchor` is a (seq, hash) a buyer was given earlier (a signed checkpoint, a
    report's chain head), `anchors` more of them: the chain must still hold each, which
    catches rows removed from the end and a chain re-hashed after an edit.
    """
    wanted = sorted({*anchors, *([anchor] if anchor is not None else [])})
    segment_list = list(segments)
    covered, expected_prev, problem = _check_segments(segment_list)
    rolled_up = covered
    if problem:
        head = covered or None
        return VerifyResult(False, 0, covered + 1, problem, rolled_up, head, expected_prev)
    hashes_at = {s.last_seq: s.end_hash for s in segment_list}
    checked, previous_seq = 0, covered
    for row in rows:
        seq = row.seq
        bad = _check_row(row, previous_seq, expected_prev)
        if bad:
            head = previous_seq or None
            return VerifyResult(False, checked, seq, bad, rolled_up, head, expected_prev)
        checked += 1
        previous_seq, expected_prev = seq, row.hash
        hashes_at[seq] = row.hash
    head_seq = previous_seq or None
    for held in wanted:
        bad = _check_anchor(held, hashes_at, covered, previous_seq)
        if bad:
            return VerifyResult(False, checked, held[0], bad, rolled_up, head_seq, expected_prev)
    return VerifyResult(True, checked, None, None, rolled_up, head_seq, expected_prev)


def _check_row(row: Any, previous_seq: int, expected_prev: str) -> str | None:
    if row.seq <= previous_seq:
        return f"seq {row.seq} is out of order or inside a roll-up (after seq {previous_seq})"
    if row.prev_hash != expected_prev:
        return (
            f"seq {row.seq}: prev_hash does not link to the record before it "
            "(a record was removed, inserted or reordered)"
        )
    recomputed = record_hash(row.prev_hash, billed_fields(row))
    if recomputed != row.hash:
        return f"seq {row.seq}: hash does not match its billed fields (the record was altered)"
    return None


def _check_anchor(
    anchor: tuple[int, str], hashes_at: Mapping[int, str], covered: int, last_seq: int
) -> str | None:
    seq, expected = anchor
    if seq > last_seq:
        return f"chain ends at seq {last_seq}, before the anchor seq {seq}: records were removed"
    if seq in hashes_at:
        if hashes_at[seq] != expected:
            return f"seq {seq} no longer has the anchored hash"
        return None
    if seq <= covered:
        return None  # inside a roll-up: the raw record is gone by design, its segment links
    return f"anchor seq {seq} is not in the chain: records were removed"
