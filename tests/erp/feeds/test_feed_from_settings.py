from __future__ import annotations

import pytest

from esl_controller.config import Settings
from esl_controller.erp.feeds import feed_from_settings
from esl_controller.erp.feeds.csv_feed import CsvFeed
from esl_controller.erp.feeds.json_feed import JsonFeed
from esl_controller.erp.feeds.odoo import OdooFeed


@pytest.mark.parametrize(
    ("kind", "cls"), [("json", JsonFeed), ("csv", CsvFeed), ("odoo", OdooFeed)]
)
def test_the_feed_kind_picks_the_client(erp_settings, kind: str, cls: type) -> None:
    feed = feed_from_settings(erp_settings.with_overrides(erp_feed=kind))
    assert isinstance(feed, cls)
    assert feed.name == kind
    assert feed.page_size == erp_settings.erp_page_size


def test_a_missing_url_names_the_variable(erp_settings) -> None:
    with pytest.raises(ValueError, match="ESL_ERP_URL is not set"):
        feed_from_settings(erp_settings.with_overrides(erp_url=""))


def test_an_unknown_feed_names_the_variable(erp_settings) -> None:
    with pytest.raises(ValueError, match="ESL_ERP_FEED='sap' is not a feed"):
        feed_from_settings(erp_settings.with_overrides(erp_feed="sap"))


def test_a_given_session_is_used(erp_settings, erp_session) -> None:
    assert feed_from_settings(erp_settings, erp_session).session is erp_session


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_a_chain_scope_asks_the_feed_for_this_store_only(erp_settings, kind: str) -> None:
    chain = erp_settings.with_overrides(erp_feed=kind, erp_feed_scope="chain", store_id="north")
    assert feed_from_settings(chain).store_filter == "north"
    alone = erp_settings.with_overrides(erp_feed=kind, erp_feed_scope="store", store_id="north")
    assert feed_from_settings(alone).store_filter is None


def test_a_chain_scope_with_odoo_is_refused_saying_each_store_has_its_warehouse(
    erp_settings,
) -> None:
    with pytest.raises(ValueError, match="chain is for the json and csv feeds"):
        feed_from_settings(erp_settings.with_overrides(erp_feed="odoo", erp_feed_scope="chain"))


def test_an_unknown_scope_names_the_variable(erp_settings) -> None:
    with pytest.raises(ValueError, match="ESL_ERP_FEED_SCOPE='region' is not a feed scope"):
        feed_from_settings(erp_settings.with_overrides(erp_feed_scope="region"))


def test_a_chain_csv_over_http_asks_for_the_store_and_keeps_its_own_parameters(
    erp_settings, erp_session, erp
) -> None:
    import responses

    url = "https://erp.example.test/export/prices.csv?key=abc"
    asked_for = f"{url}&store=north"  # responses matches the whole query string
    erp.add(responses.GET, asked_for, body="gtin,name,price,currency,store\n", status=200)
    erp.add(responses.GET, "https://erp.example.test/export/promotions.csv", status=404)
    chain = erp_settings.with_overrides(
        erp_feed="csv", erp_url=url, erp_feed_scope="chain", store_id="north"
    )
    pages = list(feed_from_settings(chain, erp_session).pages("products"))
    assert pages[0].records == []
    asked = erp.calls[0].request.url
    assert "key=abc" in asked and "store=north" in asked


def test_an_unknown_scope_in_the_environment_stops_the_start(monkeypatch) -> None:
    monkeypatch.setenv("ESL_ERP_FEED_SCOPE", " Chain ")
    assert Settings.from_env().erp_feed_scope == "chain"
    monkeypatch.setenv("ESL_ERP_FEED_SCOPE", "region")
    with pytest.raises(ValueError, match=r"ESL_ERP_FEED_SCOPE must be store .* got 'region'"):
        Settings.from_env()
