"""The ERP simulator over real HTTP: paging, incremental reads, ETags, auth and each fault."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from esl_controller.catalogue.gtin import is_valid_gtin
from esl_controller.clock import utcnow
from esl_controller.demo_data import demo_catalogue
from esl_controller.sims.erp import ErpSimulator, run_erp_sim

TOKEN = "erp-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TIMEOUT_S = 10
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def erp() -> Iterator[ErpSimulator]:
    sim = ErpSimulator(products=120, seed=7, token=TOKEN, store_id="store-1", now=NOW).start()
    yield sim
    sim.stop()


def get(erp: ErpSimulator, path: str, headers: dict[str, str] | None = None, **params: Any):
    return requests.get(erp.url + path, params=params, headers=headers or AUTH, timeout=TIMEOUT_S)


def read_all(
    erp: ErpSimulator, stream: str, cursor: str | None = None, **params: Any
) -> tuple[list[dict], int]:
    """Every record of one read from `cursor` on, following cursors; and how many pages."""
    items: list[dict] = []
    pages = 0
    while True:
        response = get(erp, f"/{stream}", **params, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def test_paging_covers_every_product_exactly_once(erp: ErpSimulator):
    items, pages = read_all(erp, "products", page_size=25)
    gtins = [item["gtin"] for item in items]
    assert pages == 5  # 120 products in pages of 25
    assert len(gtins) == len(set(gtins)) == 120
    assert sorted(gtins) == sorted(erp.gtins())


def test_catalogue_matches_the_demo_store(erp: ErpSimulator):
    catalogue = demo_catalogue("store-1", n_products=120, seed=7, now=NOW)
    items, _ = read_all(erp, "products", page_size=500)
    by_gtin = {item["gtin"]: item for item in items}
    for product in catalogue.products:
        item = by_gtin[product.gtin]
        assert item["name"] == product.name
        assert item["price"] == f"{product.price_minor // 100}.{product.price_minor % 100:02d}"
        assert item["currency"] == "RON"
        assert item["status"] == "active"
        assert float(item["net_quantity"]) == product.net_quantity
    promotions, _ = read_all(erp, "promotions")
    assert len(promotions) == len(catalogue.promotions)
    assert all(promo["id"].startswith("PR-") for promo in promotions)
    assert {promo["gtin"] for promo in promotions} <= set(by_gtin)


def test_prices_are_two_decimal_strings_and_times_are_utc(erp: ErpSimulator):
    body = get(erp, "/products", page_size=10).json()
    for item in body["items"]:
        whole, fraction = item["price"].split(".")
        assert whole.isdigit() and len(fraction) == 2
        assert item["modified_at"].endswith("Z")
    assert datetime.fromisoformat(body["server_time"]) <= utcnow() + timedelta(seconds=1)


def test_modified_since_returns_only_changed_products(erp: ErpSimulator):
    since = utcnow().replace(microsecond=0)
    changed = erp.change_prices(4, random.Random(1))
    items, _ = read_all(erp, "products", modified_since=since.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert sorted(item["gtin"] for item in items) == sorted(changed)
    assert {item["price"] for item in items} == {erp.product(g)["price"] for g in changed}


def test_change_prices_really_changes_the_price(erp: ErpSimulator):
    before = {gtin: erp.product(gtin)["price"] for gtin in erp.gtins()}
    changed = erp.change_prices(3, random.Random(2))
    assert len(changed) == 3
    assert all(erp.product(gtin)["price"] != before[gtin] for gtin in changed)
    untouched = set(before) - set(changed)
    assert all(erp.product(gtin)["price"] == before[gtin] for gtin in untouched)


def test_every_page_has_its_own_etag_and_304(erp: ErpSimulator):
    first = get(erp, "/products", page_size=50)
    second = get(erp, "/products", cursor=first.json()["next_cursor"], page_size=50)
    etags = [first.headers["ETag"], second.headers["ETag"]]
    assert etags[0] != etags[1]
    for etag, cursor in zip(etags, [None, first.json()["next_cursor"]], strict=True):
        query = {"page_size": 50, **({"cursor": cursor} if cursor else {})}
        unchanged = get(erp, "/products", headers={**AUTH, "If-None-Match": etag}, **query)
        assert (unchanged.status_code, unchanged.content) == (304, b"")
    # a change on the second page changes that page's ETag only
    erp.change_prices(1, random.Random(3))
    after = [get(erp, "/products", page_size=50).headers["ETag"]]
    after.append(
        get(erp, "/products", cursor=first.json()["next_cursor"], page_size=50).headers["ETag"]
    )
    assert sum(a != b for a, b in zip(after, etags, strict=True)) >= 1


def test_a_cancelled_promotion_leaves_full_reads_and_is_cancelled_in_incremental(
    erp: ErpSimulator,
):
    promotion_id = erp.promotion_ids()[0]
    erp.cancel_promotion(promotion_id)
    full = [item["id"] for item in get(erp, "/promotions", page_size=500).json()["items"]]
    assert promotion_id not in full
    since = get(erp, "/promotions", page_size=500, modified_since="2000-01-01T00:00:00Z")
    (cancel,) = [item for item in since.json()["items"] if item["id"] == promotion_id]
    assert cancel["status"] == "cancelled" and set(cancel) == {"id", "status", "modified_at"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["missing", "wrong token", "not bearer"],
)
def test_requests_without_the_token_get_401(erp: ErpSimulator, headers: dict[str, str]):
    response = requests.get(erp.url + "/products", headers=headers, timeout=TIMEOUT_S)
    assert response.status_code == 401
    assert "bearer token" in response.json()["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page_size": "0"}, "page_size must be between"),
        ({"page_size": "many"}, "page_size must be a whole number"),
        ({"cursor": "not-a-cursor"}, "is not one this feed issued"),
        ({"modified_since": "yesterday"}, "modified_since must be ISO 8601"),
        ({"modified_since": "2026-11-23T10:00:00"}, "needs a time zone"),
    ],
)
def test_bad_query_parameters_get_a_clear_400(erp: ErpSimulator, params: dict, message: str):
    response = get(erp, "/products", **params)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_unknown_path_is_404(erp: ErpSimulator):
    assert get(erp, "/customers").status_code == 404


def test_fail_next_answers_the_status_then_recovers(erp: ErpSimulator):
    erp.fail_next(503, times=2)
    statuses = [get(erp, "/products", page_size=5).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert [served.status for served in erp.requests] == [503, 503, 200]


def test_fail_next_429_carries_retry_after(erp: ErpSimulator):
    erp.fail_next(429, retry_after=2)
    response = get(erp, "/promotions")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert get(erp, "/promotions").status_code == 200


def test_fail_next_refuses_a_non_error_status(erp: ErpSimulator):
    with pytest.raises(ValueError, match="HTTP error status"):
        erp.fail_next(200)


def test_malformed_next_sends_a_body_that_is_not_json(erp: ErpSimulator):
    erp.malformed_next()
    response = get(erp, "/products")
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()
    assert get(erp, "/products").json()["items"]


def test_bad_rows_arrive_once_next_to_every_valid_row(erp: ErpSimulator):
    erp.bad_rows(4)
    products, _ = read_all(erp, "products", page_size=40)
    promotions, _ = read_all(erp, "promotions")
    assert len(products) == 120 + 3
    bad = [item for item in products if item["gtin"] not in set(erp.gtins())]
    assert len(bad) == 3
    assert sum(not is_valid_gtin(item["gtin"]) for item in bad) == 1
    assert [item["price"] for item in bad if item["price"].endswith("999")] == ["12.999"]
    assert [item["currency"] for item in bad if item["currency"] != "RON"] == ["XYZ"]
    backwards = [promo for promo in promotions if promo["ends_at"] < promo["starts_at"]]
    assert [promo["id"] for promo in backwards] == ["PR-BAD-4"]
    # used up: the next full read is clean again
    assert len(read_all(erp, "products", page_size=40)[0]) == 120
    assert all(p["ends_at"] > p["starts_at"] for p in read_all(erp, "promotions")[0])


def test_duplicate_gtin_sends_two_records_for_one_product(erp: ErpSimulator):
    gtin = erp.duplicate_gtin()
    products, _ = read_all(erp, "products", page_size=7)
    twins = [item for item in products if item["gtin"] == gtin]
    assert len(twins) == 2
    assert twins[0]["price"] != twins[1]["price"]
    assert len(products) == 121


def test_empty_catalogue_returns_zero_products_until_reset(erp: ErpSimulator):
    erp.empty_catalogue()
    body = get(erp, "/products").json()
    assert body == {"items": [], "next_cursor": None, "server_time": body["server_time"]}
    assert get(erp, "/promotions").json()["items"] == []
    erp.empty_catalogue(False)
    assert len(read_all(erp, "products")[0]) == 120


def test_delisted_products_leave_full_reads_and_show_in_incremental_ones(erp: ErpSimulator):
    since = utcnow().replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    gone = erp.gtins()[:2]
    erp.delist(gone)
    full, _ = read_all(erp, "products")
    assert len(full) == 118
    assert not {item["gtin"] for item in full} & set(gone)
    incremental, _ = read_all(erp, "products", modified_since=since)
    assert sorted((i["gtin"], i["status"]) for i in incremental) == [(g, "delisted") for g in gone]


def test_delist_of_an_unknown_gtin_is_refused(erp: ErpSimulator):
    with pytest.raises(KeyError, match="no product with GTIN 0000000000000"):
        erp.delist(["0000000000000"])


def test_paging_skips_nothing_when_prices_change_between_pages(erp: ErpSimulator):
    first = get(erp, "/products", page_size=30).json()
    erp.change_prices(60, random.Random(4))
    rest, _ = read_all(erp, "products", page_size=30, cursor=first["next_cursor"])
    gtins = [item["gtin"] for item in first["items"] + rest]
    assert sorted(gtins) == sorted(erp.gtins())


def test_drift_changes_prices_on_its_own():
    with ErpSimulator(products=30, token=TOKEN, now=NOW) as sim:
        before = {gtin: sim.product(gtin)["price"] for gtin in sim.gtins()}
        sim.drift_every(0.05, count=3)
        deadline = utcnow() + timedelta(seconds=10)
        while utcnow() < deadline and all(
            sim.product(gtin)["price"] == price for gtin, price in before.items()
        ):
            time.sleep(0.02)
        assert any(sim.product(gtin)["price"] != price for gtin, price in before.items())


def test_cli_refuses_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_erp_sim(["--products", "lots"])
    assert exit_info.value.code == 2
    assert "--products" in capsys.readouterr().err


@pytest.fixture
def chain_erp() -> Iterator[ErpSimulator]:
    with ErpSimulator(
        products=20, seed=7, token=TOKEN, now=NOW, chain_stores=("north", "south")
    ) as sim:
        yield sim


def test_a_chain_feed_serves_the_store_it_is_asked_for(chain_erp: ErpSimulator) -> None:
    everything, _ = read_all(chain_erp, "products", page_size=7)
    assert {item["store"] for item in everything} == {"north", "south"}
    assert len(everything) == 40
    north, _ = read_all(chain_erp, "products", page_size=7, store="north")
    assert [item["gtin"] for item in north] == chain_erp.gtins(store="north")
    assert {item["store"] for item in north} == {"north"}
    promotions, _ = read_all(chain_erp, "promotions", store="south")
    assert [p["id"] for p in promotions] == chain_erp.promotion_ids(store="south")
    assert {p["store"] for p in promotions} == {"south"}
    # Head office's promotions: one id in every store.
    assert chain_erp.promotion_ids(store="north") == chain_erp.promotion_ids(store="south")


def test_a_chain_feed_ignoring_the_filter_serves_every_store(chain_erp: ErpSimulator) -> None:
    chain_erp.ignore_store_filter()
    served, _ = read_all(chain_erp, "products", store="north")
    assert {item["store"] for item in served} == {"north", "south"}
    chain_erp.ignore_store_filter(False)
    served, _ = read_all(chain_erp, "products", store="north")
    assert {item["store"] for item in served} == {"north"}


def test_a_chain_feeds_price_change_and_nameless_record(chain_erp: ErpSimulator) -> None:
    gtin = chain_erp.gtins()[0]
    chain_erp.set_price(gtin, "2.49", store="south")
    assert chain_erp.product(gtin, store="south")["price"] == "2.49"
    assert chain_erp.product(gtin, store="north")["price"] != "2.49"
    chain_erp.set_price(gtin, "1.99")  # head office: every store
    assert {chain_erp.product(gtin, store=s)["price"] for s in ("north", "south")} == {"1.99"}
    nameless = chain_erp.add_product(None)
    north, _ = read_all(chain_erp, "products", store="north")
    (served,) = [item for item in north if item["gtin"] == nameless]
    assert "store" not in served  # served to every store: only the controller can refuse it


def test_a_chain_feeds_cancel_names_its_store(chain_erp: ErpSimulator) -> None:
    promotion_id = chain_erp.promotion_ids(store="north")[0]
    chain_erp.cancel_promotion(promotion_id, store="north")
    assert promotion_id in chain_erp.promotion_ids(store="south")
    changes, _ = read_all(
        chain_erp, "promotions", store="north", modified_since="2000-01-01T00:00:00Z"
    )
    (cancel,) = [p for p in changes if p["id"] == promotion_id]
    assert cancel == {
        "id": promotion_id,
        "status": "cancelled",
        "modified_at": cancel["modified_at"],
        "store": "north",
    }
