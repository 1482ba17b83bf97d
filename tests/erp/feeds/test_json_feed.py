from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import responses
from responses import matchers

from esl_controller.erp.feeds.base import FeedError
from esl_controller.erp.feeds.json_feed import JsonFeed

from .conftest import ERP_URL, TOKEN

PRODUCTS = f"{ERP_URL}/products"


def item(n: int) -> dict:
    return {"gtin": f"g{n}", "name": f"Product {n}", "price": "1.00", "currency": "RON"}


def add_pages(erp: responses.RequestsMock, count: int, per_page: int = 2) -> None:
    """`count` pages chained by cursors c1..c{count-1}, each with `per_page` items."""
    for page in range(count):
        params = {"page_size": str(per_page)}
        if page:
            params["cursor"] = f"c{page}"
        items = [item(page * per_page + i) for i in range(per_page)]
        next_cursor = f"c{page + 1}" if page < count - 1 else None
        body = {"items": items, "next_cursor": next_cursor, "server_time": "2026-11-23T10:00:00Z"}
        erp.get(
            PRODUCTS,
            json=body,
            headers={"ETag": f'"etag-{page}"'},
            match=[matchers.query_param_matcher(params)],
        )


def test_pages_follow_cursors_across_seven_pages(erp, erp_session) -> None:
    add_pages(erp, 7)
    pages = list(JsonFeed(ERP_URL, erp_session, page_size=2).pages("products"))
    assert [page.cursor for page in pages] == [None, "c1", "c2", "c3", "c4", "c5", "c6"]
    assert [page.next_cursor for page in pages][-2:] == ["c6", None]
    gtins = [record["gtin"] for page in pages for record in page.records]
    assert gtins == [f"g{n}" for n in range(14)]
    assert pages[0].etag == '"etag-0"'
    assert pages[1].etag == '"etag-1"'  # every page's ETag, each validating only itself
    assert pages[0].server_time == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert erp.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert len(erp.calls) == 7


def test_resume_from_a_cursor_starts_at_that_page(erp, erp_session) -> None:
    add_pages(erp, 7)
    pages = list(JsonFeed(ERP_URL, erp_session, page_size=2).pages("products", cursor="c5"))
    assert [page.cursor for page in pages] == ["c5", "c6"]
    assert "cursor=c5" in erp.calls[0].request.url
    assert len(erp.calls) == 2


def test_modified_since_is_passed_for_incremental_syncs(erp, erp_session) -> None:
    erp.get(
        f"{ERP_URL}/promotions",
        json={"items": [], "next_cursor": None},
        match=[
            matchers.query_param_matcher(
                {"page_size": "2", "modified_since": "2026-11-23T08:00:00Z"}
            )
        ],
    )
    since = datetime(2026, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=2)))  # 08:00Z
    pages = list(JsonFeed(ERP_URL, erp_session, page_size=2).pages("promotions", since=since))
    assert len(pages) == 1
    assert pages[0].records == []
    assert pages[0].next_cursor is None


def test_a_304_for_the_etag_gives_a_not_modified_page(erp, erp_session) -> None:
    erp.get(PRODUCTS, status=304, match=[matchers.header_matcher({"If-None-Match": '"v7"'})])
    pages = list(JsonFeed(ERP_URL, erp_session, page_size=2).pages("products", etag='"v7"'))
    assert len(pages) == 1
    assert pages[0].not_modified
    assert pages[0].records == []
    assert pages[0].etag == '"v7"'


def test_if_none_match_is_sent_on_the_first_page_only(erp, erp_session) -> None:
    add_pages(erp, 2)
    list(JsonFeed(ERP_URL, erp_session, page_size=2).pages("products", etag='"old"'))
    assert erp.calls[0].request.headers["If-None-Match"] == '"old"'
    assert "If-None-Match" not in erp.calls[1].request.headers


def test_malformed_json_names_the_url_and_page(erp, erp_session) -> None:
    add_pages(erp, 1)
    erp.replace(responses.GET, PRODUCTS, body="{not json", status=200)
    with pytest.raises(FeedError, match=r"products page 1 at .*/products.*not valid JSON"):
        list(JsonFeed(ERP_URL, erp_session, page_size=2).pages("products"))


def test_a_body_without_items_is_refused(erp, erp_session) -> None:
    erp.get(PRODUCTS, json={"products": []})
    with pytest.raises(FeedError, match=r'products page 1 .*"items" list'):
        list(JsonFeed(ERP_URL, erp_session, page_size=2).pages("products"))


def test_an_item_that_is_not_an_object_is_refused(erp, erp_session) -> None:
    erp.get(PRODUCTS, json={"items": [item(1), "oops"], "next_cursor": None})
    with pytest.raises(FeedError, match=r"items\[1\] is not a JSON object"):
        list(JsonFeed(ERP_URL, erp_session, page_size=2).pages("products"))


def test_a_cursor_that_does_not_advance_is_refused(erp, erp_session) -> None:
    erp.get(PRODUCTS, json={"items": [item(1)], "next_cursor": "same"})
    with pytest.raises(FeedError, match="loop forever"):
        list(JsonFeed(ERP_URL, erp_session, page_size=2).pages("products", cursor="same"))


def test_401_fails_at_once_without_retrying(erp, erp_session) -> None:
    erp.get(PRODUCTS, status=401, json={"error": "bad token"})
    with pytest.raises(
        FeedError, match=r"ERP refused the credentials \(401\): check ESL_ERP_TOKEN"
    ):
        list(JsonFeed(ERP_URL, erp_session).pages("products"))
    assert len(erp.calls) == 1


def test_503_twice_then_200_succeeds(erp, erp_session) -> None:
    erp.get(PRODUCTS, status=503)
    erp.get(PRODUCTS, status=503)
    erp.get(PRODUCTS, json={"items": [item(1)], "next_cursor": None})
    pages = list(JsonFeed(ERP_URL, erp_session).pages("products"))
    assert [record["gtin"] for record in pages[0].records] == ["g1"]
    assert [call.response.status_code for call in erp.calls] == [503, 503, 200]


def test_429_with_retry_after_is_retried(erp, erp_session) -> None:
    erp.get(PRODUCTS, status=429, headers={"Retry-After": "1"})
    erp.get(PRODUCTS, json={"items": [item(1)], "next_cursor": None})
    pages = list(JsonFeed(ERP_URL, erp_session).pages("products"))
    assert len(pages[0].records) == 1
    assert [call.response.status_code for call in erp.calls] == [429, 200]


def test_a_server_that_keeps_failing_ends_in_a_feed_error(erp, erp_session) -> None:
    erp.get(PRODUCTS, status=502)
    with pytest.raises(FeedError, match="products page 1: the ERP answered 502"):
        list(JsonFeed(ERP_URL, erp_session).pages("products"))
    assert len(erp.calls) == 6  # the first try and 5 retries


def test_an_unknown_stream_is_refused(erp_session) -> None:
    with pytest.raises(ValueError, match="unknown stream 'prices'"):
        list(JsonFeed(ERP_URL, erp_session).pages("prices"))
