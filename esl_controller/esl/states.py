"""Delivery states of labels and outbox rows, and the one place their transitions are named.

StrEnum members compare equal to their strings, so rows written by older releases and raw
SQL in the hot paths read the same values.
"""

from __future__ import annotations

from enum import StrEnum


class LabelState(StrEnum):
    UNBOUND = "unbound"  # known to the store (reported by a station) but shows no product
    PENDING = "pending"  # its newest image is queued
    SENT = "sent"  # its newest image is on air
    ACKED = "acked"  # the station confirmed the newest image
    FAILED = "failed"  # the newest image gave up; `last_error` says why


class OutboxState(StrEnum):
    PENDING = "pending"  # waiting for its station (maybe until `next_attempt_at`)
    SENT = "sent"  # handed to the station's link, waiting for its confirmation
    ACKED = "acked"  # confirmed by the station
    FAILED = "failed"  # gave up after the last attempt; `reason` says why
    SUPERSEDED = "superseded"  # a newer image for the same label replaced it


UNDELIVERED = (OutboxState.PENDING, OutboxState.SENT)
# An ack may still book a row in these states: a late ack after a retry was queued, or
# after the row gave up, still proves the label shows the image.
ACKABLE = (OutboxState.SENT, OutboxState.PENDING, OutboxState.FAILED)
