from __future__ import annotations

import pytest

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
