"""Signed checkpoints of the chain head: signatures, the key on disk or from the
environment, and what they catch that the chain alone cannot (tail cut, re-hash)."""

from __future__ import annotations

import base64
import stat
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select, update
from sqlmodel import Session

from esl_controller.ads import checkpoints, hour_totals
from esl_controller.ads.chain import billed_fields, record_hash
from esl_controller.ads.ingest import PlayIngestor
from esl_controller.ads.verify_cli import anchor_from_file, verify_impressions
from esl_controller.db import session_scope
from esl_controller.models import Impression, ImpressionCheckpoint, ImpressionHourTotal

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _raw_key(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def test_a_signature_holds_only_for_the_signed_head_and_key():
    key = Ed25519PrivateKey.generate()
    public = checkpoints.public_key_text(key)
    checkpoint = checkpoints.sign(key, "store-1", 42, "a" * 64, T0)
    assert checkpoints.signature_problem(checkpoint, public) is None
    parsed = checkpoints.parse_document(checkpoint.document(public))
    assert parsed == checkpoint
    for forged in (
        checkpoints.Checkpoint(
            "store-1", 41, "a" * 64, T0, checkpoint.key_id, checkpoint.signature
        ),
        checkpoints.Checkpoint(
            "store-1", 42, "b" * 64, T0, checkpoint.key_id, checkpoint.signature
        ),
        checkpoints.Checkpoint(
            "store-1",
            42,
            "a" * 64,
            T0 + timedelta(seconds=1),
            checkpoint.key_id,
            checkpoint.signature,
        ),
    ):
        assert "does not match" in checkpoints.signature_problem(forged, public)
    other = checkpoints.public_key_text(Ed25519PrivateKey.generate())
    assert "does not match" in checkpoints.signature_problem(checkpoint, other)
    assert checkpoints.signature_problem(checkpoint, "not base64!") == "public key: not base64"


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({}, "not a checkpoint"),
        ({"format": "esl-checkpoint-v1", "head_seq": 0}, "head_seq"),
        ({"format": "esl-checkpoint-v1", "head_seq": 3, "head_hash": "ab"}, "head_hash"),
    ],
)
def test_a_malformed_checkpoint_document_is_refused_with_a_reason(document, problem):
    with pytest.raises(checkpoints.CheckpointError, match=problem):
        checkpoints.parse_document(document)


def test_the_key_file_is_made_once_private_and_reused(settings):
    first = checkpoints.signing_key(settings)
    path = settings.data_dir / checkpoints.KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = checkpoints.signing_key(settings)
    assert checkpoints.public_key_text(again) == checkpoints.public_key_text(first)


def test_the_key_from_the_environment_wins_and_a_bad_one_is_refused(settings):
    key = Ed25519PrivateKey.generate()
    configured = settings.with_overrides(chain_signing_key=_raw_key(key))
    loaded = checkpoints.signing_key(configured)
    assert checkpoints.public_key_text(loaded) == checkpoints.public_key_text(key)
    assert not (settings.data_dir / checkpoints.KEY_FILE_NAME).exists()
    with pytest.raises(checkpoints.CheckpointError, match="32-byte"):
        checkpoints.signing_key(settings.with_overrides(chain_signing_key="c2hvcnQ="))


def _ingest(engine, settings, make_pop, count):
    return PlayIngestor(engine, settings).ingest([make_pop() for _ in range(count)], "mqtt")


def test_a_checkpoint_is_taken_once_per_head(engine, settings, ads_world, make_pop):
    assert checkpoints.take_checkpoint(engine, settings, T0) is None  # nothing to sign
    _ingest(engine, settings, make_pop, 3)
    first = checkpoints.take_checkpoint(engine, settings, T0)
    assert first.head_seq == 3
    assert checkpoints.take_checkpoint(engine, settings, T0 + timedelta(hours=1)) == first
    _ingest(engine, settings, make_pop, 2)
    second = checkpoints.take_checkpoint(engine, settings, T0 + timedelta(hours=2))
    assert second.head_seq == 5
    with Session(engine) as session:
        assert [c.head_seq for c in checkpoints.stored(session)] == [3, 5]


def _public(settings) -> str:
    return checkpoints.public_key_text(checkpoints.signing_key(settings))


def test_records_cut_from_the_end_fail_against_a_checkpoint(engine, settings, ads_world, make_pop):
    _ingest(engine, settings, make_pop, 5)
    checkpoint = checkpoints.take_checkpoint(engine, settings, T0)
    with session_scope(engine) as session:
        [cut] = session.scalars(select(Impression).where(Impression.seq == 5)).all()
        session.execute(delete(Impression).where(Impression.seq == 5))
        _subtract_from_totals(session, cut)
    assert verify_impressions(engine).ok  # the chain alone links, and the totals were fixed
    result = verify_impressions(engine, public_key=_public(settings))
    assert not result.ok
    assert result.first_bad_seq == checkpoint.head_seq
    assert "records were removed" in result.reason


def test_a_chain_re_hashed_after_an_edit_fails_against_a_checkpoint(
    engine, settings, ads_world, make_pop
):
    _ingest(engine, settings, make_pop, 5)
    checkpoint = checkpoints.take_checkpoint(engine, settings, T0)
    with session_scope(engine) as session:  # someone with database access lowers a CPM ...
        rows = session.scalars(select(Impression).order_by(Impression.seq)).all()
        session.execute(delete(ImpressionHourTotal))
        prev = rows[1].hash
        for row in rows[2:]:  # ... and re-hashes everything after it, totals included
            if row.seq == 3:
                row.cpm_minor = 1
            row.prev_hash, row.hash = prev, record_hash(prev, billed_fields(row))
            prev = row.hash
            session.add(row)
        session.flush()
        hour_totals.add_impressions(session, [row.model_dump() for row in rows])
    assert verify_impressions(engine).ok  # no key: the forgery is consistent
    result = verify_impressions(engine, anchor=checkpoint.anchor)
    assert (result.ok, result.reason) == (False, "seq 5 no longer has the anchored hash")
    assert not verify_impressions(engine, public_key=_public(settings)).ok


def test_a_stored_checkpoint_signed_by_another_key_fails(engine, settings, ads_world, make_pop):
    _ingest(engine, settings, make_pop, 2)
    forged = checkpoints.sign(Ed25519PrivateKey.generate(), "store-1", 2, "f" * 64, T0)
    with session_scope(engine) as session:
        session.add(ImpressionCheckpoint(**forged.__dict__))
    result = verify_impressions(engine, public_key=_public(settings))
    assert not result.ok
    assert result.reason.startswith("stored checkpoint at seq 2: the signature does not match")


def test_a_checkpoint_file_is_used_only_when_its_signature_holds(
    engine, settings, ads_world, make_pop
):
    _ingest(engine, settings, make_pop, 2)
    checkpoint = checkpoints.take_checkpoint(engine, settings, T0)
    document = checkpoint.document(_public(settings))
    loaded, key = anchor_from_file(document, None)
    assert (loaded.anchor, key) == (checkpoint.anchor, _public(settings))
    with pytest.raises(checkpoints.CheckpointError, match="does not match"):
        anchor_from_file(dict(document, head_seq=1), _public(settings))
    stranger = checkpoints.public_key_text(Ed25519PrivateKey.generate())
    with pytest.raises(checkpoints.CheckpointError, match="does not match"):
        anchor_from_file(document, stranger)


def _subtract_from_totals(session, row) -> None:
    hour = row.started_at.replace(minute=0, second=0, microsecond=0)
    session.execute(
        update(ImpressionHourTotal)
        .where(ImpressionHourTotal.hour == hour, ImpressionHourTotal.player_id == row.player_id)
        .values(
            plays=ImpressionHourTotal.plays - 1,
            play_ms=ImpressionHourTotal.play_ms - row.play_ms,
            impressions_milli=ImpressionHourTotal.impressions_milli - row.impressions_milli,
            spend_basis=ImpressionHourTotal.spend_basis - row.impressions_milli * row.cpm_minor,
        )
    )
