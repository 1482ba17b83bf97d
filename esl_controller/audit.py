"""The audit trail: every change a person makes (label links, manual prices, playlists,
campaigns, users) is recorded here in the same transaction as the change itself, so the
trail never claims a change that rolled back nor misses one that landed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session, col, select

from esl_controller.clock import utcnow
from esl_controller.models import AuditEntry

CLI_ACTOR = "cli"


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    detail: Mapping[str, object] | None = None,
    at: datetime | None = None,
    store_id: str | None = None,
) -> AuditEntry:
    """Add one entry to the session (the caller's commit makes it durable with the change).

    `detail` must hold only what the change itself wrote: never a password, a token or a
    value that was refused. `store_id` is the store the change was made in; None for a
    change to the whole chain."""
    entry = AuditEntry(
        store_id=store_id,
        at=at or utcnow(),
        actor=actor,
        action=action,
        target=target,
        detail=json.dumps(dict(detail or {}), sort_keys=True, default=str),
    )
    session.add(entry)
    return entry


def recent(
    session: Session,
    *,
    limit: int = 100,
    action_prefix: str | None = None,
    target: str | None = None,
    store_id: str | None = None,
) -> list[AuditEntry]:
    """The newest entries first, optionally only one family of actions or one target, or
    only one store's (`store_id`; None: every entry, as head office sees them)."""
    query = select(AuditEntry)
    if store_id is not None:
        query = query.where(AuditEntry.store_id == store_id)
    if action_prefix:
        query = query.where(col(AuditEntry.action).startswith(action_prefix))
    if target:
        query = query.where(AuditEntry.target == target)
    query = query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).limit(limit)
    return list(session.exec(query))


def detail_of(entry: AuditEntry) -> dict[str, object]:
    return json.loads(entry.detail)
