"""Whose record is it: the optional `store` field of a JSON or CSV feed record, judged against
the store whose worker reads the feed and the feed's scope (docs/erp.md, "One feed for a
chain").

- scope `store`: the feed is this store's alone. A record naming another store is refused
  (the feed is mixing stores up); one naming no store or this store is this store's.
- scope `chain`: head office's one feed for every store. A record naming another store is
  passed over and counted, never applied nor refused; one naming no store is refused,
  since it could be any store's.

Pure: a raw record and two names in, a verdict out.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from esl_controller.erp.records import RecordError, record_key
from esl_controller.topic_levels import MAX_ID_LENGTH as MAX_STORE_ID_LENGTH

STORE_FIELD = "store"


class FeedScope(StrEnum):
    STORE = "store"
    CHAIN = "chain"


FEED_SCOPES = tuple(scope.value for scope in FeedScope)


def parse_feed_scope(value: str, setting: str = "ESL_ERP_FEED_SCOPE") -> FeedScope:
    """The scope `value` names, or ValueError saying which ones there are."""
    try:
        return FeedScope(value.strip().lower())
    except ValueError:
        raise ValueError(
            f"{setting}={value!r} is not a feed scope; use store (the feed is this store's "
            "alone) or chain (one feed for every store, each record naming its store)"
        ) from None


class OtherStore:
    """A chain feed's record of another store: passed over, counted, never applied."""

    def __init__(self, store_id: str) -> None:
        self.store_id = store_id


def record_store(raw: Mapping[str, Any]) -> str | None:
    """The store a record names, or None when it names none (missing, null or blank, as a
    blank CSV cell is "not given"). An ERP's numeric store code counts as its digits."""
    value = raw.get(STORE_FIELD)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise RecordError(STORE_FIELD, f"must be a store id, got {type(value).__name__}")
    value = value.strip()
    if len(value) > MAX_STORE_ID_LENGTH:
        raise RecordError(
            STORE_FIELD,
            f"has {len(value)} characters; a store id has at most {MAX_STORE_ID_LENGTH}",
        )
    return value or None


def judge_store(
    raw: Mapping[str, Any], scope: FeedScope, store_id: str, key_field: str
) -> OtherStore | None:
    """None when the record is this store's to validate and apply; OtherStore when a chain
    feed's record belongs to another store; RecordError (field `store`, keyed by the
    record's `key_field`) when it is refused."""
    key = record_key(raw, key_field)
    try:
        return _judge(raw, scope, store_id)
    except RecordError as exc:
        raise RecordError(exc.field, exc.reason, key) from None


def _judge(raw: Mapping[str, Any], scope: FeedScope, store_id: str) -> OtherStore | None:
    named = record_store(raw)
    if scope is FeedScope.CHAIN:
        if named is None:
            raise RecordError(
                STORE_FIELD,
                "names no store, and this is a chain feed (ESL_ERP_FEED_SCOPE=chain) for "
                f"every store; add the store column ({store_id!r} for this store)",
            )
        return None if named == store_id else OtherStore(named)
    if named is not None and named != store_id:
        raise RecordError(
            STORE_FIELD,
            f"names store {named!r}, but this is the feed of store {store_id!r} alone; "
            "nothing of it was applied (a feed for every store needs the store's "
            "erp_feed_scope set to chain)",
        )
    return None
