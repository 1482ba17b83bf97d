"""What every ERP feed client yields: pages of raw records in the generic shape (docs/erp.md).

Feeds only fetch and reshape; validation is `esl_controller.erp.records`, applying is the sync.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

STREAMS = ("products", "promotions")


@dataclass(frozen=True)
class FeedPage:
    stream: str  # "products" | "promotions"
    records: list[dict]  # raw records in the generic shape (not yet validated)
    cursor: str | None  # the cursor that fetched THIS page (None = first page)
    next_cursor: str | None  # None = last page
    server_time: datetime | None = None
    etag: str | None = None  # the page's ETag (first page only, unless etag_scope = "page")
    not_modified: bool = False  # a 304: no records, nothing changed


@dataclass(frozen=True)
class PageValidator:
    """What the last incremental read learnt of one page: its ETag, and the cursor it pointed
    to, which a 304 (no body) does not repeat."""

    etag: str
    next_cursor: str | None


class FeedError(RuntimeError):
    """The feed cannot be read in this run (bad credentials, malformed body, bad CSV header,
    server still failing after retries); the message says which and where."""


class Feed(Protocol):
    name: str  # "json" | "csv" | "odoo"
    supports_incremental: bool

    def pages(
        self,
        stream: str,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        etag: str | None = None,
    ) -> Iterator[FeedPage]: ...


def check_stream(stream: str) -> str:
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; expected one of {', '.join(STREAMS)}")
    return stream
