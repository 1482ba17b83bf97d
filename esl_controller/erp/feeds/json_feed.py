"""The generic JSON REST feed (docs/erp.md): cursor paging, `modified_since` for incremental
syncs, and ETag / If-None-Match per page: an unchanged page costs a 304, and a 304 for one
page says nothing about the pages after it, which are still asked for."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from esl_controller.erp.feeds.base import FeedError, FeedPage, PageValidator, check_stream
from esl_controller.erp.feeds.http import send
from esl_controller.erp.records import RecordError, format_utc, parse_utc_datetime


class JsonFeed:
    name = "json"
    supports_incremental = True
    etag_scope = "page"

    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        page_size: int = 500,
        *,
        store_filter: str | None = None,
    ) -> None:
        """`store_filter`: a chain feed is asked for this store's records only (`store=`);
        the sync still checks every record's store, whatever the feed sends."""
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.page_size = page_size
        self.store_filter = store_filter

    def pages(
        self,
        stream: str,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        etag: str | None = None,
        page_etags: Mapping[str, PageValidator] | None = None,
    ) -> Iterator[FeedPage]:
        """Pages from `cursor` on. `page_etags` (by cursor, "" for the first page) are sent
        as If-None-Match; `etag` alone is the first page's."""
        url = stream_url(self.base_url, check_stream(stream))
        validators = dict(page_etags or {})
        if etag and "" not in validators:
            validators[""] = PageValidator(etag, None)
        page_number = 1
        while True:
            validator = validators.get(cursor or "")
            page = self._fetch(stream, url, page_number, since, cursor, validator)
            yield page
            if page.next_cursor is None:
                return
            if page.next_cursor == cursor:
                raise FeedError(
                    f"{stream} page {page_number} at {url}: next_cursor {cursor!r} "
                    "repeats the cursor that fetched it; the feed would loop forever"
                )
            cursor = page.next_cursor
            page_number += 1

    def _fetch(
        self,
        stream: str,
        url: str,
        page_number: int,
        since: datetime | None,
        cursor: str | None,
        validator: PageValidator | None,
    ) -> FeedPage:
        params: dict[str, str | int] = {"page_size": self.page_size}
        if cursor is not None:
            params["cursor"] = cursor
        if since is not None:
            params["modified_since"] = format_utc(since)
        if self.store_filter is not None:
            params["store"] = self.store_filter
        headers = {"If-None-Match": validator.etag} if validator else {}
        what = f"{stream} page {page_number}"
        response = send(self.session, "GET", url, what=what, params=params, headers=headers)
        if response.status_code == 304:
            if validator is None:
                raise FeedError(f"{what} at {response.url}: 304 without an If-None-Match")
            return FeedPage(
                stream, [], cursor, validator.next_cursor, etag=validator.etag, not_modified=True
            )
        body = _json_body(response, f"{what} at {response.url}")
        return FeedPage(
            stream=stream,
            records=body["items"],
            cursor=cursor,
            next_cursor=body["next_cursor"],
            server_time=body["server_time"],
            etag=response.headers.get("ETag"),
        )


def stream_url(base_url: str, stream: str) -> str:
    """The stream's endpoint under `base_url`, keeping the base URL's own query parameters
    (`https://erp/feed?tenant=7` -> `https://erp/feed/products?tenant=7`); requests appends
    the feed's parameters to them."""
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/{stream}"))


def _json_body(response: requests.Response, where: str) -> dict[str, Any]:
    try:
        body = json.loads(response.content, parse_int=_bounded_int)
    except (ValueError, RecursionError) as exc:
        raise FeedError(f"{where}: the body is not valid JSON ({exc})") from None
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise FeedError(f'{where}: expected an object with an "items" list')
    bad = next((i for i, item in enumerate(body["items"]) if not isinstance(item, dict)), None)
    if bad is not None:
        raise FeedError(f"{where}: items[{bad}] is not a JSON object")
    next_cursor = body.get("next_cursor")
    if next_cursor is not None and not isinstance(next_cursor, str | int):
        raise FeedError(f"{where}: next_cursor must be a string or null, got {next_cursor!r}")
    return {
        "items": body["items"],
        "next_cursor": None if next_cursor in (None, "") else str(next_cursor),
        "server_time": _server_time(body.get("server_time"), where),
    }


def _bounded_int(digits: str) -> int | str:
    """JSON integers as ints, except absurdly long ones: Python refuses to convert more than
    4,300 digits and would fail the whole page; as text, the one record is refused instead."""
    return int(digits) if len(digits) <= 40 else digits


def _server_time(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_utc_datetime(value, "server_time")
    except RecordError as exc:
        raise FeedError(f"{where}: {exc}") from None
