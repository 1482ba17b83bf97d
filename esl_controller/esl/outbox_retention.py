"""Old outbox rows are deleted: every price change adds one row per label, with its image.

A row that is done (acked, superseded or failed) only serves the label page's short history
once its label has a newer row; nothing else reads it. The sequence numbers live on the
label and the "send only what differs" check compares with the label's own hash, so
deleting history changes no delivery. Unpruned, a store of 10,000 labels with a daily price
run grows by 3.6 million rows a year, and a chain by that per store (docs/operations.md).

Kept whatever their age: each label's newest row (the label page shows what the label was
last sent), and every row still waiting or on air. Deletion runs in bounded chunks, each in
its own transaction, so the dispatcher never waits long behind it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session

from esl_controller import db
from esl_controller.esl.states import OutboxState
from esl_controller.models import Label, OutboxMessage

CHUNK = 5_000
# One run deletes at most this many chunks; a larger backlog (the first run after an
# upgrade) is worked off run by run.
MAX_CHUNKS_PER_RUN = 100
DONE = (OutboxState.ACKED, OutboxState.SUPERSEDED, OutboxState.FAILED)


def prunable_ids(session: Session, store_id: str, older_than: datetime, limit: int) -> list[int]:
    """Up to `limit` ids of the store's rows done before `older_than` that have a newer
    row for the same label. A row's store is its label's (older rows carry no store)."""
    newer = aliased(OutboxMessage)
    query = (
        select(OutboxMessage.id)
        .join(Label, Label.id == OutboxMessage.label_id)
        .where(
            Label.store_id == store_id,
            OutboxMessage.state.in_(DONE),
            OutboxMessage.done_at < older_than,
            exists().where(newer.label_id == OutboxMessage.label_id, newer.id > OutboxMessage.id),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def prune_outbox(
    engine: Engine,
    store_id: str,
    now: datetime,
    retention_days: int,
    *,
    chunk: int = CHUNK,
    max_chunks: int = MAX_CHUNKS_PER_RUN,
) -> int:
    """Delete the store's outbox rows past `retention_days`; returns how many went.
    `retention_days` 0 (or less) keeps every row."""
    if retention_days <= 0:
        return 0
    older_than = now - timedelta(days=retention_days)
    deleted = 0
    for _ in range(max_chunks):
        with db.session_scope(engine) as session:
            ids = prunable_ids(session, store_id, older_than, chunk)
            if ids:
                session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < chunk:
            break
    return deleted
