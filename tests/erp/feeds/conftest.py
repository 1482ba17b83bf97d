"""Feed fixtures: settings pointing at a mocked ERP and a session whose retries do not sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import responses

from esl_controller.config import Settings
from esl_controller.erp.http import make_session

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
