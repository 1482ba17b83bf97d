"""Images queued for labels and the rows they become, for step-by-step dispatcher tests."""

from __future__ import annotations

from datetime import datetime

from PIL import Image
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.esl.outbox import Priority, QueuedImage, queue_images
from esl_controller.labels.planes import PackedImage, pack_image
from esl_controller.models import Label, OutboxMessage


def image(shade: int) -> PackedImage:
    """A distinct tiny image per `shade` (pixel count of black)."""
    img = Image.new("P", (16, 4), 0)
    for x in range(shade):
        img.putpixel((x % 16, x // 16), 1)
    return pack_image(img, "BWR")


def queue(
    engine: Engine, label_id: str, shade: int, priority: int = Priority.ROUTINE, force=False
) -> int:
    with Session(engine) as s:
        count = queue_images(s, [QueuedImage(label_id, image(shade), priority, force)])
        s.commit()
    return count


def queue_each(engine: Engine, label_ids: list[str]) -> None:
    """A distinct image for every label, in order."""
    for n, label_id in enumerate(label_ids):
        queue(engine, label_id, n + 1)


def label(engine: Engine, label_id: str) -> Label:
    with Session(engine) as s:
        return s.get(Label, label_id)


def outbox(engine: Engine, label_id: str) -> list[OutboxMessage]:
    with Session(engine) as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.label_id == label_id))
        return sorted(rows, key=lambda r: r.id)


def outbox_row(
    label_id: str,
    station_id: str,
    state: str,
    created_at: datetime,
    done_at: datetime | None = None,
    seq: int = 0,
) -> OutboxMessage:
    """A bare outbox row in `state` (a placeholder payload), for queue and progress counts."""
    return OutboxMessage(
        label_id=label_id,
        base_station_id=station_id,
        payload=b"x",
        seq=seq,
        state=state,
        created_at=created_at,
        done_at=done_at,
    )
