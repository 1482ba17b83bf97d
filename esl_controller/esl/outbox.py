"""The outbox: every command for a label is a persisted row before it is published.

Writers (the label refresh, the dashboard, the scheduler) only insert rows here; the
worker's dispatcher is the only code that publishes them. Rules kept here:

- an image equal to what the label already shows (or already has queued) is not queued;
- a newer image supersedes any undelivered older one of the same label, so a stale image
  never reaches the shelf after a newer one, and its late ack is recognisably stale;
- every command gets the label's next sequence number, which its ack must echo.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.esl.drivers.mqtt import protocol
from esl_controller.labels.planes import PackedImage
from esl_controller.models import Label, OutboxMessage


class Priority(IntEnum):
    """Higher goes first. The radio is the bottleneck, so order matters more than speed."""

    ROUTINE = 0  # scheduled refreshes, full-store re-renders
    PRICE_CHANGE = 50  # the shelf shows a price that is wrong right now
    MANAGER = 100  # a manager pressed a button and is looking at the label


UNDELIVERED = ("pending", "sent")


@dataclass(frozen=True)
class QueuedImage:
    label_id: str
    encoded: PackedImage
    priority: int
    force: bool = False  # re-push even when the label already shows this image


def queue_images(session: Session, images: Sequence[QueuedImage]) -> int:
    """Queue many images in a few statements; return how many were queued (not skipped).

    Runs in the caller's transaction. Bulk statements, not ORM objects: a full-store
    re-price queues tens of thousands of rows and must not build that many objects.
    """
    if not images:
        return 0
    by_id = {image.label_id: image for image in images}
    labels = session.execute(
        select(Label.id, Label.seq, Label.content_hash, Label.base_station_id).where(
            Label.id.in_(by_id)
        )
    ).all()
    now = utcnow()
    rows, label_updates = [], []
    for label_id, seq, queued_hash, station_id in labels:
        image = by_id[label_id]
        if image.encoded.content_hash == queued_hash and not image.force:
            continue
        next_seq = seq + 1
        rows.append(
            {
                "label_id": label_id,
                "base_station_id": station_id,
                "kind": "image",
                "seq": next_seq,
                "priority": int(image.priority),
                "payload": protocol.frame_bytes(image.encoded, next_seq),
                "content_hash": image.encoded.content_hash,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
        label_updates.append(
            {"b_id": label_id, "b_seq": next_seq, "b_hash": image.encoded.content_hash}
        )
    if not rows:
        return 0
    queued_ids = [row["label_id"] for row in rows]
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.label_id.in_(queued_ids),
            OutboxMessage.kind == "image",
            OutboxMessage.state.in_(UNDELIVERED),
        )
        .values(state="superseded", done_at=now, reason="superseded by a newer image")
    )
    session.execute(insert(OutboxMessage), rows)
    session.connection().execute(
        Label.__table__.update()
        .where(Label.__table__.c.id == bindparam("b_id"))
        .values(
            seq=bindparam("b_seq"),
            content_hash=bindparam("b_hash"),
            state="pending",
            updated_at=now,
        ),
        label_updates,
    )
    return len(rows)


def queue_command(
    session: Session,
    label_id: str,
    kind: str,
    build_payload: Callable[[int], bytes],
    priority: int = Priority.MANAGER,
) -> OutboxMessage:
    """Queue an LED flash or page switch; `build_payload(seq)` makes its wire payload."""
    label = session.get(Label, label_id)
    if label is None:
        raise LookupError(f"unknown label {label_id!r}")
    label.seq += 1
    message = OutboxMessage(
        label_id=label.id,
        base_station_id=label.base_station_id,
        kind=kind,
        seq=label.seq,
        priority=int(priority),
        payload=build_payload(label.seq),
    )
    session.add(label)
    session.add(message)
    session.flush()
    return message


def retry_delay(attempts: int, base_s: float, max_s: float) -> float:
    """Exponential backoff: base, 2 x base, 4 x base, ... capped at max_s."""
    return min(max_s, base_s * 2 ** max(0, attempts - 1))
