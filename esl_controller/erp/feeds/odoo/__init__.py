"""Odoo (19+, JSON-2 API): the feed, and the pure rules it prices with (pricelist, units,
taxes)."""

from esl_controller.erp.feeds.odoo.client import OdooClient, OdooError
from esl_controller.erp.feeds.odoo.feed import OdooFeed, OdooScope, odoo_datetime, odoo_price

__all__ = ["OdooClient", "OdooError", "OdooFeed", "OdooScope", "odoo_datetime", "odoo_price"]
