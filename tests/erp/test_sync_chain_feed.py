"""One ERP feed for a chain, over real HTTP from the ERP emulator into a real SQLite file:
each store's worker asks for its own records (`store=`), passes over other stores'
records even when the feed ignores the parameter, and a store's own feed refuses a record
naming another store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.erp.feeds import feed_from_settings
from esl_controller.erp.sync import SyncOutcome, run_sync
from esl_controller.models import DeadLetter, Product, Promotion, Store, SyncRun
from esl_controller.sims.erp import ErpSimulator

TOKEN = "chain-token"
STORES = ("north", "south")
PRODUCTS = 30


@pytest.fixture
def chain_stores(engine) -> tuple[str, ...]:
    with session_scope(engine) as session:
        for store_id in STORES:
            session.add(Store(id=store_id, name=store_id.title(), currency="RON"))
    return STORES


@pytest.fixture
def chain_erp(chain_stores) -> Iterator[ErpSimulator]:
    with ErpSimulator(products=PRODUCTS, token=TOKEN, chain_stores=chain_stores) as sim:
        yield sim


def store_settings(settings: Settings, store_id: str, url: str, scope: str) -> Settings:
    return settings.with_overrides(
        store_id=store_id,
        erp_feed="json",
        erp_url=url,
        erp_token=TOKEN,
        erp_page_size=7,
        erp_feed_scope=scope,
    )


def sync(engine, settings: Settings, *, full: bool | None = None) -> SyncOutcome:
    outcome = run_sync(engine, feed_from_settings(settings), settings, full=full)
    assert outcome.status == "succeeded", outcome.error
    return outcome


def shelf(engine, store_id: str) -> dict[str, Product]:
    with Session(engine) as session:
        query = select(Product).where(Product.store_id == store_id)
        return {product.gtin: product for product in session.execute(query).scalars()}


def dead_letters(engine, run_id: int) -> list[DeadLetter]:
    with Session(engine) as session:
        query = select(DeadLetter).where(DeadLetter.run_id == run_id)
        return list(session.execute(query).scalars())


def test_each_store_asks_the_chain_feed_for_its_own_records(engine, settings, chain_erp):
    gtin = chain_erp.gtins()[0]
    chain_erp.set_price(gtin, "4.49", store="south")  # south sells it cheaper
    north = store_settings(settings, "north", chain_erp.url, "chain")
    south = store_settings(settings, "south", chain_erp.url, "chain")

    north_run, south_run = sync(engine, north), sync(engine, south)

    assert (north_run.rejected, north_run.other_stores) == (0, 0)
    assert (south_run.rejected, south_run.other_stores) == (0, 0)
    feed_requests = [r for r in chain_erp.requests if r.path in ("/products", "/promotions")]
    assert {r.query.get("store") for r in feed_requests} == {"north", "south"}
    assert len(shelf(engine, "north")) == len(shelf(engine, "south")) == PRODUCTS
    assert shelf(engine, "south")[gtin].price_minor == 449
    assert shelf(engine, "north")[gtin].price_minor != 449

    # Head office changes one price for the whole chain: every store's shelf follows.
    chain_erp.set_price(gtin, "3.99")
    north_again, south_again = sync(engine, north), sync(engine, south)
    assert (north_again.changed, south_again.changed) == (1, 1)
    assert shelf(engine, "north")[gtin].price_minor == shelf(engine, "south")[gtin].price_minor
    assert shelf(engine, "north")[gtin].price_minor == 399


def test_when_the_feed_ignores_store_the_worker_passes_over_other_stores(
    engine, settings, chain_erp
):
    chain_erp.ignore_store_filter()
    gtin = chain_erp.gtins()[0]
    chain_erp.set_price(gtin, "4.49", store="south")
    south_only = chain_erp.add_product("south")
    north = store_settings(settings, "north", chain_erp.url, "chain")

    outcome = sync(engine, north)

    products = shelf(engine, "north")
    assert len(products) == PRODUCTS
    assert south_only not in products
    assert products[gtin].price_minor != 449  # south's record of it was not applied
    south_promotions = len(chain_erp.promotion_ids(store="south"))
    assert outcome.other_stores == PRODUCTS + 1 + south_promotions
    assert outcome.rejected == 0
    assert dead_letters(engine, outcome.run_id) == []
    with Session(engine) as session:
        run = session.get(SyncRun, outcome.run_id)
        assert run.other_stores == outcome.other_stores
        assert run.fetched == run.changed + run.unchanged + run.rejected + run.other_stores


def test_other_stores_records_do_not_keep_a_product_listed_nor_delist_one(
    engine, settings, chain_erp
):
    chain_erp.ignore_store_filter()
    north = store_settings(settings, "north", chain_erp.url, "chain")
    sync(engine, north)
    gone_from_north, gone_from_south = chain_erp.gtins()[:2]
    chain_erp.delist([gone_from_north], store="north")  # south still lists it
    chain_erp.delist([gone_from_south], store="south")  # north still lists it

    outcome = sync(engine, north, full=True)

    products = shelf(engine, "north")
    assert outcome.delisted == 1
    assert products[gone_from_north].status == "delisted"
    assert products[gone_from_south].status == "active"


def test_a_chain_feed_without_this_stores_records_delists_nothing(engine, settings, chain_erp):
    """Only other stores' records: for this store the feed returned no products, and the
    delisting guard holds however many other records came."""
    north = store_settings(settings, "north", chain_erp.url, "chain")
    sync(engine, north)
    with ErpSimulator(products=PRODUCTS, token=TOKEN, chain_stores=("south",)) as south_only:
        south_only.ignore_store_filter()
        outcome = sync(
            engine, store_settings(settings, "north", south_only.url, "chain"), full=True
        )
    assert outcome.other_stores > PRODUCTS - 1
    assert outcome.delisted == 0
    assert "the feed returned no products" in (outcome.alert or "")
    assert all(p.status == "active" for p in shelf(engine, "north").values())


def test_a_chain_feed_record_naming_no_store_is_refused_as_ambiguous(engine, settings, chain_erp):
    nameless = chain_erp.add_product(None)
    outcome = sync(engine, store_settings(settings, "north", chain_erp.url, "chain"))
    (letter,) = dead_letters(engine, outcome.run_id)
    assert (letter.record_key, letter.field) == (nameless, "store")
    assert "names no store" in letter.reason
    assert outcome.rejected == 1
    assert nameless not in shelf(engine, "north")
    assert len(shelf(engine, "north")) == PRODUCTS


def test_a_stores_own_feed_refuses_a_record_naming_another_store_and_applies_the_rest(
    engine, settings, chain_stores
):
    with ErpSimulator(products=PRODUCTS, token=TOKEN, store_id="north") as erp:
        foreign = erp.add_product("south")
        own = erp.add_product("north")
        unnamed = erp.add_product(None)
        outcome = sync(engine, store_settings(settings, "north", erp.url, "store"))
        assert all("store" not in r.query for r in erp.requests)
    (letter,) = dead_letters(engine, outcome.run_id)
    assert (letter.record_key, letter.field) == (foreign, "store")
    assert "names store 'south'" in letter.reason
    assert (outcome.rejected, outcome.other_stores) == (1, 0)
    products = shelf(engine, "north")
    assert foreign not in products
    assert {own, unnamed} <= set(products)
    assert len(products) == PRODUCTS + 2
    assert shelf(engine, "south") == {}


def test_the_store_parameter_joins_the_feed_urls_own_parameters(engine, settings, chain_erp):
    north = store_settings(settings, "north", f"{chain_erp.url}/?tenant=7", "chain")
    sync(engine, north)
    (first, *_rest) = [r for r in chain_erp.requests if r.path == "/products"]
    assert (first.query["tenant"], first.query["store"]) == ("7", "north")


def test_a_chain_csv_file_gives_each_store_its_rows(engine, settings, chain_stores, tmp_path):
    prices = tmp_path / "prices.csv"
    prices.write_text(
        "store;gtin;name;price;currency\n"
        "north;5940000000011;Brânză telemea;12.99;RON\n"
        "south;5940000000011;Brânză telemea;11.49;RON\n"
        "south;5940000000028;Cola 0,5 l;5.99;RON\n"
        ";5940000000035;Cola 2 l;8.99;RON\n",
        encoding="utf-8",
    )
    csv_settings = settings.with_overrides(
        store_id="north", erp_feed="csv", erp_url=str(prices), erp_feed_scope="chain"
    )
    outcome = run_sync(engine, feed_from_settings(csv_settings), csv_settings)
    assert outcome.status == "succeeded", outcome.error
    assert {gtin: p.price_minor for gtin, p in shelf(engine, "north").items()} == {
        "5940000000011": 1299
    }
    assert (outcome.other_stores, outcome.rejected) == (2, 1)
    (letter,) = dead_letters(engine, outcome.run_id)
    assert (letter.record_key, letter.field) == ("5940000000035", "store")


def promotions_of(engine, store_id: str) -> dict[str, Promotion]:
    with Session(engine) as session:
        query = (
            select(Promotion)
            .join(Product, Product.id == Promotion.product_id)
            .where(Product.store_id == store_id)
        )
        return {promotion.external_id: promotion for promotion in session.execute(query).scalars()}


def test_head_offices_promotion_is_each_stores_own_and_ends_only_where_cancelled(
    engine, settings, chain_erp
):
    north = store_settings(settings, "north", chain_erp.url, "chain")
    south = store_settings(settings, "south", chain_erp.url, "chain")
    sync(engine, north)
    sync(engine, south)
    shared = chain_erp.promotion_ids(store="north")
    assert shared and shared == chain_erp.promotion_ids(store="south")
    assert set(promotions_of(engine, "north")) == set(promotions_of(engine, "south")) == set(shared)
    north_products = {p.id for p in shelf(engine, "north").values()}
    assert {p.product_id for p in promotions_of(engine, "north").values()} <= north_products

    withdrawn = shared[0]
    announced = promotions_of(engine, "north")[withdrawn].ends_at
    assert promotions_of(engine, "south")[withdrawn].ends_at == announced
    chain_erp.cancel_promotion(withdrawn, store="north")
    sync(engine, north)  # incremental: north's cancel ends north's promotion ...
    sync(engine, south, full=True)  # ... and south's full snapshot still lists its own
    assert promotions_of(engine, "north")[withdrawn].ends_at != announced
    assert promotions_of(engine, "south")[withdrawn].ends_at == announced
    assert len(promotions_of(engine, "south")) == len(shared)
