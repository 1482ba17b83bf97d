"""Feed fixtures: settings pointing at a mocked ERP and a session whose retries do not sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import responses

from esl_controller.config import Settings
from esl_controller.erp.feeds.http import make_session

ERP_URL = "https://erp.example.test/api"
TOKEN = "secret-token"


@pytest.fixture
def erp_settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, erp_url=ERP_URL, erp_token=TOKEN, erp_page_size=2)


@pytest.fixture
def erp_session(erp_settings: Settings) -> requests.Session:
    return make_session(erp_settings, backoff_factor=0, backoff_jitter=0)


@pytest.fixture
def erp() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def odoo_version() -> int:
    """The Odoo the stand-in plays; a test module overrides it to check Odoo 18's units."""
    return 19


@pytest.fixture
def odoo_shop(odoo_version: int):
    """The Odoo stand-in on a free port, holding tests.support.odoo's shop."""
    from esl_controller.sims.odoo import OdooStandIn
    from tests.support.odoo import API_KEY, DATABASE, build_shop

    with OdooStandIn(api_key=API_KEY, database=DATABASE, version=odoo_version) as odoo:
        yield build_shop(odoo)


@pytest.fixture
def odoo_settings(tmp_path, odoo_shop) -> Settings:
    from tests.support.odoo import API_KEY, DATABASE

    return Settings(
        data_dir=tmp_path,
        erp_feed="odoo",
        erp_url=odoo_shop.odoo.url,
        erp_token=API_KEY,
        erp_database=DATABASE,
        erp_page_size=2,
        odoo_pricelist=odoo_shop.pricelist,
        odoo_company=odoo_shop.company,
        odoo_warehouse=odoo_shop.warehouse,
    )
