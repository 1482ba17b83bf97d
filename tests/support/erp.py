"""Builders for the ERP tests: raw records in the generic feed shape and an in-memory feed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from esl_controller.erp.feeds.base import FeedPage
from tests.support.gtins import make_gtin

SERVER_TIME = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def product_raw(n: int, **overrides: Any) -> dict[str, Any]:
    """A valid generic-feed product record; `overrides` replace or add fields."""
    record = {
        "gtin": make_gtin(n),
        "name": f"Brânză telemea {n}",
        "brand": "Hochland",
        "price": f"{12 + n % 50}.99",
        "currency": "RON",
        "net_quantity": "400",
        "unit": "g",
        "stock": 12,
        "restock_date": None,
        "status": "active",
        "modified_at": "2026-11-23T09:58:12Z",
    }
    record.update(overrides)
    return record


def promotion_raw(promo_id: str, n: int, **overrides: Any) -> dict[str, Any]:
    record = {
        "id": promo_id,
        "gtin": make_gtin(n),
        "price": "9.99",
        "currency": "RON",
        "starts_at": "2026-11-24T00:00:00Z",
        "ends_at": "2026-11-30T22:00:00Z",
        "modified_at": "2026-11-23T09:58:12Z",
    }
    record.update(overrides)
    return record


class FakeFeed:
    """Serves lists of raw records in pages; cursors are record offsets.

    `crash_after` pages (counted over the whole call sequence) it raises `crash`, the way a
    dying connection or a killed worker interrupts a run."""

    name = "fake"

    def __init__(
        self,
        products: list[dict[str, Any]],
        promotions: list[dict[str, Any]] | None = None,
        *,
        page_size: int = 3,
        supports_incremental: bool = True,
        crash_after: int | None = None,
        crash: BaseException | None = None,
    ) -> None:
        self.records = {"products": products, "promotions": promotions or []}
        self.page_size = page_size
        self.supports_incremental = supports_incremental
        self.crash_after = crash_after
        self.crash = crash
        self.server_time = SERVER_TIME
        # Like a real ERP: the ETag follows the content, so unchanged data answers 304.
        try:
            content = json.dumps(self.records, sort_keys=True)
        except ValueError:  # an integer too long for Python to print: still a fixed version
            content = repr(sorted(len(records) for records in self.records.values()))
        digest = hashlib.sha256(content.encode()).hexdigest()
        self.etag = f'"{digest[:16]}"'
        self.calls: list[dict[str, Any]] = []
        self.pages_served = 0

    def pages(
        self,
        stream: str,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        etag: str | None = None,
    ) -> Iterator[FeedPage]:
        self.calls.append({"stream": stream, "since": since, "cursor": cursor, "etag": etag})
        if cursor is None and etag is not None and etag == self.etag:
            yield FeedPage(stream, [], None, None, etag=etag, not_modified=True)
            return
        records = [r for r in self.records[stream] if _modified_since(r, since)]
        start = int(cursor or 0)
        while True:
            if self.crash_after is not None and self.pages_served >= self.crash_after:
                raise self.crash or RuntimeError("connection reset")
            end = start + self.page_size
            next_cursor = str(end) if end < len(records) else None
            first = start == 0
            yield FeedPage(
                stream,
                records[start:end],
                None if first else str(start),
                next_cursor,
                server_time=self.server_time,
                etag=self.etag if first else None,
            )
            self.pages_served += 1
            if next_cursor is None:
                return
            start = end


def _modified_since(record: dict[str, Any], since: datetime | None) -> bool:
    if since is None:
        return True
    modified = record.get("modified_at")
    return modified is None or datetime.fromisoformat(modified) >= since
