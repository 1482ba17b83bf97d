"""Signed checkpoints of the impression chain head: what a buyer keeps to hold us to it.

A checkpoint states "the chain ended at seq N with hash H at time T" and is signed with the
store's Ed25519 key. Anyone who can write the database can still append or re-hash rows,
but not sign: a verifier given a checkpoint (and the public key) catches rows cut from the
end (the chain no longer reaches N) and a chain re-hashed after an edit (seq N no longer
has hash H). The worker takes one every `checkpoint_interval_s` when the head moved, and
`esl-controller checkpoint-impressions` or `POST /api/v1/impressions/checkpoints` takes one
on demand.

The key: ESL_CHAIN_SIGNING_KEY (base64 of the 32-byte private key) when set, else the PEM
file `chain_signing_key.pem` in the data dir, generated on first use (mode 0600). Several
web hosts or workers that share a database should share the key through the environment.

Signed bytes (`signed_bytes`): compact JSON, UTF-8, of
`["esl-checkpoint-v1", store_id, head_seq, head_hash, created_at]`, created_at in UTC as
`YYYY-MM-DDTHH:MM:SS.ffffffZ`. The public key and signature travel as standard base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.ads.impressions import as_utc
from esl_controller.ads.ingest import chain_head, take_chain_lock
from esl_controller.config import Settings
from esl_controller.models import ImpressionCheckpoint

CHECKPOINT_FORMAT = "esl-checkpoint-v1"
KEY_FILE_NAME = "chain_signing_key.pem"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class CheckpointError(ValueError):
    """A checkpoint document or key that cannot be used, with the reason."""


@dataclass(frozen=True)
class Checkpoint:
    store_id: str
    head_seq: int
    head_hash: str
    created_at: datetime  # aware UTC
    key_id: str
    signature: str  # base64

    @property
    def anchor(self) -> tuple[int, str]:
        return self.head_seq, self.head_hash

    def document(self, public_key: str) -> dict[str, Any]:
        """The JSON form a buyer keeps (and `verify-impressions --anchor` reads)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "store_id": self.store_id,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "created_at": as_utc(self.created_at).strftime(_TIME_FORMAT),
            "key_id": self.key_id,
            "public_key": public_key,
            "signature": self.signature,
        }


# --- pure: bytes, keys, signatures -------------------------------------------------------------


def signed_bytes(store_id: str, head_seq: int, head_hash: str, created_at: datetime) -> bytes:
    values = [
        CHECKPOINT_FORMAT,
        store_id,
        head_seq,
        head_hash,
        as_utc(created_at).strftime(_TIME_FORMAT),
    ]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def key_id(public_key: str) -> str:
    """A short fingerprint of a public key: the first 16 hex digits of sha256 of its bytes."""
    return hashlib.sha256(_b64(public_key, "public key")).hexdigest()[:16]


def sign(
    key: Ed25519PrivateKey, store_id: str, head_seq: int, head_hash: str, created_at: datetime
) -> Checkpoint:
    signature = key.sign(signed_bytes(store_id, head_seq, head_hash, created_at))
    return Checkpoint(
        store_id=store_id,
        head_seq=head_seq,
        head_hash=head_hash,
        created_at=as_utc(created_at),
        key_id=key_id(public_key_text(key)),
        signature=base64.b64encode(signature).decode("ascii"),
    )


def signature_problem(checkpoint: Checkpoint, public_key: str) -> str | None:
    """Why the checkpoint's signature does not hold for `public_key` (base64), or None."""
    try:
        public = Ed25519PublicKey.from_public_bytes(_b64(public_key, "public key"))
        signature = _b64(checkpoint.signature, "signature")
    except (CheckpointError, ValueError) as exc:
        return str(exc)
    message = signed_bytes(
        checkpoint.store_id, checkpoint.head_seq, checkpoint.head_hash, checkpoint.created_at
    )
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return (
            f"checkpoint at seq {checkpoint.head_seq}: the signature does not match "
            f"public key {key_id(public_key)}"
        )
    return None


def parse_document(document: Any) -> Checkpoint:
    """A checkpoint from its JSON form; CheckpointError names what is wrong."""
    if not isinstance(document, Mapping) or document.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"not a checkpoint: expected an object with format {CHECKPOINT_FORMAT!r}"
        )
    seq, head, at = document.get("head_seq"), document.get("head_hash"), document.get("created_at")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise CheckpointError("checkpoint head_seq: expected a positive integer")
    if not isinstance(head, str) or len(head) != 64:
        raise CheckpointError("checkpoint head_hash: expected 64 hex characters")
    try:
        created = datetime.strptime(str(at), _TIME_FORMAT)
    except ValueError:
        raise CheckpointError(
            "checkpoint created_at: expected YYYY-MM-DDTHH:MM:SS.ffffffZ"
        ) from None
    for name in ("store_id", "key_id", "signature"):
        if not isinstance(document.get(name), str):
            raise CheckpointError(f"checkpoint {name}: expected a string")
    return Checkpoint(
        store_id=document["store_id"],
        head_seq=seq,
        head_hash=head,
        created_at=as_utc(created),
        key_id=document["key_id"],
        signature=document["signature"],
    )


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise CheckpointError(f"{what}: not base64") from None


# --- the key at the edge -----------------------------------------------------------------------


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The store's signing key: from the environment, else the key file (made on first use)."""
    if settings.chain_signing_key:
        raw = _b64(settings.chain_signing_key, "ESL_CHAIN_SIGNING_KEY")
        if len(raw) != 32:
            raise CheckpointError("ESL_CHAIN_SIGNING_KEY: expected base64 of a 32-byte key")
        return Ed25519PrivateKey.from_private_bytes(raw)
    path = Path(settings.data_dir) / KEY_FILE_NAME
    if not path.exists():
        _create_key_file(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path}: not an Ed25519 private key")
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:  # O_EXCL: of two processes starting at once, one key wins and both use it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


# --- checkpoints in the database ---------------------------------------------------------------


def from_row(row: ImpressionCheckpoint) -> Checkpoint:
    return Checkpoint(
        store_id=row.store_id,
        head_seq=row.head_seq,
        head_hash=row.head_hash,
        created_at=as_utc(row.created_at),
        key_id=row.key_id,
        signature=row.signature,
    )


def take_checkpoint(engine: Engine, settings: Settings, now: datetime) -> Checkpoint | None:
    """Sign the current chain head; the newest checkpoint when the head has not moved since
    (idempotent), None while the chain is empty."""
    key = signing_key(settings)
    with Session(engine, expire_on_commit=False) as session:
        take_chain_lock(session)  # the head cannot move while it is signed
        head_seq, head_hash = chain_head(session)
        if head_seq == 0:
            session.rollback()
            return None
        newest = latest(session)
        if newest is not None and newest.anchor == (head_seq, head_hash):
            session.rollback()
            return newest
        checkpoint = sign(key, settings.store_id, head_seq, head_hash, now)
        session.add(
            ImpressionCheckpoint(
                store_id=checkpoint.store_id,
                head_seq=checkpoint.head_seq,
                head_hash=checkpoint.head_hash,
                created_at=checkpoint.created_at,
                key_id=checkpoint.key_id,
                signature=checkpoint.signature,
            )
        )
        session.commit()
    return checkpoint


def latest(session: Session) -> Checkpoint | None:
    row = session.scalars(
        select(ImpressionCheckpoint).order_by(ImpressionCheckpoint.id.desc()).limit(1)
    ).first()
    return None if row is None else from_row(row)


def stored(
    session: Session, *, after_seq: int = 0, up_to_seq: int | None = None
) -> list[Checkpoint]:
    """Stored checkpoints by head seq (those whose head lies in (after_seq, up_to_seq])."""
    query = select(ImpressionCheckpoint).where(ImpressionCheckpoint.head_seq > after_seq)
    if up_to_seq is not None:
        query = query.where(ImpressionCheckpoint.head_seq <= up_to_seq)
    rows = session.scalars(query.order_by(ImpressionCheckpoint.head_seq, ImpressionCheckpoint.id))
    return [from_row(row) for row in rows]
