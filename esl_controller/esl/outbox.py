"""The outbox: every command for a label is a persisted row before it is published.

Writers (the label refresh, the dashboard, the scheduler) only insert rows here; the
worker's dispatcher is the only code that publishes them. Rules kept here:

- an image equal to what the label already shows (or already has queued) is not queued;
- a newer image supersedes any undelivered older one of the same label, so a stale image
  never reaches the shelf after a newer one, and its late ack is recognisably stale;
- every command gets the label's next sequence number, which its ack must echo;
- a row keeps what was rendered (packed planes) or the command's arguments, never a
  driver's wire form: the station's driver builds that when it sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.esl.link import Command, CommandKind
from esl_controller.esl.states import UNDELIVERED, LabelState, OutboxState
from esl_controller.labels.planes import PackedImage
from esl_controller.models import Label, OutboxMessage


class Priority(IntEnum):
    """Higher goes first. The radio is the bottleneck, so order matters more than speed."""

    ROUTINE = 0  # scheduled refreshes, full-store re-renders
    PRICE_CHANGE = 50  # the shelf shows a price that is wrong right now
    MANAGER = 100  # a manager pressed a button and is looking at the label


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
        select(
            Label.id, Label.seq, Label.content_hash, Label.base_station_id, Label.store_id
        ).where(Label.id.in_(by_id))
    ).all()
    now = utcnow()
    rows, label_updates = [], []
    for label_id, seq, queued_hash, station_id, store_id in labels:
        image = by_id[label_id]
        if image.encoded.content_hash == queued_hash and not image.force:
            continue
        next_seq = seq + 1
        rows.append(
            {
                "store_id": store_id,
                "label_id": label_id,
                "base_station_id": station_id,
                "kind": CommandKind.IMAGE,
                "seq": next_seq,
                "priority": int(image.priority),
                "payload": image.encoded.compressed,
                "width": image.encoded.width,
                "height": image.encoded.height,
                "colour_mode": image.encoded.colour_mode,
                "crc32": image.encoded.crc32,
                "params": "{}",
                "content_hash": image.encoded.content_hash,
                "state": OutboxState.PENDING,
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
            OutboxMessage.kind == CommandKind.IMAGE,
            OutboxMessage.state.in_(UNDELIVERED),
        )
        .values(state=OutboxState.SUPERSEDED, done_at=now, reason="superseded by a newer image")
    )
    session.execute(insert(OutboxMessage), rows)
    session.connection().execute(
        Label.__table__.update()
        .where(Label.__table__.c.id == bindparam("b_id"))
        .values(
            seq=bindparam("b_seq"),
            content_hash=bindparam("b_hash"),
            state=LabelState.PENDING,
            updated_at=now,
        ),
        label_updates,
    )
    return len(rows)


def queue_command(
    session: Session,
    label_id: str,
    kind: CommandKind,
    params: Mapping[str, Any],
    priority: int = Priority.MANAGER,
) -> OutboxMessage:
    """Queue an LED flash, page switch, NFC URL or refresh with its arguments."""
    if kind == CommandKind.IMAGE:
        raise ValueError("images are queued with queue_images")
    label = session.get(Label, label_id)
    if label is None:
        raise LookupError(f"unknown label {label_id!r}")
    label.seq += 1
    message = OutboxMessage(
        store_id=label.store_id,
        label_id=label.id,
        base_station_id=label.base_station_id,
        kind=kind,
        seq=label.seq,
        priority=int(priority),
        payload=b"",
        params=json.dumps(dict(params), sort_keys=True),
    )
    session.add(label)
    session.add(message)
    session.flush()
    return message


def command_from_row(
    outbox_id: int,
    label_id: str,
    station_id: str,
    kind: str,
    seq: int,
    payload: bytes,
    width: int | None,
    height: int | None,
    colour_mode: str | None,
    crc32: int | None,
    params: str,
    content_hash: str | None,
) -> Command:
    """The driver's view of one outbox row; ValueError when the row cannot be sent."""
    command_kind = CommandKind(kind)
    image = None
    if command_kind == CommandKind.IMAGE:
        if width is None or height is None or colour_mode is None or crc32 is None:
            raise ValueError(f"outbox row {outbox_id} is an image without its dimensions")
        image = PackedImage(
            width=width,
            height=height,
            colour_mode=colour_mode,
            crc32=crc32,
            compressed=bytes(payload),
            content_hash=content_hash or "",
        )
    return Command(
        outbox_id=outbox_id,
        label_id=label_id,
        station_id=station_id,
        kind=command_kind,
        seq=seq,
        image=image,
        params=json.loads(params or "{}"),
    )


def retry_delay(attempts: int, base_s: float, max_s: float) -> float:
    """Exponential backoff: base, 2 x base, 4 x base, ... capped at max_s."""
    return min(max_s, base_s * 2 ** max(0, attempts - 1))
