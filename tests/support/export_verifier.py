"""A buyer's verifier of an impression-records export, written from docs/reports.md alone
("Verifying an export yourself"): it imports nothing of esl_controller, so it proves the
document is enough to check the store independently."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ZERO_HASH = "0" * 64


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _compact(values: list[Any]) -> bytes:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def check_export(export: dict[str, Any], pinned_public_key: str) -> list[str]:
    """Every problem found (empty: the export holds)."""
    problems: list[str] = []
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(pinned_public_key))
    if export.get("public_key") != pinned_public_key:
        problems.append("the export names another public key than the pinned one")
    # 1. signatures
    for checkpoint in export["checkpoints"]:
        message = _compact(
            [
                checkpoint["format"],
                checkpoint["store_id"],
                checkpoint["head_seq"],
                checkpoint["head_hash"],
                checkpoint["created_at"],
            ]
        )
        try:
            key.verify(base64.b64decode(checkpoint["signature"]), message)
        except InvalidSignature:
            problems.append(f"checkpoint at {checkpoint['head_seq']}: bad signature")
    # 2.-3. links and hashes
    hashes: dict[int, str] = {}
    previous_seq, previous_hash = None, export["prev_hash"]
    for record in export["records"]:
        seq = record["seq"]
        if previous_seq is not None and seq != previous_seq + 1:
            problems.append(f"seq {seq} does not follow {previous_seq}")
        if record["prev_hash"] != previous_hash:
            problems.append(f"seq {seq}: prev_hash does not link")
        if "fields" in record:
            values = [export["chain_version"]]
            values += [record["fields"][name] for name in export["billed_fields"]]
            digest = _sha256_hex(_compact(values))
            if record["fields"]["campaign_id"] != export["campaign_id"]:
                problems.append(f"seq {seq}: a record of another campaign shown as mine")
        else:
            digest = record["digest"]
        expected = _sha256_hex(f"{record['prev_hash']}\n{digest}".encode("ascii"))
        if record["hash"] != expected:
            problems.append(f"seq {seq}: hash does not match")
        hashes[seq] = record["hash"]
        previous_seq, previous_hash = seq, record["hash"]
    # 4. checkpoints hold
    for checkpoint in export["checkpoints"]:
        if hashes.get(checkpoint["head_seq"]) != checkpoint["head_hash"]:
            problems.append(f"checkpoint at {checkpoint['head_seq']}: the chain does not reach it")
    if export["checkpoints"] and previous_seq != max(c["head_seq"] for c in export["checkpoints"]):
        problems.append("the last record is not the newest checkpoint's head")
    return problems


def billed_spend_minor(export: dict[str, Any]) -> int:
    """5. What my records bill: sum of impressions_milli x cpm_minor / 1,000,000, half up."""
    basis = sum(
        record["fields"]["impressions_milli"] * record["fields"]["cpm_minor"]
        for record in export["records"]
        if "fields" in record
    )
    quotient, remainder = divmod(basis, 1_000_000)
    return quotient + (1 if 2 * remainder >= 1_000_000 else 0)
