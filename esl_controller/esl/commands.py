"""What a manager can ask of one label, from the dashboard or the API.

These run in the web process: they render in-process (one label is milliseconds) and
write outbox rows; the worker publishes them. They raise LookupError for an unknown
label and ValueError with a message meant for the manager when the label cannot be
rendered.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.esl.link import CommandKind
from esl_controller.esl.outbox import Priority, QueuedImage, queue_command, queue_images
from esl_controller.labels.catalogue_slice import CatalogueSlice
from esl_controller.labels.preview import preview_png
from esl_controller.labels.render_pool import shared_renderer
from esl_controller.models import Label, OutboxMessage


def _label(session: Session, label_id: str) -> Label:
    label = session.get(Label, label_id)
    if label is None:
        raise LookupError(f"unknown label {label_id!r}")
    return label


def repush_label(session: Session, label_id: str, settings: Settings) -> OutboxMessage | None:
    """Render the label now and queue it at manager priority, even if it looks the same."""
    label = _label(session, label_id)
    job = CatalogueSlice.load(
        session, [label], utcnow(), settings.delisted_template, settings.fake_discount
    ).job_for(label)
    outcome = shared_renderer(settings.templates_dir).encode(job)
    if outcome.encoded is None:
        raise ValueError(outcome.error or "the label could not be rendered")
    queue_images(session, [QueuedImage(label.id, outcome.encoded, Priority.MANAGER, force=True)])
    session.commit()
    return session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.label_id == label.id)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()


def flash_led(
    session: Session, label_id: str, colour: str, pattern: str, seconds: int
) -> OutboxMessage:
    """Queue an LED flash (find-my-label for a store assistant)."""
    _label(session, label_id)
    message = queue_command(
        session,
        label_id,
        CommandKind.LED,
        {"colour": colour, "pattern": pattern, "seconds": seconds},
    )
    session.commit()
    return message


def label_preview_png(session: Session, label_id: str, settings: Settings) -> bytes:
    """PNG of what the label shows once its newest image is delivered."""
    label = _label(session, label_id)
    job = CatalogueSlice.load(
        session, [label], utcnow(), settings.delisted_template, settings.fake_discount
    ).job_for(label)
    renderer = shared_renderer(settings.templates_dir)
    image, model = renderer.render(job)
    return preview_png(image, model)
