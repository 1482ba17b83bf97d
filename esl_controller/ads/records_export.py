"""A buyer's export of the impression log: their campaign's records in full, every other
record as its digest alone, and the signed checkpoints that cover them.

The export is everything a buyer needs to check, with their own code and the store's public
key only, that their records are in the chain unchanged and that the chain reached each
signed head (docs/reports.md, "Verifying an export yourself"). Other buyers' records show
no billed field: the digest is a sha256 of them, enough to recompute the link and nothing
else. The export ends at the newest checkpoint: records after it are not signed yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.ads import chain, checkpoints
from esl_controller.models import Impression

EXPORT_FORMAT = "esl-impression-export-v1"
PAGE_ROWS = 10_000
_COLUMNS = [Impression.seq, Impression.prev_hash, Impression.hash] + [
    getattr(Impression, name) for name in chain.BILLED_FIELDS
]


def export_records(
    session: Session, campaign_id: int, public_key: str, *, after_seq: int = 0
) -> dict[str, Any]:
    """The export of `campaign_id`'s records after `after_seq` (0: from the start), up to
    the newest checkpoint."""
    newest = checkpoints.latest(session)
    head_seq = newest.head_seq if newest is not None else after_seq
    signed = checkpoints.stored(session, after_seq=after_seq, up_to_seq=head_seq)
    records: list[dict[str, Any]] = []
    link_in = None
    for row in _rows(session, after_seq, head_seq):
        if link_in is None:
            link_in = row.prev_hash
        fields = chain.billed_fields(row._mapping)
        record: dict[str, Any] = {"seq": row.seq, "prev_hash": row.prev_hash, "hash": row.hash}
        if row.campaign_id == campaign_id:
            record["fields"] = {
                name: chain.canonical_value(name, value) for name, value in fields.items()
            }
        else:
            record["digest"] = chain.content_digest(fields)
        records.append(record)
    return {
        "format": EXPORT_FORMAT,
        "chain_version": chain.CHAIN_VERSION,
        "campaign_id": campaign_id,
        "billed_fields": list(chain.BILLED_FIELDS),
        "public_key": public_key,
        "key_id": checkpoints.key_id(public_key),
        "after_seq": after_seq,
        "prev_hash": link_in,
        "records": records,
        "checkpoints": [checkpoint.document(public_key) for checkpoint in signed],
    }


def _rows(session: Session, after_seq: int, up_to_seq: int) -> Iterator[Any]:
    after = after_seq
    while after < up_to_seq:
        page = session.execute(
            select(*_COLUMNS)
            .where(Impression.seq > after, Impression.seq <= up_to_seq)
            .order_by(Impression.seq)
            .limit(PAGE_ROWS)
        ).all()
        if not page:
            return
        yield from page
        after = page[-1].seq
