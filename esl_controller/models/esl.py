"""Base stations, labels, the outbox of label commands, and incidents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from esl_controller.clock import utcnow


class BaseStation(SQLModel, table=True):
    __tablename__ = "base_station"
    id: str = Field(primary_key=True)
    store_id: str = Field(foreign_key="store.id", index=True)
    name: str = ""
    online: bool = False
    last_seen: datetime | None = None
    firmware: str = ""
    queue_depth: int = 0
    # The driver that talks to it (an entry point name, see esl.registry) and that
    # driver's connection options as JSON. Never a secret: an option may name the
    # environment variable that holds one.
    driver: str = "mqtt"
    options: str = "{}"
    eta_s: float | None = None  # the station's own estimate for what it still holds


class Label(SQLModel, table=True):
    id: str = Field(primary_key=True)  # the tag's serial as printed on it
    store_id: str = Field(foreign_key="store.id", index=True)
    model: str  # hardware model id, see label_templates/hardware.yaml
    base_station_id: str = Field(foreign_key="base_station.id", index=True)
    product_id: int | None = Field(default=None, foreign_key="product.id", index=True)
    template: str = "price"
    state: str = Field(default="unbound", index=True)  # esl.states.LabelState
    content_hash: str | None = None  # newest image queued for the label
    shown_hash: str | None = None  # image the base station confirmed on the label
    render_fingerprint: str | None = None  # inputs of the last render; equal -> no re-render
    seq: int = 0  # last image sequence number issued
    shown_seq: int = 0
    battery: int | None = None  # percent
    battery_mv: int | None = None
    signal: int | None = None  # dBm
    lqi: int | None = None  # link quality, as the radio reports it
    temperature: float | None = None  # degrees C
    last_seen: datetime | None = None
    next_checkin: datetime | None = None  # when the tag next wakes (access-point radios)
    last_error: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class OutboxMessage(SQLModel, table=True):
    """One command for one label, persisted before it is published (the outbox pattern)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_label_seq", "label_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    label_id: str = Field(foreign_key="label.id")
    base_station_id: str = Field(foreign_key="base_station.id")
    kind: str = "image"  # esl.link.CommandKind
    seq: int = 0
    priority: int = 0  # higher goes first; see esl.outbox.Priority
    # What was rendered, not any driver's wire form: for an image the zlib-compressed
    # 1-bit planes (labels.planes), described by the four columns after it; empty for
    # the other kinds, whose arguments are `params` (JSON).
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    width: int | None = None
    height: int | None = None
    colour_mode: str | None = None
    # CRC32 is unsigned 32-bit: past 2**31 it needs a BIGINT on PostgreSQL.
    crc32: int | None = None
    params: str = "{}"
    content_hash: str | None = None
    state: str = "pending"  # esl.states.OutboxState
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    done_at: datetime | None = None
    reason: str | None = None


# The dispatcher asks "the next pending rows of this station, most urgent first, oldest first
# within a priority" after every ack; this index answers it with a range scan and no sort.


Index(
    "ix_outbox_dispatch",
    OutboxMessage.state,
    OutboxMessage.base_station_id,
    OutboxMessage.priority.desc(),
    OutboxMessage.id,
)


class Incident(SQLModel, table=True):
    """A problem worth a manager's eye: bad input, failed delivery. Counted by kind."""

    __table_args__ = (Index("ix_incident_kind_time", "kind", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    kind: str  # e.g. invalid_gtin, template_error, unknown_product, malformed_ack, unknown_label
    subject: str = ""  # what it is about: a GTIN, a label id, a topic
    message: str
    created_at: datetime = Field(default_factory=utcnow)
    count: int = 1  # more than 1 on the row that sums up a storm of one kind in a minute
