"""The impression hash chain: alteration, removal, reordering and truncation are caught;
rolled-up segments still verify."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from esl_controller.ads.chain import (
    GENESIS_HASH,
    ChainSegment,
    billed_fields,
    canonical_bytes,
    record_hash,
    segments_from_rollups,
    verify,
)
from tests.ads.chain_rows import ChainRow, chain_of

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_the_serialisation_is_pinned_so_it_never_changes_silently():
    (row,) = chain_of(1)
    expected = (
        b'["esl-impression-v2","play-1",7,3,11,"screen-07","dairy",'
        b'"2026-11-02T09:00:10.000000Z",10000,2500,"declared",2500,850,"EUR"]'
    )
    assert canonical_bytes(billed_fields(row)) == expected
    assert row.prev_hash == GENESIS_HASH
    digest = hashlib.sha256(expected).hexdigest()
    assert row.hash == hashlib.sha256(f"{GENESIS_HASH}\n{digest}".encode()).hexdigest()
    assert row.hash == "a417e2fc52ae1b28b6b16af7789a4f51fcd8065dee87ab3c2f9a8f9a062a6bd8"


def test_an_intact_chain_verifies_and_reports_its_head():
    rows = chain_of(5)
    result = verify(rows)
    assert (result.ok, result.checked, result.first_bad_seq, result.reason) == (True, 5, None, None)
    assert (result.head_seq, result.head_hash) == (5, rows[-1].hash)


def test_an_empty_chain_verifies():
    result = verify([])
    assert result.ok and result.checked == 0 and result.head_hash == GENESIS_HASH


@pytest.mark.parametrize(
    "change",
    [
        {"impressions_milli": 9999},
        {"cpm_minor": 1},
        {"started_at": T0 + timedelta(hours=1)},
        {"multiplier_source": "measured"},
        {"player_id": "screen-08"},
    ],
)
def test_an_altered_billed_field_is_caught_at_its_row(change):
    rows = chain_of(5)
    rows[2] = replace(rows[2], **change)
    result = verify(rows)
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "altered" in result.reason
    assert result.checked == 2


def test_a_removed_row_breaks_the_next_link():
    rows = chain_of(5)
    del rows[1]
    result = verify(rows)
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "removed, inserted or reordered" in result.reason


def test_reordered_rows_are_caught():
    rows = chain_of(4)
    rows[1], rows[2] = rows[2], rows[1]
    result = verify(rows)
    assert not result.ok and result.first_bad_seq == 3


def test_a_rehashed_forgery_still_breaks_the_following_link():
    rows = chain_of(4)
    forged = replace(rows[1], impressions_milli=1)
    rows[1] = replace(forged, hash=record_hash(forged.prev_hash, billed_fields(forged)))
    result = verify(rows)
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_truncation_is_caught_against_an_anchor_the_buyer_kept():
    rows = chain_of(6)
    anchor = (6, rows[-1].hash)
    assert verify(rows, anchor=anchor).ok
    result = verify(rows[:4], anchor=anchor)
    assert not result.ok
    assert "chain ends at seq 4" in result.reason
    wrong = verify(rows, anchor=(6, "f" * 64))
    assert not wrong.ok and "no longer has the anchored hash" in wrong.reason


def test_datetimes_hash_as_the_same_instant_whatever_their_zone():
    (row,) = chain_of(1)
    fields = billed_fields(row)
    naive = dict(fields, started_at=row.started_at.replace(tzinfo=None))
    bucharest = dict(fields, started_at=row.started_at.astimezone(timezone(timedelta(hours=2))))
    assert record_hash(GENESIS_HASH, naive) == record_hash(GENESIS_HASH, fields)
    assert record_hash(GENESIS_HASH, bucharest) == record_hash(GENESIS_HASH, fields)


def test_hashing_refuses_missing_fields_and_inexact_values():
    (row,) = chain_of(1)
    fields = billed_fields(row)
    with pytest.raises(ValueError, match="missing: cpm_minor"):
        record_hash(GENESIS_HASH, {k: v for k, v in fields.items() if k != "cpm_minor"})
    with pytest.raises(ValueError, match="cannot hash a float"):
        record_hash(GENESIS_HASH, dict(fields, impressions_milli=2.5))
    with pytest.raises(ValueError, match="64 hex"):
        record_hash("abc", fields)


def rolled(rows: list[ChainRow], first: int, last: int) -> ChainSegment:
    return ChainSegment(first, last, rows[last - 1].hash)


def test_a_chain_with_rolled_up_segments_still_verifies():
    rows = chain_of(10)
    segments = [rolled(rows, 1, 3), rolled(rows, 4, 6)]
    result = verify(rows[6:], segments)
    assert result.ok
    assert (result.checked, result.rolled_up, result.head_seq) == (4, 6, 10)
    # an anchor inside a roll-up cannot be recomputed but the segment ending there can
    assert verify(rows[6:], segments, anchor=(2, rows[1].hash)).ok
    assert verify(rows[6:], segments, anchor=(6, rows[5].hash)).ok
    assert not verify(rows[6:], segments, anchor=(6, rows[4].hash)).ok


def test_merged_roll_ups_spanning_runs_agree():
    rows = chain_of(8)
    segments = [rolled(rows, 1, 3), rolled(rows, 1, 6), rolled(rows, 4, 6)]
    assert verify(rows[6:], segments).ok


@pytest.mark.parametrize(
    ("segments", "tail_from", "words"),
    [
        ([(1, 3), (5, 6)], 6, "seqs 4..4 are missing"),
        ([(2, 6)], 6, "seqs 1..1 are missing"),
        ([(1, 6)], 5, "inside a roll-up"),
        ([(1, 3)], 6, "does not link"),  # rows 4..6 vanished without a roll-up
    ],
)
def test_holes_and_leftovers_around_roll_ups_are_caught(segments, tail_from, words):
    rows = chain_of(8)
    result = verify(rows[tail_from:], [rolled(rows, a, b) for a, b in segments])
    assert not result.ok
    assert words in result.reason


def test_roll_ups_that_disagree_on_a_hash_are_caught():
    rows = chain_of(8)
    segments = [rolled(rows, 1, 6), ChainSegment(4, 6, "e" * 64)]
    result = verify(rows[6:], segments)
    assert not result.ok and "disagree on the hash of seq 6" in result.reason


def test_segments_from_rollups_deduplicates_a_runs_hourly_rows():
    class Hourly:
        def __init__(self, first, last, digest):
            self.first_seq, self.last_seq, self.segment_hash = first, last, digest

    rollups = [Hourly(4, 6, "b" * 64), Hourly(1, 3, "a" * 64), Hourly(1, 3, "a" * 64),
               Hourly(0, 0, "")]  # fmt: skip
    assert segments_from_rollups(rollups) == [
        ChainSegment(1, 3, "a" * 64),
        ChainSegment(4, 6, "b" * 64),
    ]
