"""ERP feed clients: the generic JSON feed, a CSV price file and Odoo's JSON-2 API."""

from __future__ import annotations

import requests

from esl_controller.config import Settings
from esl_controller.erp.feed_scope import FeedScope, parse_feed_scope
from esl_controller.erp.feeds.base import STREAMS, Feed, FeedError, FeedPage
from esl_controller.erp.feeds.csv_feed import CsvFeed
from esl_controller.erp.feeds.http import make_session
from esl_controller.erp.feeds.json_feed import JsonFeed
from esl_controller.erp.feeds.odoo import OdooFeed, OdooScope
from esl_controller.erp.feeds.odoo.client import RETRY_STATUSES as ODOO_RETRY_STATUSES

FEED_KINDS = ("json", "csv", "odoo")

__all__ = ["FEED_KINDS", "STREAMS", "Feed", "FeedError", "FeedPage", "feed_from_settings"]


def feed_from_settings(settings: Settings, session: requests.Session | None = None) -> Feed:
    """The feed `ESL_ERP_FEED` names, reading `ESL_ERP_URL` with one shared session."""
    kind = settings.erp_feed.strip().lower()
    if kind not in FEED_KINDS:
        raise ValueError(
            f"ESL_ERP_FEED={settings.erp_feed!r} is not a feed; use one of {', '.join(FEED_KINDS)}"
        )
    if not settings.erp_url.strip():
        where = "a CSV file path or URL" if kind == "csv" else "the ERP's base URL"
        raise ValueError(f"ESL_ERP_URL is not set: set it to {where} for the {kind} feed")
    if session is None and kind == "odoo":
        # Odoo documents the scheme in lower case ("bearer <key>"), and a 500 from Odoo is an
        # exception that the same call raises again: only overload statuses are retried.
        session = make_session(settings, auth_scheme="bearer", retry_statuses=ODOO_RETRY_STATUSES)
    scope = parse_feed_scope(settings.erp_feed_scope)
    if scope is FeedScope.CHAIN and kind == "odoo":
        raise ValueError(
            "ESL_ERP_FEED_SCOPE=chain is for the json and csv feeds, whose records name their "
            "store; with Odoo each store reads its own warehouse (ESL_ODOO_WAREHOUSE or the "
            "store's odoo_warehouse)"
        )
    # A chain feed is asked for this store's records only; the sync checks each one anyway.
    store_filter = settings.store_id if scope is FeedScope.CHAIN else None
    session = session or make_session(settings)
    url = settings.erp_url.strip()
    if kind == "csv":
        return CsvFeed(
            url,
            session,
            settings.erp_page_size,
            encoding=settings.erp_csv_encoding,
            decimal=settings.erp_csv_decimal,
            store_filter=store_filter,
        )
    if kind == "odoo":
        odoo_scope = OdooScope(
            pricelist_id=settings.odoo_pricelist,
            company_id=settings.odoo_company,
            warehouse_id=settings.odoo_warehouse,
            location_id=settings.odoo_location,
            prices_include_tax=settings.odoo_prices_include_tax,
        )
        return OdooFeed(
            url, session, settings.erp_page_size, database=settings.erp_database, scope=odoo_scope
        )
    return JsonFeed(url, session, settings.erp_page_size, store_filter=store_filter)
